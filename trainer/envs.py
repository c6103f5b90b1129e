"""The one place observations are preprocessed, shared by the trainer and the player.

Atari follows the SND paper's `WrapperHardAtari` (snd-spec §4.2), Procgen its `ProcgenWrapper` (§4.3).
"""

from __future__ import annotations

from dataclasses import dataclass


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
    """Atari: probability that the previous action is repeated for a whole agent step (paper 0.25)."""
    max_episode_steps: int = 4500
    """Atari: agent steps before truncation (paper 4500 = 18000 frames)."""
    noop_max: int = 0
    """Atari: up to this many random no-ops at reset; 0 turns it off (Iskandor 0, michalnand's MR wrapper 30)."""
    clip_reward: bool = True
    """Atari: learning reward max(0, sign(r)) in {0, 1}; the raw score stays in info (paper True)."""
    procgen_distribution_mode: str = "exploration"
    """Procgen: distribution mode, one of exploration, easy, hard (paper exploration)."""
    procgen_frame_stack: int = 2
    """Procgen: RGB frames stacked, newest first (paper 2, so 6 channels)."""
    procgen_random_action_prob: float = 0.01
    """Procgen: probability the agent's action is replaced by a random one (paper 0.01)."""
