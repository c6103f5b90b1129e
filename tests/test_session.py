"""The player's Qt-free core: a session stepped from a checkpoint that the trainer wrote, its timeline
(bookmarks, room counts, seeks) and the feature projection, checked against numbers worked out by hand."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from snd_player.core.projection import FeatureProjector
from snd_player.core.session import Session, SessionError, StepRecord
from snd_player.core.timeline import EpisodeTimeline, HeatGrid, RoomStats, heat_grid_for, mr_room_cell

TINY_STEPS = 64


def train_tiny_checkpoint(base: Path) -> Path:
    """Two updates of 2 envs x 16 steps of SND-V on Montezuma, written by the trainer itself.

    Cached under ``base`` so that every test module of a pytest session shares one training run."""
    ckpt = base / "tiny-run" / "checkpoints" / f"{TINY_STEPS:012d}.safetensors"
    if ckpt.exists():
        return ckpt
    from trainer.config import TrainConfig
    from trainer.loop import train

    cfg = TrainConfig(
        env="ALE/MontezumaRevenge-v5", algo="snd-v", run_dir=base / "tiny-run", num_envs=2,
        total_steps=TINY_STEPS, device="cpu", seed=3, num_workers=0, obs_norm_init_steps=2,
        tensorboard=False, progress=False,
    )  # fmt: skip
    cfg = dataclasses.replace(
        cfg,
        ppo=dataclasses.replace(cfg.ppo, rollout_steps=16, minibatch_size=16, epochs=1),
        motivation=dataclasses.replace(cfg.motivation, minibatch_size=16, michalnand_epochs=1),
    )
    train(cfg)
    assert ckpt.exists(), f"trainer did not write {ckpt}"
    return ckpt


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return train_tiny_checkpoint(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def tiny_agent(tiny_checkpoint):
    """Loaded once: sessions built from it skip reading the 80 MB file again."""
    import torch

    from trainer.agent import load_agent

    torch.set_num_threads(1)
    return load_agent(tiny_checkpoint)


def make_session(agent, ckpt: Path, seed: int = 0, greedy: bool = False, keyframe_every: int = 32) -> Session:
    from trainer.envs import make_env

    env = make_env(agent.env_config, seed, render_rgb=True)
    return Session(agent, env, seed=seed, greedy=greedy, checkpoint=ckpt, keyframe_every=keyframe_every)


# -- a session from a trained checkpoint --------------------------------------------------------------------


def test_session_from_trained_checkpoint_fills_every_field(tiny_checkpoint):
    s = Session.from_checkpoint(tiny_checkpoint, seed=1)
    try:
        assert s.algo == "snd-v" and s.env_id == "ALE/MontezumaRevenge-v5" and s.has_motivation
        assert s.meta["global_step"] == TINY_STEPS
        recs = [s.step() for _ in range(12)]
    finally:
        s.close()
    a = len(s.action_meanings)
    for i, r in enumerate(recs):
        assert r.t == i and r.episode == 0
        assert r.frame.shape == (210, 160, 3) and r.frame.dtype == np.uint8 and r.frame.any()
        assert r.obs.shape == (4, 96, 96) and r.obs.dtype == np.uint8
        assert 0 <= r.action < a and r.action_name == s.action_meanings[r.action]
        assert r.probs.shape == (a,) and np.isclose(r.probs.sum(), 1.0, atol=1e-5)
        assert r.features.ndim == 1 and r.features.size > 0 and np.isfinite(r.features).all()
        for f in dataclasses.fields(StepRecord):
            v = getattr(r, f.name)
            if isinstance(v, float):
                assert np.isfinite(v), f.name
            elif isinstance(v, np.ndarray) and v.dtype.kind == "f":
                assert np.isfinite(v).all(), f.name
        assert 0.0 <= r.r_int <= 1.0 and r.int_error >= 0.0
        assert 0.0 <= r.entropy <= np.log(a) + 1e-5
        assert r.level == 0 and r.room == 1 and r.lives >= 0 and r.x >= 0 and r.y >= 0  # Montezuma's RAM
    assert recs[0].frame is not recs[1].frame and not np.shares_memory(recs[0].obs, recs[1].obs)


def test_same_seed_twice_gives_the_same_episode(tiny_agent, tiny_checkpoint):
    runs = []
    for _ in range(2):
        s = make_session(tiny_agent, tiny_checkpoint, seed=7)
        runs.append([s.step() for _ in range(20)])
        s.close()
    for a, b in zip(*runs):
        assert a.action == b.action and np.array_equal(a.frame, b.frame) and a.r_int == b.r_int


def test_seek_back_and_play_forward_reproduces_frames(tiny_agent, tiny_checkpoint):
    s = make_session(tiny_agent, tiny_checkpoint, seed=2, keyframe_every=8)
    first = [s.step() for _ in range(40)]
    for t in (0, 13, 16, 39, 5):  # on and between keyframes, the last step, then backwards again
        r = s.seek(t)
        assert r.t == t and np.array_equal(r.frame, first[t].frame) and r.action == first[t].action
        again = [s.step() for _ in range(min(8, 39 - t))]
        for a, b in zip(again, first[t + 1 :]):
            assert a.t == b.t and a.action == b.action
            assert np.array_equal(a.frame, b.frame) and np.array_equal(a.obs, b.obs)
    assert s.horizon == 40 and len(s.timeline) == 40  # the known future survives seeks
    s.seek(10)
    s.set_greedy(True)  # the agent will act differently: the future after step 10 is gone
    assert s.horizon == 11 and len(s.timeline) == 11
    with pytest.raises(SessionError):
        s.seek(30)
    s.close()


def test_episode_end_starts_a_new_episode_and_folds_rooms(tiny_agent, tiny_checkpoint):
    from trainer.envs import make_env

    env = make_env(dataclasses.replace(tiny_agent.env_config, max_episode_steps=10), 0, render_rgb=True)
    s = Session(tiny_agent, env, seed=0)
    recs = [s.step() for _ in range(13)]
    s.close()
    assert [r.t for r in recs] == list(range(10)) + [0, 1, 2]
    assert recs[9].done and not recs[8].done and recs[10].episode == 1
    assert s.rooms.episodes == 1 and s.rooms.steps[(0, 1)] == 10  # the finished episode, folded in
    assert s.rooms.visits(s.timeline)[(0, 1)] == 13


def test_bad_checkpoint_gives_one_line(tmp_path):
    from trainer.checkpoint import CheckpointError

    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError) as e:
        Session.from_checkpoint(bad)
    assert "\n" not in str(e.value) and str(bad) in str(e.value)


# -- timeline, by hand --------------------------------------------------------------------------------------


def rec(t: int, r_int: float = 0.1, room: int = 1, level: int = 0, x: int = 10, y: int = 140, episode=0):
    """A StepRecord with only what the timeline reads."""
    z = np.zeros(0, np.float32)
    img = np.zeros((1, 1, 3), np.uint8)
    return StepRecord(
        t=t, episode=episode, frame=img, obs=img, action=0,
        action_name="NOOP", probs=np.ones(1, np.float32), entropy=0.0, r_ext=0.0, raw_reward=0.0, r_int=r_int,
        int_error=2 * r_int, v_ext=0.0, v_int=0.0, features=z, level=level, room=room, x=x, y=y, lives=5,
        inventory=0, score=0.0, done=False,
    )  # fmt: skip


def test_peak_bookmark_at_a_lone_spike_only():
    # r_int 0.1 everywhere except 0.9 at t=30 and 0.3 at t=50; after 31 steps mean = (30*0.1+0.9)/31
    # = 0.1258 and std = 0.1437, so the threshold mean + 2.5 std = 0.485: 0.9 is a peak, 0.3 is not.
    tl = EpisodeTimeline(0, HeatGrid(0, 160, 128, 256, 4))
    r = np.full(60, 0.1)
    r[30], r[50] = 0.9, 0.3
    for t in range(60):
        tl.put(rec(t, float(r[t])))
    assert [(b.t, b.kind) for b in tl.sorted_bookmarks()] == [(30, "peak")]
    tl.truncate(31)  # step 31 decided the peak at 30; without it the peak is undecided
    assert tl.sorted_bookmarks() == []
    tl.put(rec(31, 0.1))
    assert [b.t for b in tl.sorted_bookmarks()] == [30]


def test_room_bookmarks_counts_and_heat_survive_overwrite_and_truncation():
    grid = HeatGrid(0, 160, 128, 256, 4)
    tl = EpisodeTimeline(0, grid)
    rooms = [1] * 5 + [0] * 3 + [1] * 2 + [4] * 2  # rooms 0 at t=5 and 4 at t=10 are new; back to 1 is not
    for t, room in enumerate(rooms):
        tl.put(rec(t, room=room, x=40 + t, y=200))
    assert [(b.t, b.kind) for b in tl.sorted_bookmarks()] == [(5, "room"), (10, "room")]
    assert dict(tl.room_steps) == {(0, 1): 7, (0, 0): 3, (0, 4): 2}
    assert list(tl.room_changes()) == [5, 8, 10]
    assert tl.heat[(0, 1)][grid.cell(40, 200)] == 4 and tl.heat[(0, 1)].sum() == 7  # x 40..43 share a bin
    tl.put(rec(6, room=0, x=46, y=200))  # a replay writes the same values: nothing changes
    assert dict(tl.room_steps) == {(0, 1): 7, (0, 0): 3, (0, 4): 2}
    tl.truncate(9)
    assert [(b.t, b.kind) for b in tl.sorted_bookmarks()] == [(5, "room")]
    assert dict(tl.room_steps) == {(0, 1): 6, (0, 0): 3} and tl.rooms == {(0, 1), (0, 0)}
    stats = RoomStats(grid)
    stats.fold(tl)
    assert stats.visits(None)[(0, 1)] == 6 and stats.heat_for((0, 0), None).sum() == 3


def test_room_geometry_by_hand():
    assert mr_room_cell(1) == (0, 4)  # the start room sits in the middle of the top row
    assert mr_room_cell(0) == (0, 3) and mr_room_cell(3) == (1, 2) and mr_room_cell(15) == (3, 0)
    assert mr_room_cell(23) == (3, 8) and mr_room_cell(24) is None
    grid = heat_grid_for("ALE/MontezumaRevenge-v5")
    assert grid.shape == (40, 32)
    assert grid.cell(77, 235) == (19, 26) and grid.cell(0, 0) == (0, 0) and grid.cell(500, 500) == (39, 31)


# -- projection ---------------------------------------------------------------------------------------------


def test_projection_finds_the_two_largest_directions():
    rng = np.random.default_rng(0)
    f = 16
    e1, e2 = np.eye(f)[3], np.eye(f)[7]
    # std 10 along e1, 3 along e2, 0.1 elsewhere: PC1 = +-e1 with ~92 % of the variance, PC2 = +-e2 ~8 %
    x = (
        rng.normal(size=(600, 1)) * 10 * e1
        + rng.normal(size=(600, 1)) * 3 * e2
        + rng.normal(size=(600, f)) * 0.1
    )
    proj = FeatureProjector(refit_every=64, reservoir=256, recent=32)
    bases = [b for v in x.astype(np.float32) if (b := proj.add(v)) is not None]
    assert [b.version for b in bases] == list(range(1, len(bases) + 1))
    last = bases[-1]
    assert abs(abs(last.components[0] @ e1) - 1) < 1e-3 and abs(abs(last.components[1] @ e2) - 1) < 1e-2
    assert last.explained[0] == pytest.approx(100 / 109, abs=0.03)
    assert last.explained[1] == pytest.approx(9 / 109, abs=0.03)
    # refits keep each axis pointing the same way, so the picture never mirrors
    for a, b in zip(bases[3:], bases[4:]):
        assert (a.components * b.components).sum(1).min() > 0.9
    assert last.project(x[:5].astype(np.float32)).shape == (5, 2)


def test_projection_ignores_empty_features():
    proj = FeatureProjector()
    assert all(proj.add(np.zeros(0, np.float32)) is None for _ in range(100)) and proj.basis is None


def test_session_with_a_plain_ppo_agent_has_no_motivation_panels_data():
    """Plain PPO: zero intrinsic reward and (0,) features, and the session says it has no motivation."""
    agent = SimpleNamespace(
        spec=SimpleNamespace(env_id="ALE/Pong-v5", is_procgen=False, action_meanings=("NOOP", "FIRE")),
        algo="ppo",
        motivation=None,
        meta={"algo": "ppo"},
        act=lambda obs, greedy=False, generator=None: SimpleNamespace(
            action=np.array([1]),
            probs=np.array([[0.25, 0.75]], np.float32),
            entropy=np.array([0.56], np.float32),
            v_ext=np.array([0.5], np.float32),
            v_int=np.array([0.0], np.float32),
        ),  # fmt: skip
        intrinsic=lambda obs: SimpleNamespace(
            reward=np.zeros(1, np.float32),
            error=np.zeros(1, np.float32),
            features=np.zeros((1, 0), np.float32),
        ),
    )
    s = Session(agent, FakeEnvForPPO(), seed=0)
    r = s.step()
    assert not s.has_motivation and r.features.shape == (0,) and r.r_int == 0.0 and r.action_name == "FIRE"
    assert r.room == -1 and s.room_source.startswith("Pong")
    assert s.timeline.features.shape == (1, 0)


class FakeEnvForPPO:
    """Two-frame game with no rooms, enough for a session to step (no emulator needed)."""

    def reset(self, seed=None):
        return np.zeros((4, 8, 8), np.uint8), self._info()

    def _info(self):
        return {"rgb": np.zeros((4, 4, 3), np.uint8), "room": -1, "level": -1, "x": -1, "y": -1, "lives": 3}

    def step(self, action):
        return (
            np.zeros((4, 8, 8), np.uint8),
            0.0,
            False,
            False,
            {**self._info(), "raw_reward": 0.0, "score": 0},
        )

    def snapshot(self):
        return None

    def restore(self, snap):
        pass
