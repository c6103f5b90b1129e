"""Procgen's two back-ends behind one API: procgen-mirror's ``ProcgenGym3Env`` itself, or procgen-gym
through the adapter ``_ProcgenGymAsGym3``. ``_import_procgen`` picks whichever is installed, on first use.
"""

from __future__ import annotations

import contextlib
import io
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

from trainer.envs.ids import EnvError


def _import_procgen() -> ModuleType | SimpleNamespace:
    """The Procgen backend, imported on first use, as something with procgen's ``ProcgenGym3Env``.

    procgen-mirror (the original ``procgen`` module; CPython 3.11/3.12, Linux x86_64) is preferred; it
    imports the unmaintained gym package, which prints a notice to stderr (silenced here) and costs ~0.2 s
    that Atari runs and the pool workers never need to pay. Otherwise procgen-gym (CPython 3.13, Linux
    x86_64), the same C++ games behind a Gymnasium API, through ``_ProcgenGymAsGym3``. Neither: EnvError.
    """
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            import procgen
        return procgen
    except ImportError:
        pass
    try:
        import procgen_gym  # noqa: F401  (only checks that it is there; the adapter uses it)
    except ImportError:
        raise EnvError(
            "Procgen is not installed; it needs procgen-mirror (CPython 3.11/3.12) or procgen-gym (3.13) on "
            "Linux x86_64, which `pip install snd` brings there (Atari games work everywhere)"
        ) from None
    return SimpleNamespace(ProcgenGym3Env=_ProcgenGymAsGym3)


class _ProcgenGymAsGym3:
    """procgen-gym's ``ProcgenVecEnv`` behind the part of procgen's gym3 ``ProcgenGym3Env`` API that
    ``ProcgenCore`` uses (act, observe, get_info, get_state, set_state, close, get_combos).

    Same C++ games, same options (exploration = 'hard' with the one level seed), same default of 4 threads,
    so the same seed and actions give the same frames, rewards and level seeds (tests/test_procgen_backends.py
    checks this against a trajectory recorded with procgen-mirror). One difference: procgen-gym has no public
    split of a step into act and observe, so ``act`` steps the batch to the end and the env no longer steps
    in its threads while the network runs (``VecEnv.step_async`` overlaps nothing on this backend).
    """

    def __init__(
        self, num: int, env_name: str, distribution_mode: str, rand_seed: int, render_mode: str | None = None
    ) -> None:
        import procgen_gym

        self._env = procgen_gym.ProcgenVecEnv(
            num_envs=num,
            env_name=env_name,
            distribution_mode=distribution_mode,
            rand_seed=rand_seed,
            render_mode=render_mode,
        )
        self.num = num
        # gym3's observe() before any act: no reward, every env at the first step of an episode.
        self._rew = np.zeros(num, np.float32)
        self._first = np.ones(num, np.uint8)
        self._ob, self._info = self._env.reset()  # reset() only reads the current buffers: no side effect

    def get_combos(self) -> list[tuple[str, ...]]:
        from procgen_gym.env import KEY_COMBOS

        return list(KEY_COMBOS)

    def act(self, ac: np.ndarray) -> None:
        self._ob, self._rew, terminated, _, self._info = self._env.step(ac.astype(np.int32))
        self._first = terminated.astype(np.uint8)

    def observe(self) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        return self._rew, {"rgb": self._ob}, self._first

    def get_info(self) -> list[dict[str, Any]]:
        return [{k: v[i] for k, v in self._info.items()} for i in range(self.num)]

    def get_state(self) -> list[bytes]:
        return self._env.get_state()

    def set_state(self, states: list[bytes]) -> None:
        self._env.set_state(states)
        # gym3 reads observation and info from the env's buffers, so it shows what set_state left there.
        self._ob, self._info = self._env.reset()

    def close(self) -> None:
        self._env.close()
