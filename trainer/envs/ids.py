"""Env ids and options: ``EnvConfig``, ``EnvError``, the id rules of Atari and Procgen and their checks.

The bottom of ``trainer.envs``: it imports no other module of the package, nor procgen or gymnasium, so
checking a Procgen id never imports procgen (and the old gym with it); an Atari id reads ALE's ROM list once.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from typing import Any

from ale_py import roms


@dataclass(frozen=True)
class EnvConfig:
    """Environment and preprocessing settings. The paper's values are the defaults (snd-spec §4.2, §4.3)."""

    env_id: str = "ALE/MontezumaRevenge-v5"
    """Gymnasium ALE id (``ALE/<Game>-v5``) or ``procgen:<game>``."""
    frame_size: int = 96
    """Atari: side of the square grayscale frame (paper 96; 84 for ``--encoder nature``)."""
    frame_stack: int = 4
    """Atari: frames stacked, newest first (paper 4)."""
    frame_skip: int = 4
    """Atari: emulator frames per agent step; the observation is the pixel max of the last two (paper 4)."""
    sticky_action_prob: float = 0.25
    """Atari: sticky actions, the probability that an emulator frame repeats the previously executed
    action instead of the agent's (paper 0.25)."""
    sticky_per_frame: bool = True
    """Atari: decide stickiness per emulator frame inside the frame skip, as ALE v5's
    repeat_action_probability and both authors' wrappers do (Iskandor utils/AtariWrapper.py, michalnand
    WrapperMontezuma.py: the sticky wrapper sits inside the 4-frame repeat; snd-spec §4.2). False = once per
    agent step for all its frames, snd's behaviour before issue 9, which checkpoints whose config lacks
    this field get, so that they replay as they were trained."""
    max_episode_steps: int = 4500
    """Atari: agent steps before truncation (paper 4500 = 18000 frames)."""
    noop_max: int | None = None
    """Atari: 1..noop_max random no-ops at reset; 0 turns them off. Each no-op is one emulator frame, as in
    OpenAI's NoopResetEnv under the frame skip. None = the source of the algo's paper number, filled in by
    the training config: 30 for SND-V on Montezuma's Revenge (michalnand RLAgents WrapperMontezuma.py,
    snd-spec §4.2), 0 otherwise (Iskandor WrapperHardAtari has none); an env built from a bare EnvConfig
    (tests, scripts) has none."""
    clip_reward: bool = True
    """Atari: learning reward max(0, sign(r)) in {0, 1}; the raw score stays in info (paper True)."""
    procgen_distribution_mode: str = "exploration"
    """Procgen: distribution mode, one of exploration, easy, hard (paper exploration)."""
    procgen_frame_stack: int = 2
    """Procgen: RGB frames stacked, newest first (paper 2, so 6 channels)."""
    procgen_random_action_prob: float = 0.01
    """Procgen: probability the agent's action is replaced by a random one (paper 0.01)."""


class EnvError(ValueError):
    """A bad env id or option. The message is one line: the bad value and what is valid."""


PROCGEN_PREFIX = "procgen:"
PROCGEN_GAMES = (
    "bigfish", "bossfight", "caveflyer", "chaser", "climber", "coinrun", "dodgeball", "fruitbot", "heist",
    "jumper", "leaper", "maze", "miner", "ninja", "plunder", "starpilot",
)  # fmt: skip
"""procgen's ENV_NAMES, copied so that validating an id does not import procgen (and the old gym with it)."""
PROCGEN_EXPLORATION_GAMES = ("caveflyer", "climber", "coinrun", "heist", "jumper", "leaper", "maze", "ninja")
"""Games with a fixed hard-exploration level: procgen's EXPLORATION_LEVEL_SEEDS (Cobbe et al. 2019, B.1)."""
PROCGEN_DISTRIBUTION_MODES = ("exploration", "easy", "hard")
PROCGEN_FRAME_SHAPE = (64, 64, 3)
PROCGEN_RENDER_SHAPE = (512, 512, 3)
"""procgen's ``render_mode='rgb_array'`` frame, reported as ``info['rgb']``."""
ATARI_SCREEN_SHAPE = (210, 160, 3)
# ALE ROMs that gymnasium registers no ALE/<Game>-v5 id for: they have no single-player mode.
_MULTIPLAYER_ROMS = frozenset({"combat", "joust", "maze_craze", "warlords"})
_ALE_ID = re.compile(r"ALE/(?P<name>[A-Za-z0-9]+)-v5")
_LEGACY_ATARI_ID = re.compile(r"(?:ALE/)?(?P<name>[A-Za-z0-9]+?)(?:NoFrameskip|Deterministic)?-v[0-4]")


