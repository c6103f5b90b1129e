"""The one place observations are preprocessed, shared by the trainer and the player.

Atari follows the SND paper's `WrapperHardAtari` (snd-spec §4.2), Procgen its `ProcgenWrapper` (§4.3).

- ``AtariCore`` / ``ProcgenCore`` hold the preprocessing. Everything else wraps them:
  ``make_env`` (one gymnasium env, for the player and tests) and ``make_vec_env`` (a batch for training:
  a shared-memory pool of worker processes or an in-process loop for Atari, procgen's own batched env).
- Observations are uint8 (C, H, W) in 0..255, newest frame first. Networks divide by 255 themselves: uint8
  keeps rollout memory and host->device copies 4x smaller than the paper's float32 /255 frames.
- Every step reports ``raw_reward``, ``level``, ``room``, ``x``, ``y``, ``lives`` (-1 where a game has no such
  thing); Montezuma's Revenge decodes them from RAM (snd-spec §6).
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import io
import multiprocessing as mp
import os
import re
import signal
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import ModuleType, SimpleNamespace
from typing import Any, NamedTuple

import ale_py
import cv2
import gymnasium
import numpy as np
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


# ---- ids and validation ---------------------------------------------------------------------------------

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


# ---- spec -----------------------------------------------------------------------------------------------


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


# ---- Atari ----------------------------------------------------------------------------------------------


class GameInfo(NamedTuple):
    """Where the player is, decoded from RAM; -1 for what a game does not expose."""

    level: int
    room: int
    x: int
    y: int
    lives: int
    inventory: int


def _montezuma_info(ram: np.ndarray, ale_lives: int) -> GameInfo:
    # snd-spec §6 (AtariARI ram_annotations). Lives is RAM[58], the spare lives: ALE's lives() is one more.
    return GameInfo(int(ram[57]), int(ram[3]), int(ram[42]), int(ram[43]), int(ram[58]), int(ram[65]))


def _pitfall_info(ram: np.ndarray, ale_lives: int) -> GameInfo:
    return GameInfo(-1, int(ram[1]), -1, -1, ale_lives, -1)  # room = RAM[1] (OpenAI RND's make_atari)


def _lives_only_info(ram: np.ndarray, ale_lives: int) -> GameInfo:
    return GameInfo(-1, -1, -1, -1, ale_lives, -1)


_GAME_INFO: dict[str, Callable[[np.ndarray, int], GameInfo]] = {
    "montezuma_revenge": _montezuma_info,
    "pitfall": _pitfall_info,
}


@dataclass(frozen=True)
class AtariSnapshot:
    """Everything that decides an Atari env's future given the same actions (``AtariCore.snapshot``)."""

    ale_state: ale_py.ALEState
    """``cloneState(include_rng=True)``: emulator plus ALE's RNG."""
    stack: np.ndarray  # (C, H, W) uint8
    previous_action: int
    """The action sticky actions repeat."""
    steps: int
    episode_score: float
    rng_state: dict[str, Any]
    """The wrapper RNG (sticky actions, no-op starts)."""


