"""Sticky actions per emulator frame (ALE v5, Iskandor's and michalnand's wrappers; snd-spec §4.2, issue 9).

Each of the 4 frames of an agent step repeats the previously executed action with p = 0.25, so frame i of a
step is stale (still runs the old action) with probability p^(i+1): on average (p + p^2 + p^3 + p^4) / 4 of
the frames, and a whole step loses the agent's action with probability p^4. The old per-step version lost
it with probability p, all 4 frames at once; it stays available for old checkpoints (sticky_per_frame=False).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from trainer.config import TrainConfig, from_dict, to_dict
from trainer.envs import AtariEnv, EnvConfig, make_env

P = 0.25
SKIP = 4
MR = EnvConfig(sticky_action_prob=P, noop_max=0, max_episode_steps=100_000)


class RecordingALE:
    """Delegates to a real ALEInterface and records the action of every emulator frame."""

    def __init__(self, ale: Any) -> None:
        self._ale = ale
        self.frames: list[Any] = []

    def act(self, action: Any) -> int:
        self.frames.append(action)
        return self._ale.act(action)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ale, name)


def _play(cfg: EnvConfig, steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per step, how many leading frames ran the previously executed action rather than the requested one
    (the request always differs from it, so a stale frame is visible), and how many frames ran (fewer than
    4 when the game ends). Returns two (steps,) int arrays."""
    env = make_env(cfg, seed)
    assert isinstance(env, AtariEnv)
    rec = RecordingALE(env.core.ale)
    env.core.ale = rec
    actions = env.core.action_set
    env.reset()
    rng = np.random.default_rng(1)
    previous = 0  # NOOP after a reset
    stale, played_frames = [], []
    for _ in range(steps):
        a = int(rng.integers(1, len(actions) - 1))
        a = a if a != previous else len(actions) - 1
        rec.frames.clear()
        _, _, terminated, truncated, info = env.step(a)
        played = [actions.index(f) for f in rec.frames]
        k = next((i for i, f in enumerate(played) if f != previous), len(played))
        # once the new action has run, every later frame runs it too (repeating it changes nothing)
        assert played == [previous] * k + [a] * (len(played) - k)
        assert info["executed_action"] == played[-1], "the action that sticky actions repeat next"
        stale.append(k)
        played_frames.append(len(played))
        previous = played[-1]
        if terminated or truncated:
            env.reset()
            previous = 0
    return np.array(stale), np.array(played_frames)


@pytest.fixture(scope="module")
def per_frame_run() -> tuple[np.ndarray, np.ndarray]:
    return _play(MR, 3000)


def test_stale_frame_fraction_matches_the_analytic_value(per_frame_run) -> None:
    stale, frames = per_frame_run
    expected = sum(P ** (i + 1) for i in range(SKIP)) / SKIP  # 0.0830
    assert abs(stale.sum() / frames.sum() - expected) < 0.015  # about 4 standard errors
    # the distribution of stale frames per step: P(k) = p^k (1 - p) for k < 4, p^4 for k = 4
    analytic = [P**k * (1 - P) for k in range(SKIP)] + [P**SKIP]
    measured = np.bincount(stale, minlength=SKIP + 1) / len(stale)
    np.testing.assert_allclose(measured, analytic, atol=0.03)


def test_steps_no_longer_hold_the_old_action_for_all_frames(per_frame_run) -> None:
    stale, frames = per_frame_run
    whole = np.mean(stale == frames)
    assert whole < 0.015, f"{whole:.3f} of steps lost the agent's action entirely; p^4 = {P**SKIP:.4f}"
    assert np.mean(stale > 0) > 0.2, "the first frame is still sticky with p = 0.25"


def test_legacy_per_step_mode_still_holds_whole_steps() -> None:
    """What checkpoints trained before the fix replay with: all frames or none, with p per step."""
    stale, frames = _play(dataclasses.replace(MR, sticky_per_frame=False), 2000)
    assert np.all((stale == 0) | (stale == frames))
    assert abs(np.mean(stale == frames) - P) < 0.04


def test_old_configs_replay_with_per_step_sticky_actions() -> None:
    new = TrainConfig().resolved()
    assert new.env_cfg.sticky_per_frame
    old = to_dict(new)
    del old["env_cfg"]["sticky_per_frame"]  # a config saved before the field existed
    assert from_dict(old).env_cfg.sticky_per_frame is False
    assert from_dict(to_dict(new)) == new


@pytest.mark.parametrize("per_frame", [True, False])
def test_snapshot_restore_is_exact_with_sticky_actions(per_frame: bool) -> None:
    env = make_env(dataclasses.replace(MR, sticky_per_frame=per_frame, max_episode_steps=40), 3)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(7):
        env.step(int(rng.integers(18)))
    snap = env.snapshot()
    actions = rng.integers(18, size=60).tolist()

    def play() -> list[tuple]:
        out = []
        for a in actions:
            obs, r, term, trunc, info = env.step(a)
            out.append((obs.tobytes(), r, term, trunc, info["executed_action"]))
            if term or trunc:
                out.append((env.reset()[0].tobytes(),))
        return out

    first = play()
    env.restore(snap)
    assert play() == first
