"""trainer.envs: the paper's preprocessing (snd-spec §4.2, §4.3), RAM decoding (§6), vectorisers, errors."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import warnings
from pathlib import Path
from typing import Any

import ale_py
import cv2
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from trainer.envs import (
    AtariEnv,
    AtariPoolVecEnv,
    EnvConfig,
    EnvError,
    clip_reward,
    env_spec,
    is_procgen,
    make_env,
    make_vec_env,
    validate_env_config,
)

MR = EnvConfig()
DETERMINISTIC = dataclasses.replace(MR, sticky_action_prob=0.0, noop_max=0)
COINRUN = EnvConfig(env_id="procgen:coinrun")


@pytest.fixture(scope="module")
def leave_room1() -> dict[str, Any]:
    """Actions that take Montezuma's Revenge out of room 1 (made by tests/data/make_mr_leave_room1.py)."""
    return json.loads((Path(__file__).parent / "data" / "mr_leave_room1.json").read_text())


def _atari(cfg: EnvConfig = DETERMINISTIC, seed: int = 0) -> AtariEnv:
    env = make_env(cfg, seed)
    assert isinstance(env, AtariEnv)
    return env


def _check_env_without_warnings(env: Any) -> None:
    """gymnasium's check_env, failing on its warnings too, except the one for envs not made by gym.make."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    assert [str(w.message) for w in caught if "not having a spec" not in str(w.message)] == []


def _info_fields(info: dict[str, Any]) -> tuple:
    return tuple(info[k] for k in ("level", "room", "x", "y", "lives"))


# ---- spec and errors ------------------------------------------------------------------------------------


def test_spec_uses_the_minimal_action_set() -> None:
    spec = env_spec(MR)
    assert spec.game == "MontezumaRevenge" and not spec.is_procgen
    assert spec.obs_shape == (4, 96, 96) and spec.frame_shape_rgb == (210, 160, 3)
    assert spec.num_actions == len(spec.action_meanings) == 18 and spec.action_meanings[:2] == (
        "NOOP",
        "FIRE",
    )
    pong = env_spec(dataclasses.replace(MR, env_id="ALE/Pong-v5", frame_size=84))
    assert pong.num_actions == 6 and pong.obs_shape == (4, 84, 84)


@pytest.mark.usefixtures("needs_procgen")
def test_procgen_spec() -> None:
    cr = env_spec(COINRUN)
    assert cr.is_procgen and cr.game == "coinrun" and cr.obs_shape == (6, 64, 64) and cr.num_actions == 15
    assert is_procgen("procgen:coinrun") and not is_procgen("ALE/Pong-v5")


@pytest.mark.parametrize(
    ("cfg", "words"),
    [
        (
            EnvConfig(env_id="ALE/Montezuma-v5"),
            ["'ALE/Montezuma-v5'", "did you mean ALE/MontezumaRevenge-v5?"],
        ),
        (EnvConfig(env_id="MontezumaRevengeNoFrameskip-v4"), ["use ALE/MontezumaRevenge-v5"]),
        (EnvConfig(env_id="CartPole-v1"), ["'CartPole-v1'", "ALE/<Game>-v5", "procgen:<game>"]),
        (EnvConfig(env_id="procgen:coinrunn"), ["'coinrunn'", "did you mean coinrun?", "bigfish, bossfight"]),
        (EnvConfig(env_id="procgen:bigfish"), ["'bigfish'", "exploration", "caveflyer, climber, coinrun"]),
        (
            dataclasses.replace(COINRUN, procgen_distribution_mode="medium"),
            ["'medium'", "exploration, easy, hard"],
        ),
        (EnvConfig(frame_size=0), ["frame_size 0", "> 0"]),
        (EnvConfig(sticky_action_prob=1.5), ["sticky_action_prob 1.5", "[0, 1]"]),
        (EnvConfig(noop_max=-1), ["noop_max -1"]),
        (dataclasses.replace(COINRUN, procgen_random_action_prob=-0.1), ["procgen_random_action_prob -0.1"]),
    ],
)
def test_bad_config_raises_one_line_env_error(cfg: EnvConfig, words: list[str]) -> None:
    with pytest.raises(EnvError) as exc:
        validate_env_config(cfg)
    msg = str(exc.value)
    assert "\n" not in msg and all(w in msg for w in words), msg
    with pytest.raises(EnvError):
        make_env(cfg, 0)


def test_valid_procgen_modes_pass() -> None:
    validate_env_config(
        dataclasses.replace(COINRUN, env_id="procgen:bigfish", procgen_distribution_mode="easy")
    )
    validate_env_config(dataclasses.replace(COINRUN, env_id="procgen:climber"))


# ---- Atari preprocessing --------------------------------------------------------------------------------


def test_observations_are_uint8_stacks_newest_first() -> None:
    env = _atari()
    obs, _ = env.reset()
    assert obs.shape == (4, 96, 96) and obs.dtype == np.uint8 and obs in env.observation_space
    assert all((obs[c] == obs[0]).all() for c in range(4)), "a new episode's stack is its first frame"
    rng = np.random.default_rng(0)
    for _ in range(12):
        new, *_ = env.step(int(rng.integers(18)))
        assert (new[1:] == obs[:-1]).all(), "channel c+1 is the previous step's channel c"
        obs = new
    assert len({obs[c].tobytes() for c in range(4)}) > 1, "the player moved, so the frames differ"


def test_observation_is_resized_max_of_the_last_two_frames(leave_room1: dict[str, Any]) -> None:
    env = _atari()
    env.reset()
    raw = ale_py.ALEInterface()
    raw.setFloat("repeat_action_probability", 0.0)
    raw.loadROM(ale_py.roms.get_rom_path("montezuma_revenge"))
    actions = env.core.action_set
    frames = [np.zeros((210, 160), np.uint8) for _ in range(4)]
    pooled_differs = 0
    for a in leave_room1["actions"][:80]:
        raw.restoreState(env.core.ale.cloneState(include_rng=True))  # same state, stepped by hand below
        obs, *_ = env.step(a)
        for f in frames:
            raw.act(actions[a])
            raw.getScreenGrayscale(f)
        expected = cv2.resize(np.maximum(frames[2], frames[3]), (96, 96), interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(obs[0], expected)
        last_only = cv2.resize(frames[3], (96, 96), interpolation=cv2.INTER_AREA)
        pooled_differs += int((last_only != expected).any())
    assert pooled_differs > 0, "some steps must have moving sprites, or this test checks nothing"


@pytest.mark.parametrize("prob", [0.0, 1.0])
def test_sticky_actions_extremes(prob: float) -> None:
    env = _atari(dataclasses.replace(MR, sticky_action_prob=prob), seed=3)
    env.reset()
    requested = np.random.default_rng(0).integers(1, 18, size=30)
    executed = [env.step(int(a))[4]["executed_action"] for a in requested]
    assert executed == ([0] * 30 if prob == 1.0 else requested.tolist()), "1.0 repeats the reset NOOP forever"


def test_reward_clipping_keeps_the_raw_score(leave_room1: dict[str, Any]) -> None:
    np.testing.assert_array_equal(clip_reward(np.array([-5.0, 0.0, 0.5, 100.0])), [0.0, 0.0, 1.0, 1.0])
    for clip in (True, False):
        env = _atari(dataclasses.replace(DETERMINISTIC, clip_reward=clip))
        env.reset()
        raw_sum, rewards = 0.0, []
        for a in leave_room1["actions"]:
            _, reward, _, _, info = env.step(a)
            raw_sum += info["raw_reward"]
            rewards.append(reward)
            assert reward == (float(info["raw_reward"] > 0) if clip else info["raw_reward"])
        assert raw_sum == info["score"] == leave_room1["score"] == 400.0  # key 100, door 300
        assert sum(rewards) == (2.0 if clip else 400.0)


def test_truncation_at_max_episode_steps() -> None:
    env = _atari(dataclasses.replace(MR, max_episode_steps=20))
    env.reset()
    for t in range(1, 21):
        _, _, terminated, truncated, _ = env.step(0)
        assert not terminated and truncated == (t == 20)
    env.reset()
    assert not env.step(0)[3], "reset restarts the step count"


def test_ram_decoding_follows_the_player_out_of_room_1(leave_room1: dict[str, Any]) -> None:
    cfg = EnvConfig(**leave_room1["env"])
    assert cfg.sticky_action_prob == 0.0 and cfg.noop_max == 0
    env = _atari(cfg, leave_room1["seed"])
    _, info = env.reset()
    assert _info_fields(info) == (0, 1, 77, 235, 5) and info["inventory"] == 0  # start of level 1
    rooms, positions, had_key = [info["room"]], set(), False
    for a in leave_room1["actions"]:
        _, _, terminated, truncated, info = env.step(a)
        assert not (terminated or truncated)
        assert info["level"] == 0 and info["lives"] == 5
        assert 0 <= info["x"] <= 160 and 130 <= info["y"] <= 255, (info["x"], info["y"])
        positions.add((info["x"], info["y"]))
        had_key |= info["inventory"] != 0
        if info["room"] != rooms[-1]:
            rooms.append(info["room"])
    assert rooms == leave_room1["rooms"] == [1, 2]
    assert len(positions) > 50 and had_key, "the key (an inventory bit) was taken to open the door"


def test_pitfall_room_and_lives_and_other_games_minus_one() -> None:
    _, info = make_env(dataclasses.replace(MR, env_id="ALE/Pitfall-v5"), 0).reset()
    assert info["room"] >= 0 and info["lives"] == 3 and info["x"] == info["level"] == -1
    _, info = make_env(dataclasses.replace(MR, env_id="ALE/Pong-v5"), 0).reset()
    assert (info["level"], info["room"], info["x"], info["y"], info["inventory"]) == (-1,) * 5


def test_render_rgb_reports_the_full_colour_frame() -> None:
    env = make_env(MR, 0, render_rgb=True)
    _, info = env.reset()
    assert info["rgb"].shape == (210, 160, 3) and info["rgb"].dtype == np.uint8
    assert env.step(0)[4]["rgb"].shape == (210, 160, 3) and env.render().shape == (210, 160, 3)


def test_check_env_passes_on_atari() -> None:
    _check_env_without_warnings(make_env(dataclasses.replace(MR, noop_max=5), 0, render_rgb=True))


def test_snapshot_restore_reproduces_the_future() -> None:
    env = _atari(dataclasses.replace(MR, max_episode_steps=30, noop_max=10), seed=5)  # sticky 0.25
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(10):
        env.step(int(rng.integers(18)))
    snap = env.snapshot()
    actions = rng.integers(18, size=40).tolist()

    def play() -> list[tuple]:
        out = []
        for a in actions:
            obs, reward, terminated, truncated, info = env.step(a)
            out.append((obs, reward, terminated, truncated, info["score"], info["executed_action"]))
            if terminated or truncated:
                out.append((env.reset()[0],))  # the RNG state is restored too: same no-op start
        return out

    first = play()
    env.restore(snap)
    second = play()
    assert len(first) == len(second) > 40
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:] == b[1:]


# ---- vectorised envs ------------------------------------------------------------------------------------


def _play_single_envs(cfg: EnvConfig, seed: int, actions: np.ndarray) -> tuple[np.ndarray, list[list[tuple]]]:
    """The vec env's contract played with N single envs: env i seeded seed + i, same-step auto-reset."""
    envs = [make_env(cfg, seed + i) for i in range(actions.shape[1])]
    first = np.stack([e.reset()[0] for e in envs])  # (N, C, H, W)
    steps = []
    for acts in actions:  # (N,)
        row = []
        for e, a in zip(envs, acts):
            obs, reward, terminated, truncated, info = e.step(int(a))
            if terminated or truncated:
                obs = e.reset()[0]
            row.append((obs, reward, terminated, truncated, info))
        steps.append(row)
    return first, steps


