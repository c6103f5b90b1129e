"""The Procgen core: ``ProcgenCore``, N games in one batched procgen env with the paper's preprocessing
(snd-spec §4.3), and its exact ``ProcgenSnapshot``. It runs on either back-end of
``trainer.envs.procgen_backends``.

The single env (``trainer.envs.wrappers``, N = 1) and ``ProcgenVecEnv`` (``trainer.envs.vector``) share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from trainer.envs.ids import PROCGEN_FRAME_SHAPE, EnvConfig, _procgen_game, validate_env_config
from trainer.envs.procgen_backends import _import_procgen
from trainer.envs.spec import _procgen_action_meanings


@dataclass(frozen=True)
class ProcgenSnapshot:
    """Everything that decides a Procgen batch's future given the same actions (``ProcgenCore.snapshot``)."""

    states: tuple[bytes, ...]
    """procgen's own per-env state (``get_state``): game, level and its RNG."""
    stack: np.ndarray  # (N, C, 64, 64) uint8
    steps: np.ndarray  # (N,) int64
    episode_score: np.ndarray  # (N,) float64
    rng_state: dict[str, Any]
    """The wrapper RNG (random actions)."""


class ProcgenCore:
    """N Procgen games in one batched ``ProcgenGym3Env`` with the paper's preprocessing (snd-spec §4.3).

    Channels-first RGB stacked newest first, the agent's action replaced by a uniformly random one with
    probability ``procgen_random_action_prob`` (seeded RNG), rewards unclipped. gym3 envs reset themselves:
    after the step that ends an episode, ``observe`` already shows the next episode's first frame.
    """

    def __init__(self, cfg: EnvConfig, num: int, seed: int, render_rgb: bool = False) -> None:
        validate_env_config(cfg)
        self.game = _procgen_game(cfg.env_id)
        self.cfg, self.num, self.render_rgb = cfg, num, render_rgb
        self.num_actions = len(_procgen_action_meanings())
        self._procgen = _import_procgen()
        h, w, c = PROCGEN_FRAME_SHAPE
        self.stack = np.zeros((num, c * cfg.procgen_frame_stack, h, w), np.uint8)  # (N, C, H, W)
        self.steps = np.zeros(num, np.int64)  # (N,) agent steps in the current episode
        self.episode_score = np.zeros(num, np.float64)  # (N,)
        self.executed = np.full(num, -1, np.int64)  # (N,) actions really played at the last step
        self.rng = np.random.default_rng(seed)
        self._open(seed)

    def _open(self, rand_seed: int) -> None:
        """Open procgen's batched env and start every stack from its first frame."""
        self.env = self._procgen.ProcgenGym3Env(
            num=self.num,
            env_name=self.game,
            distribution_mode=self.cfg.procgen_distribution_mode,
            rand_seed=rand_seed,
            render_mode="rgb_array" if self.render_rgb else None,
        )
        _, ob, _ = self.env.observe()
        self._new_episodes(np.ones(self.num, bool), ob["rgb"].transpose(0, 3, 1, 2))

    def seed(self, seed: int) -> None:
        """Rebuild every env from ``seed`` (procgen has no reset; a rebuild takes ~2 ms after the first)."""
        self.env.close()
        self.rng = np.random.default_rng(seed)
        self._open(seed)

    def restart(self) -> None:
        """New episodes in every env, seeded from the wrapper RNG so that a run stays reproducible."""
        self.env.close()
        self._open(int(self.rng.integers(2**31 - 1)))

    def _new_episodes(self, first: np.ndarray, frame: np.ndarray) -> None:
        # first: (N,) bool; frame: (N, 3, H, W). The new episode's stack is its first frame repeated: the same
        # deliberate deviation from the paper's wrapper as for Atari (see AtariCore.reset).
        self.stack[first] = np.tile(frame[first], (1, self.cfg.procgen_frame_stack, 1, 1))
        self.steps[first] = 0
        self.episode_score[first] = 0.0

    def act(self, actions: np.ndarray) -> None:
        """Start a step with the agent's actions (N,); procgen steps in its own threads until ``observe``."""
        replace = self.rng.random(self.num) < self.cfg.procgen_random_action_prob
        self.executed = np.where(replace, self.rng.integers(0, self.num_actions, self.num), actions)
        self.env.act(self.executed.astype(np.int32))

    def observe(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Finish the step: raw reward f32 (N,), done bool (N,), and for envs whose episode ended here its
        score f64 (N,) (nan elsewhere) and length i32 (N,) (0 elsewhere)."""
        rew, ob, first = self.env.observe()
        rew = rew.astype(np.float32)  # (N,)
        done = first.astype(bool)  # (N,) gym3's first = the previous step ended an episode
        self.steps += 1
        self.episode_score += rew
        ep_score = np.where(done, self.episode_score, np.nan)
        ep_len = np.where(done, self.steps, 0).astype(np.int32)
        frame = ob["rgb"].transpose(0, 3, 1, 2)  # (N, 3, H, W)
        self.stack[:, 3:] = self.stack[:, :-3]
        self.stack[:, :3] = frame
        if done.any():
            self._new_episodes(done, frame)
        return rew, done, ep_score, ep_len

    def snapshot(self) -> ProcgenSnapshot:
        return ProcgenSnapshot(
            states=tuple(self.env.get_state()),
            stack=self.stack.copy(),
            steps=self.steps.copy(),
            episode_score=self.episode_score.copy(),
            rng_state=self.rng.bit_generator.state,
        )

    def restore(self, snap: ProcgenSnapshot) -> None:
        self.env.set_state(list(snap.states))
        self.stack[:] = snap.stack
        self.steps[:] = snap.steps
        self.episode_score[:] = snap.episode_score
        self.rng.bit_generator.state = snap.rng_state
