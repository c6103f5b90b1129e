"""One agent step as the player shows it: the record :class:`~snd_player.core.session.Session` makes and the
timeline, the window, the videos and the evaluation read (Qt-free, and free of the session itself, so the
timeline can name it without importing the session that imports the timeline).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class StepRecord:
    """Everything the player shows about one agent step. All numbers are finite Python scalars."""

    t: int
    """Step index within the episode, from 0."""
    episode: int
    """Episode index within the session, from 0."""
    frame: np.ndarray
    """Full-colour frame of s_t, uint8 (H, W, 3): 210x160 Atari, 512x512 Procgen."""
    obs: np.ndarray
    """The observation the network sees, uint8 (C, H, W), newest frame first."""
    action: int
    action_name: str
    probs: np.ndarray
    """Action probabilities, float32 (A,)."""
    entropy: float
    """Policy entropy in nats."""
    r_ext: float
    """Learning reward of the action (clipped for Atari)."""
    raw_reward: float
    """Game reward of the action."""
    r_int: float
    """Intrinsic reward of s_t as trained on: clip(eta * error); 0 for plain PPO."""
    int_error: float
    """Raw distillation error of s_t; 0 for plain PPO."""
    v_ext: float
    v_int: float
    features: np.ndarray
    """Target features of s_t, float32 (F,); (0,) for plain PPO."""
    level: int
    room: int
    x: int
    y: int
    lives: int
    inventory: int
    score: float
    """Raw episode score before the action (what the game shows on this frame)."""
    done: bool
    """The action ended the episode; the next step starts a new one."""
    level_seed: int = -1
    """Procgen: the seed of the level being played; -1 elsewhere."""
    chooser: str = "agent"
    """Who chose ``action``: ``agent`` (the policy), ``human`` (a person driving the window) or ``script``
    (a trajectory file's action); the names of :data:`snd_player.core.trajectory.CHOOSERS`."""
    agent_action: int = -1
    """What the policy would have taken on s_t (its sample, or argmax when greedy); equal to ``action`` on
    the agent's own steps. The policy panel marks the human's action beside it."""

    @property
    def driven(self) -> bool:
        """A person chose this step's action (drive mode)."""
        return self.chooser == "human"