def is_procgen(env_id: str) -> bool:
    """True for ``procgen:<game>`` ids (valid or not), False for everything else."""
    return env_id.startswith(PROCGEN_PREFIX)


@functools.cache
def _atari_roms() -> dict[str, str]:
    """Game name ('MontezumaRevenge') -> ALE ROM id ('montezuma_revenge'), as in gymnasium's ALE ids."""
    return {
        rom.title().replace("_", ""): rom
        for rom in sorted(roms.get_all_rom_ids())
        if rom not in _MULTIPLAYER_ROMS
    }


def _atari_rom(env_id: str) -> tuple[str, str]:
    """``ALE/<Game>-v5`` -> (game, rom id), or EnvError with a suggestion."""
    names = _atari_roms()
    m = _ALE_ID.fullmatch(env_id)
    if m is not None and m["name"] in names:
        return m["name"], names[m["name"]]
    legacy = _LEGACY_ATARI_ID.fullmatch(env_id)
    if legacy is not None and legacy["name"] in names:
        raise EnvError(
            f"unsupported env id {env_id!r}; use ALE/{legacy['name']}-v5 "
            "(frame skip, sticky actions and time limit come from EnvConfig)"
        )
    if m is None and not env_id.startswith("ALE/"):
        raise EnvError(
            f"unknown env id {env_id!r}; valid: ALE/<Game>-v5 (e.g. ALE/MontezumaRevenge-v5) "
            f"or procgen:<game> (e.g. procgen:coinrun)"
        )
    name = m["name"] if m is not None else env_id.removeprefix("ALE/")
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    close += [n for n in names if name.lower() in n.lower() and n not in close][: 3 - len(close)]
    if close:
        hint = "did you mean " + " or ".join(f"ALE/{n}-v5" for n in close) + "?"
    else:
        hint = "valid: " + ", ".join(f"ALE/{n}-v5" for n in names)
    raise EnvError(f"unknown Atari game {env_id!r}; {hint}")


def _procgen_game(env_id: str) -> str:
    game = env_id.removeprefix(PROCGEN_PREFIX)
    if game not in PROCGEN_GAMES:
        close = difflib.get_close_matches(game, PROCGEN_GAMES, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise EnvError(f"unknown Procgen game {game!r}{hint}; valid: {', '.join(PROCGEN_GAMES)}")
    return game


def validate_env_config(cfg: EnvConfig) -> None:
    """Raise EnvError (one line) for an unknown env id or an option out of range; return None when valid."""
    checks: list[tuple[str, Any, bool, str]] = [
        ("frame_size", cfg.frame_size, cfg.frame_size > 0, "an integer > 0"),
        ("frame_stack", cfg.frame_stack, cfg.frame_stack > 0, "an integer > 0"),
        ("frame_skip", cfg.frame_skip, cfg.frame_skip > 0, "an integer > 0"),
        ("sticky_action_prob", cfg.sticky_action_prob, 0.0 <= cfg.sticky_action_prob <= 1.0, "in [0, 1]"),
        ("max_episode_steps", cfg.max_episode_steps, cfg.max_episode_steps > 0, "an integer > 0"),
        ("noop_max", cfg.noop_max, cfg.noop_max is None or cfg.noop_max >= 0, "an integer >= 0 or None"),
        ("procgen_frame_stack", cfg.procgen_frame_stack, cfg.procgen_frame_stack > 0, "an integer > 0"),
        (
            "procgen_random_action_prob",
            cfg.procgen_random_action_prob,
            0.0 <= cfg.procgen_random_action_prob <= 1.0,
            "in [0, 1]",
        ),
        (
            "procgen_distribution_mode",
            cfg.procgen_distribution_mode,
            cfg.procgen_distribution_mode in PROCGEN_DISTRIBUTION_MODES,
            "one of " + ", ".join(PROCGEN_DISTRIBUTION_MODES),
        ),
    ]
    for name, value, ok, valid in checks:
        if not ok:
            raise EnvError(f"invalid {name} {value!r}; valid: {valid}")
    if not is_procgen(cfg.env_id):
        _atari_rom(cfg.env_id)
        return
    game = _procgen_game(cfg.env_id)
    if cfg.procgen_distribution_mode == "exploration" and game not in PROCGEN_EXPLORATION_GAMES:
        raise EnvError(
            f"Procgen game {game!r} has no exploration distribution mode; exploration supports only "
            f"{', '.join(PROCGEN_EXPLORATION_GAMES)} (use procgen_distribution_mode easy or hard for {game})"
        )
