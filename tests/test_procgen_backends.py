"""One Procgen for the rest of the code, whichever package provides it.

procgen-mirror (Python 3.11/3.12) and procgen-gym (3.13) run the same C++ games; ``trainer.envs`` adapts
procgen-gym to procgen's gym3 API. The reference trajectory in tests/data/procgen_reference.npz was recorded
with procgen-mirror (tests/data/make_procgen_reference.py): the installed backend must reproduce procgen's own
serialised game state at every step, the rewards, episode ends, level seeds and random actions, and the
frames (exactly with procgen-mirror; procgen-gym's build draws a few edge pixels differently, measured at
most 0.3 % of the pixels of 300 steps in each of the 8 exploration games, so up to 1 % may differ).
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tests.load_script import load_script
from trainer.envs import EnvConfig, EnvError, _import_procgen, env_spec, make_env

DATA = Path(__file__).with_name("data")


def _reference_module() -> ModuleType:
    return load_script(DATA / "make_procgen_reference.py")


REF = _reference_module()


def _assert_reproduces_reference(game: str, exact_frames: bool) -> None:
    ref = np.load(REF.OUT)
    got = REF.record(game)
    for name in ("state_sha1", "reward", "done", "level_seed", "executed_action"):
        expected = ref[f"{game}/{name}"]
        assert np.array_equal(got[name], expected), (
            f"{game} {name} differs from step {_first_diff(got[name], expected)}"
        )
    frames, expected = got["frames"], ref[f"{game}/frames"]
    assert frames.shape == expected.shape == (REF.STEPS // REF.FRAME_EVERY + 1, 3, 64, 64)
    if exact_frames:
        assert np.array_equal(frames, expected)
    else:
        assert (frames != expected).mean() <= 0.01


def _first_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.flatnonzero(a != b)[0]) if a.shape == b.shape else -1


@pytest.mark.parametrize("game", REF.GAMES)
def test_installed_backend_reproduces_the_reference(game: str) -> None:
    backend = _import_procgen()
    _assert_reproduces_reference(game, exact_frames=getattr(backend, "__name__", "") == "procgen")


# ---- the procgen-gym adapter, on any Python -------------------------------------------------------------


class _ProcgenVecEnvStandIn:
    """procgen-gym 0.1.1's ``ProcgenVecEnv`` API (reset reads the current buffers, step = act + observe,
    terminated = gym3's first, info as a dict of arrays) over procgen-mirror's env: the same C++ build, so
    the adapter must give exactly procgen-mirror's trajectory. procgen-gym itself needs Python 3.13."""

    def __init__(self, procgen: ModuleType, **kwargs: Any) -> None:
        self.num_envs = kwargs.pop("num_envs")
        self._env = procgen.ProcgenGym3Env(num=self.num_envs, **kwargs)

    def _read(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        rew, ob, first = self._env.observe()
        infos = self._env.get_info()
        return ob["rgb"], rew, first, {k: np.stack([i[k] for i in infos]) for k in infos[0]}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        ob, _, _, info = self._read()
        return ob, info

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        self._env.act(np.asarray(actions, np.int32))
        ob, rew, first, info = self._read()
        return ob, rew, first.astype(bool), np.zeros(self.num_envs, bool), info

    def get_state(self) -> list[bytes]:
        return self._env.get_state()

    def set_state(self, states: list[bytes]) -> None:
        self._env.set_state(states)

    def close(self) -> None:
        self._env.close()


@pytest.fixture
def procgen_gym_stand_in(monkeypatch: pytest.MonkeyPatch) -> bool:
    """Make ``trainer.envs`` find no procgen-mirror and a procgen-gym built on procgen-mirror's env; True
    when that stand-in is used, False when procgen-gym itself is installed (Python 3.13)."""
    procgen = _import_procgen()
    if getattr(procgen, "__name__", "") != "procgen":
        return False  # the adapter runs on the real procgen-gym
    fake = ModuleType("procgen_gym")
    fake.ProcgenVecEnv = lambda **kwargs: _ProcgenVecEnvStandIn(procgen, **kwargs)  # type: ignore[attr-defined]
    fake_env = ModuleType("procgen_gym.env")
    fake_env.KEY_COMBOS = procgen.ProcgenGym3Env.get_combos(None)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "procgen", None)  # None in sys.modules: `import procgen` fails
    monkeypatch.setitem(sys.modules, "procgen_gym", fake)
    monkeypatch.setitem(sys.modules, "procgen_gym.env", fake_env)
    return True


@pytest.mark.parametrize("game", REF.GAMES)
def test_procgen_gym_adapter_reproduces_the_reference(procgen_gym_stand_in: bool, game: str) -> None:
    backend = _import_procgen()
    assert isinstance(backend, SimpleNamespace), "the adapter is in use"
    _assert_reproduces_reference(game, exact_frames=procgen_gym_stand_in)


def test_procgen_gym_adapter_restores_snapshots_and_batches(procgen_gym_stand_in: bool) -> None:
    cfg = EnvConfig(env_id="procgen:jumper")
    assert env_spec(cfg).action_meanings[:2] == ("LEFT+DOWN", "LEFT")
    env = make_env(cfg, 0, render_rgb=True)
    obs, info = env.reset()
    assert info["level_seed"] == 1434825276 and info["rgb"].shape == (512, 512, 3)
    rng = np.random.default_rng(1)
    for a in rng.integers(15, size=25).tolist():
        env.step(a)
    snap = env.snapshot()
    actions = rng.integers(15, size=40).tolist()
    after = [env.step(a) for a in actions]
    env.restore(snap)
    for (obs, reward, done, _, info), a in zip(after, actions):
        obs2, reward2, done2, _, info2 = env.step(a)
        assert (obs2 == obs).all() and reward2 == reward and done2 == done
        assert (info2["rgb"] == info["rgb"]).all()
    env.close()
    from trainer.envs import make_vec_env

    with make_vec_env(cfg, 3, 0) as venv:
        first = venv.reset()
        assert first.shape == (3, 6, 64, 64) and (first[:, :3] == first[:, 3:]).all()
        for _ in range(4):
            obs, reward, done, step_info = venv.step(np.array([7, 8, 1]))
        assert reward.dtype == np.float32 and done.shape == (3,) and (step_info["room"] == -1).all()
        assert not (obs[:, :3] == first[:, :3]).all(), "the batch moved"


def test_without_any_procgen_package_procgen_ids_fail_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "procgen", None)
    monkeypatch.setitem(sys.modules, "procgen_gym", None)
    with pytest.raises(EnvError) as e:
        env_spec(EnvConfig(env_id="procgen:coinrun"))
    msg = str(e.value)
    assert "\n" not in msg and "procgen-mirror" in msg and "procgen-gym" in msg and "3.13" in msg
    assert env_spec(EnvConfig(env_id="ALE/Pong-v5")).num_actions == 6, "Atari does not need Procgen"