@pytest.mark.parametrize("num_workers", [0, 2])
def test_vec_env_matches_single_envs(num_workers: int) -> None:
    cfg = dataclasses.replace(MR, max_episode_steps=15, noop_max=3)  # sticky 0.25: every RNG in play
    n, seed = 3, 7
    actions = np.random.default_rng(0).integers(0, 18, size=(40, n))  # (T, N)
    first, expected = _play_single_envs(cfg, seed, actions)
    with make_vec_env(cfg, n, seed, num_workers=num_workers) as venv:
        assert venv.num_envs == n and venv.spec == env_spec(cfg)
        obs = venv.reset()
        assert obs.shape == (n, 4, 96, 96) and obs.dtype == np.uint8
        np.testing.assert_array_equal(obs, first)
        dones = 0
        for acts, row in zip(actions, expected):
            venv.step_async(acts)
            obs, reward, done, info = venv.step_wait()
            assert reward.dtype == np.float32 and done.dtype == bool and info["room"].dtype == np.int32
            assert info["episode_score"].dtype == np.float64 and info["episode_length"].dtype == np.int32
            for i, (o, r, terminated, truncated, single) in enumerate(row):
                np.testing.assert_array_equal(obs[i], o)
                assert (reward[i], info["raw_reward"][i]) == (r, single["raw_reward"])
                assert (info["terminated"][i], info["truncated"][i]) == (terminated, truncated)
                assert done[i] == (terminated or truncated)
                # the ended episode's last step, not the new episode's first
                assert tuple(info[k][i] for k in ("level", "room", "x", "y", "lives")) == _info_fields(single)
                if done[i]:
                    assert info["episode_length"][i] == 15 and info["episode_score"][i] == single["score"]
                    assert all((o[c] == o[0]).all() for c in range(4)), "auto-reset obs is a fresh stack"
                else:
                    assert info["episode_length"][i] == 0 and np.isnan(info["episode_score"][i])
            dones += int(done.sum())
        assert dones == 2 * n  # truncated at steps 15 and 30


