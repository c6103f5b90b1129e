"""The Atari core: ``AtariCore``, one ALE game with the paper's preprocessing (snd-spec §4.2), its exact
``AtariSnapshot``, and ``GameInfo`` (level, room, x, y, lives, inventory) decoded from RAM (snd-spec §6).

The single env (``trainer.envs.wrappers``) and the vectorisers (``trainer.envs.vector``) both step this core.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import ale_py
import cv2
import numpy as np
from ale_py import roms

from trainer.envs.ids import (
    ATARI_SCREEN_SHAPE,
    EnvConfig,
    EnvError,
    _atari_rom,
    is_procgen,
    validate_env_config,
)
from trainer.envs.spec import _minimal_action_set, _new_ale


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
