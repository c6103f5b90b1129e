"""What an env is without building it: ``EnvSpec`` / ``env_spec`` (observation shape, actions and their
names), the ALE and Procgen action tables they read, and the paper's learning reward ``clip_reward``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import ale_py
import numpy as np
from ale_py import roms

from trainer.envs.ids import (
    ATARI_SCREEN_SHAPE,
    PROCGEN_FRAME_SHAPE,
    PROCGEN_RENDER_SHAPE,
    EnvConfig,
    _atari_rom,
    _procgen_game,
    is_procgen,
    validate_env_config,
)
from trainer.envs.procgen_backends import _import_procgen


@dataclass(frozen=True)
class EnvSpec:
    """What the networks, checkpoints and the player need to know about an env."""

    env_id: str
    game: str
    """'MontezumaRevenge' for ALE/MontezumaRevenge-v5, 'coinrun' for procgen:coinrun."""
    obs_shape: tuple[int, int, int]
    """(C, H, W) of the uint8 observation: Atari (frame_stack, frame_size, frame_size), Procgen (3k, 64, 64)
    with k = procgen_frame_stack."""
    num_actions: int
    action_meanings: tuple[str, ...]
    is_procgen: bool
    frame_shape_rgb: tuple[int, int, int]
    """(H, W, 3) of ``info['rgb']`` with ``render_rgb``: Atari (210, 160, 3), Procgen (512, 512, 3)."""


@functools.cache
def _minimal_action_set(rom: str) -> tuple[ale_py.Action, ...]:
    """The game's minimal action set, which gym's v4/v5 ids and so the paper use (a ROM load, ~0.1 s)."""
    ale = _new_ale()
    ale.loadROM(roms.get_rom_path(rom))
    return tuple(ale.getMinimalActionSet())


def _new_ale() -> ale_py.ALEInterface:
    # The logger mode is global in ALE; set before the first interface, it also silences ALE's banner.
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    return ale_py.ALEInterface()


PROCGEN_BUTTON_NAMES = {"D": "FIRE", **{k: f"BUTTON_{k}" for k in "AWSQE"}}
"""Procgen's six action keys: D is the main one (it fires in the games that shoot, e.g. starpilot); the other
five are game-specific or unused, so they keep their key in the name."""


def procgen_action_name(combo: tuple[str, ...]) -> str:
    """A readable name for one of Procgen's button combos: ``("LEFT", "UP")`` -> ``LEFT+UP``, ``("D",)``
    -> ``FIRE``, ``()`` -> ``NOOP`` (the raw keys "d, a, w, s" read like typos in the policy panel)."""
    return "+".join(PROCGEN_BUTTON_NAMES.get(k.upper(), k.upper()) for k in combo) if combo else "NOOP"


def _procgen_action_meanings() -> tuple[str, ...]:
    # The same 15 button combos for every game; get_combos reads a static table and needs no env.
    combos = _import_procgen().ProcgenGym3Env.get_combos(None)
    return tuple(procgen_action_name(tuple(c)) for c in combos)


def env_spec(cfg: EnvConfig) -> EnvSpec:
    """The spec of ``cfg``'s env without building it (a ROM load on the first call per Atari game)."""
    validate_env_config(cfg)
    if is_procgen(cfg.env_id):
        meanings = _procgen_action_meanings()
        return EnvSpec(
            env_id=cfg.env_id,
            game=_procgen_game(cfg.env_id),
            obs_shape=(3 * cfg.procgen_frame_stack, PROCGEN_FRAME_SHAPE[0], PROCGEN_FRAME_SHAPE[1]),
            num_actions=len(meanings),
            action_meanings=meanings,
            is_procgen=True,
            frame_shape_rgb=PROCGEN_RENDER_SHAPE,
        )
    game, rom = _atari_rom(cfg.env_id)
    actions = _minimal_action_set(rom)
    return EnvSpec(
        env_id=cfg.env_id,
        game=game,
        obs_shape=(cfg.frame_stack, cfg.frame_size, cfg.frame_size),
        num_actions=len(actions),
        action_meanings=tuple(a.name for a in actions),
        is_procgen=False,
        frame_shape_rgb=ATARI_SCREEN_SHAPE,
    )


def clip_reward(raw: float | np.ndarray) -> Any:
    """The paper's learning reward max(0, sign(r)) in {0, 1} (snd-spec §4.2); works on scalars and arrays."""
    return np.maximum(np.sign(raw), 0)