class AtariCore:
    """One ALE game with the paper's preprocessing (snd-spec §4.2); the single env and the vec envs share it.

    ``step`` plays one agent step: sticky action, ``frame_skip`` emulator frames with rewards summed, stop on
    game over, pixel max of the last two frames, grayscale, resize, push onto the stack (newest at index 0).
    ``stack`` may be a view into a vec env's (shared) observation buffer: the core writes its frames there.
    """

    def __init__(self, cfg: EnvConfig, seed: int, stack: np.ndarray | None = None) -> None:
        validate_env_config(cfg)
        if is_procgen(cfg.env_id):
            raise EnvError(f"AtariCore got a Procgen id {cfg.env_id!r}; valid: ALE/<Game>-v5")
        _, self.rom = _atari_rom(cfg.env_id)
        self.cfg = cfg
        shape = (cfg.frame_stack, cfg.frame_size, cfg.frame_size)
        self.stack = np.zeros(shape, np.uint8) if stack is None else stack  # (C, H, W)
        if self.stack.shape != shape or self.stack.dtype != np.uint8 or not self.stack.flags.c_contiguous:
            raise ValueError(f"stack must be a C-contiguous uint8 array of shape {shape}")
        self.ale = _new_ale()
        # Sticky actions are ours, drawn from the wrapper RNG (so snapshots and the legacy per-step mode are
        # exact): ALE's own version is turned off.
        self.ale.setFloat("repeat_action_probability", 0.0)
        self.action_set = _minimal_action_set(self.rom)
        self._noop = self.action_set.index(ale_py.Action.NOOP)
        self._game_info = _GAME_INFO.get(self.rom, _lives_only_info)
        h, w = ATARI_SCREEN_SHAPE[:2]  # every ALE game; getScreenDims needs a loaded ROM
        self._frame_prev = np.zeros((h, w), np.uint8)  # second-to-last emulator frame of a step
        self._frame = np.zeros((h, w), np.uint8)  # last emulator frame of a step, then the pooled one
        self._ram = np.zeros(128, np.uint8)
        self.rng: np.random.Generator  # set by seed()
        self.previous_action = self._noop
        self.steps = 0
        self.episode_score = 0.0
        self.seed(seed)

    @property
    def num_actions(self) -> int:
        return len(self.action_set)

    def seed(self, seed: int) -> None:
        """Seed ALE and the wrapper RNG from one integer; reloads the ROM (~0.1 s), so call ``reset`` next."""
        ale_seq, rng_seq = np.random.SeedSequence(seed).spawn(2)
        self.ale.setInt("random_seed", int(ale_seq.generate_state(1)[0] >> 1))  # ALE takes an int32
        self.ale.loadROM(roms.get_rom_path(self.rom))  # ALE reads random_seed when it loads a ROM
        self.rng = np.random.default_rng(rng_seq)

    def reset(self) -> None:
        """Start an episode: optional random no-ops, then a stack filled with the first frame."""
        ale = self.ale
        ale.reset_game()
        if self.cfg.noop_max:
            for _ in range(int(self.rng.integers(1, self.cfg.noop_max + 1))):
                ale.act(self.action_set[self._noop])
                if ale.game_over(with_truncation=False):
                    ale.reset_game()
        ale.getScreenGrayscale(self._frame)
        self._push_frame()
        # Deliberate deviation: the paper's wrapper keeps the old episode's frames in the stack after a reset
        # (snd-spec §4.2); we fill it with the first frame so no observation mixes two episodes.
        self.stack[1:] = self.stack[0]
        self.previous_action = self._noop
        self.steps = 0
        self.episode_score = 0.0

    def step(self, action: int) -> tuple[float, bool, bool]:
        """One agent step with action index ``action``; returns (raw reward, terminated, truncated)."""
        ale, skip = self.ale, self.cfg.frame_skip
        stale = self._stale_frames(skip)
        reward = 0
        i = 0
        for i in range(skip):
            if i == stale:
                self.previous_action = action
            reward += ale.act(self.action_set[self.previous_action])
            if i == skip - 2:
                ale.getScreenGrayscale(self._frame_prev)
            if ale.game_over(with_truncation=False):
                break  # stop early on game over (paper)
        ale.getScreenGrayscale(self._frame)
        if i >= skip - 2 and skip > 1:
            # Pixel max of the last two frames removes the flicker of sprites drawn every other frame.
            np.maximum(self._frame, self._frame_prev, out=self._frame)
        self.stack[1:] = self.stack[:-1]
        self._push_frame()
        self.steps += 1
        self.episode_score += reward
        terminated = ale.game_over(with_truncation=False)
        truncated = not terminated and self.steps >= self.cfg.max_episode_steps
        return float(reward), terminated, truncated

    def _stale_frames(self, skip: int) -> int:
        """How many leading frames of this step execute ``previous_action`` instead of the agent's.

        Per frame (ALE v5): frame i repeats the previously executed action with probability p, and once the
        new action has run, repeating it changes nothing, so the stale frames are those before the first
        fresh draw: P(frame i stale) = p^(i+1). Per step (legacy): all frames or none, with probability p."""
        p = self.cfg.sticky_action_prob
        if p <= 0.0:
            return 0
        if not self.cfg.sticky_per_frame:
            return skip if self.rng.random() < p else 0
        sticky = self.rng.random(skip) < p  # (skip,)
        return skip if sticky.all() else int(np.argmin(sticky))

    def _push_frame(self) -> None:
        # INTER_AREA is cv2's closest match to the paper's PIL antialiased resize (snd-spec §4.2); it writes
        # straight into the stack, which may live in shared memory.
        s = self.cfg.frame_size
        cv2.resize(self._frame, (s, s), dst=self.stack[0], interpolation=cv2.INTER_AREA)

    def game_info(self) -> GameInfo:
        self.ale.getRAM(self._ram)
        return self._game_info(self._ram, self.ale.lives())

    def rgb(self) -> np.ndarray:
        """The current full-colour screen, (210, 160, 3) uint8, a new array."""
        return self.ale.getScreenRGB()

    def snapshot(self) -> AtariSnapshot:
        return AtariSnapshot(
            ale_state=self.ale.cloneState(include_rng=True),
            stack=self.stack.copy(),
            previous_action=self.previous_action,
            steps=self.steps,
            episode_score=self.episode_score,
            rng_state=self.rng.bit_generator.state,
        )

    def restore(self, snap: AtariSnapshot) -> None:
        self.ale.restoreState(snap.ale_state)
        self.stack[:] = snap.stack
        self.previous_action = snap.previous_action
        self.steps = snap.steps
        self.episode_score = snap.episode_score
        self.rng.bit_generator.state = snap.rng_state


