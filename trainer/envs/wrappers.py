"""Single envs with the gymnasium API, for the player, evaluation and tests: ``AtariEnv`` and ``ProcgenEnv``
around the two cores, with exact ``snapshot`` / ``restore``, and ``make_env`` that picks one for an id.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from trainer.envs.atari_core import AtariCore, AtariSnapshot, GameInfo
from trainer.envs.ids import EnvConfig, EnvError, is_procgen, validate_env_config
from trainer.envs.procgen_core import ProcgenCore, ProcgenSnapshot
from trainer.envs.spec import clip_reward, env_spec


class AtariEnv(gymnasium.Env[np.ndarray, np.int64]):
    """One Atari game as a gymnasium env around ``AtariCore``; the trainer uses ``make_vec_env`` instead.

    ``np_random`` is the wrapper RNG (sticky actions, no-op starts). ``snapshot()`` / ``restore()`` save and
    restore the exact state, so restore + the same actions gives the same observations (player scrubbing).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}  # 60 Hz emulator / frame_skip 4

    def __init__(self, cfg: EnvConfig, seed: int, render_rgb: bool = False) -> None:
        self.core = AtariCore(cfg, seed)
        self.env_spec = env_spec(cfg)
        self.render_rgb = render_rgb
        self.render_mode = "rgb_array" if render_rgb else None
        self.observation_space = gymnasium.spaces.Box(0, 255, self.env_spec.obs_shape, np.uint8)
        self.action_space = gymnasium.spaces.Discrete(self.env_spec.num_actions, seed=seed)
        self._np_random = self.core.rng

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.core.seed(seed)
        self._np_random = self.core.rng
        self.core.reset()
        return self.core.stack.copy(), self._info(0.0, -1)

    def step(self, action: int | np.integer) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = int(action)
        if not 0 <= a < self.core.num_actions:
            raise EnvError(f"invalid action {a}; valid: 0..{self.core.num_actions - 1}")
        raw, terminated, truncated = self.core.step(a)
        reward = float(clip_reward(raw)) if self.core.cfg.clip_reward else raw
        return (
            self.core.stack.copy(),
            reward,
            terminated,
            truncated,
            self._info(raw, self.core.previous_action),
        )

    def _info(self, raw_reward: float, executed_action: int) -> dict[str, Any]:
        info: dict[str, Any] = {
            "raw_reward": raw_reward,
            "score": self.core.episode_score,
            **self.core.game_info()._asdict(),
            "executed_action": executed_action,
        }
        if self.render_rgb:
            info["rgb"] = self.core.rgb()
        return info

    def render(self) -> np.ndarray:
        return self.core.rgb()

    def snapshot(self) -> AtariSnapshot:
        return self.core.snapshot()

    def restore(self, snap: AtariSnapshot) -> None:
        self.core.restore(snap)


class ProcgenEnv(gymnasium.Env[np.ndarray, np.int64]):
    """One Procgen game as a gymnasium env around ``ProcgenCore`` (num=1).

    gym3 starts the next episode in the step that ends one, so the observation returned with
    ``terminated=True`` is already the next episode's first; ``reset()`` after it costs nothing. A ``reset()``
    in mid-episode rebuilds the env (procgen cannot reset). Procgen's own time limits end episodes as
    ``terminated`` (gym3 does not tell them apart), so ``truncated`` is always False.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, cfg: EnvConfig, seed: int, render_rgb: bool = False) -> None:
        self.core = ProcgenCore(cfg, 1, seed, render_rgb)
        self.env_spec = env_spec(cfg)
        self.render_rgb = render_rgb
        self.render_mode = "rgb_array" if render_rgb else None
        self.observation_space = gymnasium.spaces.Box(0, 255, self.env_spec.obs_shape, np.uint8)
        self.action_space = gymnasium.spaces.Discrete(self.env_spec.num_actions, seed=seed)
        self._np_random = self.core.rng
        self._at_episode_start = True

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.core.seed(seed)
        elif not self._at_episode_start:
            self.core.restart()
        self._np_random = self.core.rng
        self._at_episode_start = True
        return self.core.stack[0].copy(), self._info(0.0, 0.0, -1)

    def step(self, action: int | np.integer) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = int(action)
        if not 0 <= a < self.core.num_actions:
            raise EnvError(f"invalid action {a}; valid: 0..{self.core.num_actions - 1}")
        self.core.act(np.array([a]))
        rew, done, ep_score, _ = self.core.observe()
        self._at_episode_start = bool(done[0])
        score = float(ep_score[0]) if done[0] else float(self.core.episode_score[0])
        info = self._info(float(rew[0]), score, int(self.core.executed[0]))
        return self.core.stack[0].copy(), float(rew[0]), bool(done[0]), False, info

    def _info(self, raw_reward: float, score: float, executed_action: int) -> dict[str, Any]:
        pg = self.core.env.get_info()[0]
        info: dict[str, Any] = {
            "raw_reward": raw_reward,
            "score": score,
            **GameInfo(-1, -1, -1, -1, -1, -1)._asdict(),
            "executed_action": executed_action,
            "level_seed": int(pg["level_seed"]),
            "prev_level_complete": int(pg["prev_level_complete"]),
        }
        if self.render_rgb:
            info["rgb"] = pg["rgb"].copy()  # (512, 512, 3)
        return info

    def render(self) -> np.ndarray:
        if self.render_rgb:
            return self.core.env.get_info()[0]["rgb"].copy()
        return self.core.stack[0, :3].transpose(1, 2, 0).copy()  # (64, 64, 3) newest frame

    def snapshot(self) -> ProcgenSnapshot:
        return self.core.snapshot()

    def restore(self, snap: ProcgenSnapshot) -> None:
        self.core.restore(snap)
        self._at_episode_start = False

    def close(self) -> None:
        self.core.env.close()


def make_env(cfg: EnvConfig, seed: int, render_rgb: bool = False) -> AtariEnv | ProcgenEnv:
    """One env with the gymnasium API, ``cfg``'s preprocessing and ``info['rgb']`` when ``render_rgb``."""
    validate_env_config(cfg)
    if is_procgen(cfg.env_id):
        return ProcgenEnv(cfg, seed, render_rgb)
    return AtariEnv(cfg, seed, render_rgb)
