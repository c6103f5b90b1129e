"""The one place observations are preprocessed, shared by the trainer and the player.

Atari follows the SND paper's `WrapperHardAtari` (snd-spec §4.2), Procgen its `ProcgenWrapper` (§4.3).

- ``AtariCore`` / ``ProcgenCore`` hold the preprocessing. Everything else wraps them:
  ``make_env`` (one gymnasium env, for the player and tests) and ``make_vec_env`` (a batch for training:
  a shared-memory pool of worker processes or an in-process loop for Atari, procgen's own batched env).
- Observations are uint8 (C, H, W) in 0..255, newest frame first. Networks divide by 255 themselves: uint8
  keeps rollout memory and host->device copies 4x smaller than the paper's float32 /255 frames.
- Every step reports ``raw_reward``, ``level``, ``room``, ``x``, ``y``, ``lives`` (-1 where a game has no such
  thing); Montezuma's Revenge decodes them from RAM (snd-spec §6).

The package, each module importing only those listed before it (an import-linter contract in pyproject.toml
keeps it so); import from ``trainer.envs``, which re-exports every name below:

- ``ids``: ``EnvConfig``, ``EnvError``, the id rules of Atari and Procgen, ``validate_env_config``.
- ``procgen_backends``: ``_import_procgen``, procgen-mirror or procgen-gym behind procgen's gym3 API.
- ``spec``: ``EnvSpec``, ``env_spec``, action names, ``clip_reward``.
- ``atari_core`` / ``procgen_core``: ``AtariCore`` / ``ProcgenCore`` and their snapshots.
- ``wrappers``: ``AtariEnv``, ``ProcgenEnv``, ``make_env``.
- ``vector``: ``VecEnv``, ``AtariSyncVecEnv``, ``AtariPoolVecEnv``, ``ProcgenVecEnv``, ``make_vec_env``.
"""

from trainer.envs.atari_core import AtariCore, AtariSnapshot, GameInfo
from trainer.envs.ids import (
    ATARI_SCREEN_SHAPE,
    PROCGEN_DISTRIBUTION_MODES,
    PROCGEN_EXPLORATION_GAMES,
    PROCGEN_FRAME_SHAPE,
    PROCGEN_GAMES,
    PROCGEN_PREFIX,
    PROCGEN_RENDER_SHAPE,
    EnvConfig,
    EnvError,
    is_procgen,
    validate_env_config,
)
from trainer.envs.procgen_backends import _import_procgen
from trainer.envs.procgen_core import ProcgenCore, ProcgenSnapshot
from trainer.envs.spec import PROCGEN_BUTTON_NAMES, EnvSpec, clip_reward, env_spec, procgen_action_name
from trainer.envs.vector import (
    AtariPoolVecEnv,
    AtariSyncVecEnv,
    ProcgenVecEnv,
    StepResult,
    VecEnv,
    make_vec_env,
)
from trainer.envs.wrappers import AtariEnv, ProcgenEnv, make_env

__all__ = [
    "ATARI_SCREEN_SHAPE",
    "PROCGEN_BUTTON_NAMES",
    "PROCGEN_DISTRIBUTION_MODES",
    "PROCGEN_EXPLORATION_GAMES",
    "PROCGEN_FRAME_SHAPE",
    "PROCGEN_GAMES",
    "PROCGEN_PREFIX",
    "PROCGEN_RENDER_SHAPE",
    "AtariCore",
    "AtariEnv",
    "AtariPoolVecEnv",
    "AtariSnapshot",
    "AtariSyncVecEnv",
    "EnvConfig",
    "EnvError",
    "EnvSpec",
    "GameInfo",
    "ProcgenCore",
    "ProcgenEnv",
    "ProcgenSnapshot",
    "ProcgenVecEnv",
    "StepResult",
    "VecEnv",
    "_import_procgen",
    "clip_reward",
    "env_spec",
    "is_procgen",
    "make_env",
    "make_vec_env",
    "procgen_action_name",
    "validate_env_config",
]