def test_vec_env_same_seed_same_observations() -> None:
    cfg = dataclasses.replace(MR, noop_max=30)
    actions = np.random.default_rng(1).integers(0, 18, size=(20, 2))
    runs = []
    for _ in range(2):
        with make_vec_env(cfg, 2, 11, num_workers=0) as venv:
            runs.append([venv.reset()] + [venv.step(a)[0] for a in actions])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_vec_env_rejects_bad_actions_and_call_order() -> None:
    with make_vec_env(MR, 2, 0, num_workers=0) as venv:
        venv.reset()
        for bad in (np.zeros(3, np.int64), np.array([0, 18]), np.array([0.5, 1.0]), np.array([-1, 0])):
            with pytest.raises(EnvError):
                venv.step(bad)
        with pytest.raises(RuntimeError):
            venv.step_wait()
        venv.step_async(np.zeros(2, np.int64))
        with pytest.raises(RuntimeError):
            venv.step_async(np.zeros(2, np.int64))
    with pytest.raises(EnvError):
        make_vec_env(MR, 0, 0)


def test_pool_reports_a_dead_worker() -> None:
    with make_vec_env(MR, 2, 0, num_workers=2) as venv:
        assert isinstance(venv, AtariPoolVecEnv) and len(venv.worker_pids) == 2
        venv.reset()
        os.kill(venv.worker_pids[1], signal.SIGKILL)
        with pytest.raises(RuntimeError, match="env worker 1 exited"):
            for _ in range(3):  # the first step may still find the pipe open
                venv.step(np.zeros(2, np.int64))


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_pool_workers_step_like_the_in_process_vec_env(start_method: str) -> None:
    """Fresh worker processes find their target and config by module path (trainer.envs.vector, .ids) and,
    given the same seed and actions, write the same frames and infos as the envs stepped in this process."""
    cfg = dataclasses.replace(MR, frame_size=84, noop_max=30)
    actions = np.random.default_rng(2).integers(0, 18, size=(12, 3))
    runs = []
    for workers in (0, 2):
        with make_vec_env(cfg, 3, 5, workers, start_method) as venv:
            first = venv.reset()
            steps = [venv.step(a) for a in actions]
            runs.append(
                [first] + [x for obs, rew, done, info in steps for x in (obs, rew, done, *info.values())]
            )
    assert len(runs[0]) == len(runs[1]) == 1 + 12 * (3 + 11)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