# ---- Procgen --------------------------------------------------------------------------------------------


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


# ---- single envs (player, tests) ------------------------------------------------------------------------


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


# ---- vectorised envs (training) -------------------------------------------------------------------------

StepResult = tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]
"""obs uint8 (N, C, H, W), learning reward float32 (N,), done bool (N,), info arrays (N,)."""

_INFO_FIELDS: tuple[tuple[str, type[np.generic]], ...] = (
    ("raw_reward", np.float32),
    ("terminated", np.bool_),
    ("truncated", np.bool_),
    *((name, np.int32) for name in GameInfo._fields),  # level, room, x, y, lives, inventory
    ("episode_score", np.float64),  # of the episode that ended at this step; nan where none did
    ("episode_length", np.int32),  # agent steps of that episode; 0 where none ended
)


class VecEnv(ABC):
    """N envs stepped together, with same-step auto-reset.

    For an env that is done at a step, the returned obs is the first of its next episode, while the info
    (level, room, x, y, lives, inventory, episode_score, episode_length) describes the ended episode's last
    step. Returned arrays belong to the caller (they are copies). ``step_async`` / ``step_wait`` let the
    trainer run the network while the envs step.
    """

    num_envs: int
    spec: EnvSpec
    _waiting: bool = False

    @abstractmethod
    def reset(self) -> np.ndarray:
        """Start new episodes everywhere; returns obs uint8 (N, C, H, W)."""

    @abstractmethod
    def _start(self, actions: np.ndarray) -> None: ...

    @abstractmethod
    def _finish(self) -> StepResult: ...

    @abstractmethod
    def close(self) -> None: ...

    def step_async(self, actions: np.ndarray) -> None:
        """Start a step with actions int (N,) in [0, num_actions)."""
        if self._waiting:
            raise RuntimeError("step_async called twice without step_wait")
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or a.dtype.kind not in "iu":
            raise EnvError(f"actions must be integers of shape ({self.num_envs},), got {a.dtype} {a.shape}")
        if a.min() < 0 or a.max() >= self.spec.num_actions:
            raise EnvError(f"actions must be in 0..{self.spec.num_actions - 1}, got {a.min()}..{a.max()}")
        self._start(a)
        self._waiting = True

    def step_wait(self) -> StepResult:
        """Wait for the step that ``step_async`` started; returns (obs, reward, done, info)."""
        if not self._waiting:
            raise RuntimeError("step_wait called without step_async")
        self._waiting = False
        return self._finish()

    def step(self, actions: np.ndarray) -> StepResult:
        self.step_async(actions)
        return self.step_wait()

    def __enter__(self) -> VecEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _vec_layout(
    num_envs: int, obs_shape: tuple[int, ...]
) -> tuple[list[tuple[str, Any, tuple[int, ...], int]], int]:
    """(name, dtype, shape, byte offset) of every vec-env array, and the bytes they need in all."""
    n = num_envs
    fields = [("obs", np.uint8, (n, *obs_shape)), ("actions", np.int64, (n,)), ("reward", np.float32, (n,))]
    fields += [("done", np.bool_, (n,))] + [(name, dt, (n,)) for name, dt in _INFO_FIELDS]
    layout, offset = [], 0
    for name, dt, shape in fields:
        layout.append((name, dt, shape, offset))
        size = int(np.prod(shape)) * np.dtype(dt).itemsize
        offset += -(-size // 64) * 64  # 64-byte aligned, so no two fields share a cache line
    return layout, offset


class _VecBuffers:
    """A vec env's observations, actions and step results, carved out of one flat byte buffer.

    The pool puts that buffer in shared memory: workers write frames and results where the parent reads
    them, and the pipes carry one-byte commands only.
    """

    def __init__(self, num_envs: int, obs_shape: tuple[int, ...], buffer: np.ndarray | None = None) -> None:
        layout, nbytes = _vec_layout(num_envs, obs_shape)
        buf = np.zeros(nbytes, np.uint8) if buffer is None else buffer
        self.arrays: dict[str, np.ndarray] = {}
        for name, dt, shape, offset in layout:
            size = int(np.prod(shape)) * np.dtype(dt).itemsize
            self.arrays[name] = buf[offset : offset + size].view(dt).reshape(shape)
        self.obs = self.arrays["obs"]  # (N, C, H, W) uint8
        self.actions = self.arrays["actions"]  # (N,) int64

    def result(self) -> StepResult:
        """Copies of obs, reward, done and the info arrays, so that the caller owns what it gets."""
        a = self.arrays
        info = {name: a[name].copy() for name, _ in _INFO_FIELDS}
        return a["obs"].copy(), a["reward"].copy(), a["done"].copy(), info


class _AtariBatch:
    """Envs [lo, hi) of an Atari vec env, stepped one after another in this process with same-step
    auto-reset; frames and results go straight into ``bufs``. Env i is seeded with seed + i."""

    def __init__(self, cfg: EnvConfig, seed: int, bufs: _VecBuffers, lo: int, hi: int) -> None:
        self.cfg, self.bufs, self.slice = cfg, bufs, slice(lo, hi)
        self.cores = [AtariCore(cfg, seed + i, stack=bufs.obs[i]) for i in range(lo, hi)]

    def reset(self) -> None:
        for core in self.cores:
            core.reset()
        n = len(self.cores)
        self._write(
            [0.0] * n, [False] * n, [False] * n, [c.game_info() for c in self.cores], [np.nan] * n, [0] * n
        )

    def step(self) -> None:
        raws, terms, truncs, infos, scores, lengths = [], [], [], [], [], []
        for core, action in zip(self.cores, self.bufs.actions[self.slice].tolist()):
            raw, terminated, truncated = core.step(action)
            raws.append(raw)
            terms.append(terminated)
            truncs.append(truncated)
            infos.append(core.game_info())  # the ended episode's last step, read before the reset below
            if terminated or truncated:
                scores.append(core.episode_score)
                lengths.append(core.steps)
                core.reset()
            else:
                scores.append(np.nan)
                lengths.append(0)
        self._write(raws, terms, truncs, infos, scores, lengths)

    def _write(
        self,
        raws: list[float],
        terms: list[bool],
        truncs: list[bool],
        infos: list[GameInfo],
        scores: list[float],
        lengths: list[int],
    ) -> None:
        a, s = self.bufs.arrays, self.slice
        a["raw_reward"][s] = raws
        a["reward"][s] = clip_reward(a["raw_reward"][s]) if self.cfg.clip_reward else a["raw_reward"][s]
        a["terminated"][s] = terms
        a["truncated"][s] = truncs
        a["done"][s] = a["terminated"][s] | a["truncated"][s]
        columns = np.array(infos, np.int32).reshape(len(infos), len(GameInfo._fields))  # (n, 6)
        for j, name in enumerate(GameInfo._fields):
            a[name][s] = columns[:, j]
        a["episode_score"][s] = scores
        a["episode_length"][s] = lengths


class AtariSyncVecEnv(VecEnv):
    """All envs stepped in the calling process (``num_workers=0``): tests, tiny runs, debugging."""

    def __init__(self, cfg: EnvConfig, num_envs: int, seed: int) -> None:
        self.spec = env_spec(cfg)
        self.num_envs = num_envs
        self._bufs = _VecBuffers(num_envs, self.spec.obs_shape)
        self._batch = _AtariBatch(cfg, seed, self._bufs, 0, num_envs)

    def reset(self) -> np.ndarray:
        self._batch.reset()
        return self._bufs.obs.copy()

    def _start(self, actions: np.ndarray) -> None:
        self._bufs.actions[:] = actions

    def _finish(self) -> StepResult:
        self._batch.step()
        return self._bufs.result()

    def close(self) -> None:
        self._batch.cores.clear()


_OK, _STEP, _RESET, _CLOSE, _ERROR = b"k", b"s", b"r", b"c", b"e"


def _pool_worker(
    conn: Connection, shared: Any, cfg: EnvConfig, num_envs: int, seed: int, lo: int, hi: int
) -> None:
    """A pool process: steps envs [lo, hi) on command, results in the shared buffer; replies OK or ERROR."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group; the parent closes us
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # so does SLURM's SIGTERM: the parent finishes its update first
    cv2.setNumThreads(1)  # one process per core already: cv2's own threads would only contend
    try:
        obs_shape = (cfg.frame_stack, cfg.frame_size, cfg.frame_size)
        bufs = _VecBuffers(num_envs, obs_shape, np.frombuffer(shared, np.uint8))
        batch = _AtariBatch(cfg, seed, bufs, lo, hi)
        reply = _OK
    except Exception:
        batch, reply = None, _ERROR + traceback.format_exc().encode()
    # Every pipe operation may find the parent gone (killed, or crashed): EOF, a broken pipe, or a reset
    # when it died with our reply unread. The worker then just ends, without a traceback on the shared
    # stderr that would bury the parent's own last words.
    try:
        conn.send_bytes(reply)
        while batch is not None:
            cmd = conn.recv_bytes()
            if cmd == _CLOSE:
                return
            try:
                batch.step() if cmd == _STEP else batch.reset()
                reply = _OK
            except Exception:
                reply = _ERROR + traceback.format_exc().encode()
            conn.send_bytes(reply)
    except (EOFError, OSError):
        return  # the parent is gone


class AtariPoolVecEnv(VecEnv):
    """Atari envs split into contiguous chunks over worker processes that share one memory buffer.

    Each worker runs an ``_AtariBatch`` (the same ``AtariCore`` as ``make_env``) over its chunk and writes
    frames straight into the shared observation array; a step costs one byte each way per worker.
    ``start_method`` 'spawn' (default) and 'forkserver' are safe with CUDA and threads in the parent.
    A worker that fails or dies makes ``step`` / ``reset`` raise RuntimeError; the pool cannot recover then.
    """

    def __init__(
        self, cfg: EnvConfig, num_envs: int, seed: int, num_workers: int, start_method: str = "spawn"
    ) -> None:
        self.spec = env_spec(cfg)  # validates here, so a bad config fails with its own message
        self.num_envs = num_envs
        ctx = mp.get_context(start_method)
        # A RawArray is handed to the children at start-up, so there is no named segment to leak or unlink.
        shared = ctx.RawArray("B", _vec_layout(num_envs, self.spec.obs_shape)[1])
        self._bufs = _VecBuffers(num_envs, self.spec.obs_shape, np.frombuffer(shared, np.uint8))
        bounds = np.linspace(0, num_envs, num_workers + 1).round().astype(int)
        self._conns: list[Connection] = []
        self._procs: list[mp.process.BaseProcess] = []
        self._closed = False
        try:
            for w, (lo, hi) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist())):
                parent, child = ctx.Pipe()
                proc = ctx.Process(
                    target=_pool_worker,
                    args=(child, shared, cfg, num_envs, seed, lo, hi),
                    name=f"snd-env-worker-{w}",
                    daemon=True,
                )
                proc.start()
                child.close()
                self._conns.append(parent)
                self._procs.append(proc)
            self._gather()
        except BaseException:
            self.close()
            raise

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the workers (for monitoring, e.g. their CPU time in scripts/bench_envs.py)."""
        return [proc.pid for proc in self._procs if proc.pid is not None]

    def _send(self, cmd: bytes) -> None:
        for w, conn in enumerate(self._conns):
            try:
                conn.send_bytes(cmd)
            except OSError as e:  # a broken pipe: the worker is gone
                raise RuntimeError(f"env worker {w} exited (exit code {self._procs[w].exitcode})") from e

    def _gather(self) -> None:
        """Wait for every worker's reply (all, so the pipes stay in step), then raise the first error."""
        errors = []
        for w, conn in enumerate(self._conns):
            try:
                reply = conn.recv_bytes()
            except (EOFError, OSError):  # the worker is gone
                errors.append(f"env worker {w} exited (exit code {self._procs[w].exitcode})")
                continue
            if reply != _OK:
                errors.append(f"env worker {w} failed:\n{reply[1:].decode()}")
        if errors:
            raise RuntimeError(errors[0])

    def reset(self) -> np.ndarray:
        self._send(_RESET)
        self._gather()
        return self._bufs.obs.copy()

    def _start(self, actions: np.ndarray) -> None:
        self._bufs.actions[:] = actions
        self._send(_STEP)

    def _finish(self) -> StepResult:
        self._gather()
        return self._bufs.result()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send_bytes(_CLOSE)
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()  # workers ignore SIGTERM
                proc.join()
        for conn in self._conns:
            conn.close()


class ProcgenVecEnv(VecEnv):
    """procgen's own batched env (``ProcgenGym3Env(num=N)``) with ``ProcgenCore``'s preprocessing.

    procgen steps the batch in its own threads between ``act`` and ``observe``, so ``step_async`` /
    ``step_wait`` overlap it with the network. Seeds: the batch gets ``rand_seed=seed`` and procgen derives
    each env's seed from it (not seed + i). level, room, x, y, lives and inventory are -1.
    """

    def __init__(self, cfg: EnvConfig, num_envs: int, seed: int) -> None:
        self.spec = env_spec(cfg)
        self.num_envs = num_envs
        self._core = ProcgenCore(cfg, num_envs, seed)
        self._at_start = True

    def reset(self) -> np.ndarray:
        if not self._at_start:
            self._core.restart()
        self._at_start = True
        return self._core.stack.copy()

    def _start(self, actions: np.ndarray) -> None:
        self._at_start = False
        self._core.act(actions)

    def _finish(self) -> StepResult:
        rew, done, ep_score, ep_len = self._core.observe()
        n = self.num_envs
        info = {
            "raw_reward": rew,
            "terminated": done,
            "truncated": np.zeros(n, bool),
            **{name: np.full(n, -1, np.int32) for name in GameInfo._fields},
            "episode_score": ep_score,
            "episode_length": ep_len,
        }
        return self._core.stack.copy(), rew.copy(), done.copy(), info

    def close(self) -> None:
        self._core.env.close()


def make_vec_env(
    cfg: EnvConfig, num_envs: int, seed: int, num_workers: int | None = None, start_method: str = "spawn"
) -> VecEnv:
    """N envs for training; env i is seeded with seed + i (Atari), so the same seed gives the same run.

    Atari: ``num_workers`` worker processes (None: one per core, at most one per env; 0: in this process).
    Procgen: procgen's batched env, whatever ``num_workers`` says (it steps in its own threads).
    """
    validate_env_config(cfg)
    if num_envs < 1:
        raise EnvError(f"invalid num_envs {num_envs}; valid: an integer >= 1")
    if num_workers is not None and num_workers < 0:
        raise EnvError(f"invalid num_workers {num_workers}; valid: None (one per core), 0 (in process), >= 1")
    if is_procgen(cfg.env_id):
        return ProcgenVecEnv(cfg, num_envs, seed)
    workers = min(num_envs, os.cpu_count() or 1) if num_workers is None else min(num_workers, num_envs)
    if workers == 0:
        return AtariSyncVecEnv(cfg, num_envs, seed)
    return AtariPoolVecEnv(cfg, num_envs, seed, workers, start_method)