# ---- Procgen --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("needs_procgen")
def test_procgen_exploration_env_steps_and_reports_frames() -> None:
    env = make_env(COINRUN, 0, render_rgb=True)
    obs, info = env.reset()
    assert obs.shape == (6, 64, 64) and obs.dtype == np.uint8 and (obs[:3] == obs[3:]).all()
    assert info["rgb"].shape == (512, 512, 3) and info["level_seed"] == 1949448038  # the exploration level
    assert (info["level"], info["room"], info["lives"]) == (-1, -1, -1)
    rng = np.random.default_rng(0)
    for _ in range(30):
        new, _, terminated, truncated, info = env.step(int(rng.integers(15)))
        assert not truncated and info["rgb"].shape == (512, 512, 3)
        if not terminated:
            assert (new[3:] == obs[:3]).all(), "newest RGB frame first"
        obs = new
    snap = env.snapshot()
    actions = rng.integers(15, size=20).tolist()
    after = [env.step(a)[0] for a in actions]
    env.restore(snap)
    assert all((o == env.step(a)[0]).all() for o, a in zip(after, actions)), "restore + same actions"


@pytest.mark.usefixtures("needs_procgen")
def test_procgen_check_env_and_vec_env() -> None:
    _check_env_without_warnings(make_env(COINRUN, 0, render_rgb=True))
    with make_vec_env(COINRUN, 2, 0) as venv:
        obs = venv.reset()
        assert obs.shape == (2, 6, 64, 64) and obs.dtype == np.uint8
        for _ in range(5):
            obs, reward, done, info = venv.step(np.array([7, 7]))
        assert reward.dtype == np.float32 and done.shape == (2,) and (info["room"] == -1).all()


# ---- the package ----------------------------------------------------------------------------------------


def test_every_name_imported_from_trainer_envs_is_there() -> None:
    """trainer.envs is a package of modules; every ``from trainer.envs import X`` in the project still finds X
    (the package re-exports them), so that moving code between its modules breaks no importer."""
    import ast

    import trainer.envs

    root = Path(__file__).resolve().parents[1]
    wanted: dict[str, str] = {}
    for folder in ("trainer", "snd_player", "models", "scripts", "tests"):
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ImportFrom) and node.module == "trainer.envs" and node.level == 0:
                    wanted.update({alias.name: str(path.relative_to(root)) for alias in node.names})
    assert {"EnvConfig", "make_vec_env", "procgen_action_name", "_import_procgen"} <= wanted.keys()
    missing = {name: where for name, where in wanted.items() if not hasattr(trainer.envs, name)}
    assert missing == {}
    assert set(trainer.envs.__all__) >= wanted.keys()
