"""The PPO actor-critic: one shared trunk, a policy head and two value heads (extrinsic, intrinsic).

Source: Iskandor/SND ``modules/PPO_AtariModules.py``, ``PPO_ProcgenModules.py`` (snd-spec §2.1). The
``nature`` encoder is the Nature-DQN CNN of OpenAI RND (``policies/cnn_policy_param_matched.py``) and
CleanRL ``ppo_rnd_envpool.py``, for comparisons with those codebases.

Plain PPO (``--algo ppo``) uses the same network and ignores ``v_int``: it is never trained and never
read, so one class serves every algorithm and every checkpoint has the same layout.
"""

from __future__ import annotations

import torch
from torch import nn

from models.init import SQRT2, orthogonal_, orthogonal_all_
from models.layers import conv4, flat_size
from models.widths import ENCODERS, HIDDEN


def looks_like_procgen(obs_shape: tuple[int, int, int]) -> bool:
    """Procgen observations are stacks of 64x64 RGB frames; Atari ones are grayscale stacks."""
    c, h, w = obs_shape
    return (h, w) == (64, 64) and c % 3 == 0


def paper_encoder(obs_shape: tuple[int, int, int], procgen: bool, hidden: int = HIDDEN) -> nn.Sequential:
    """snd-spec §2.1: 4 ReLU convs 32/64/64/128 (Procgen 32/64/64/64), then Linear -> 512 (``hidden``) with
    no activation after it (the actor adds its own ReLU, the critic reads it raw)."""
    convs = conv4(obs_shape[0], (32, 64, 64, 64 if procgen else 128), nn.ReLU)
    return nn.Sequential(convs, nn.Flatten(), nn.Linear(flat_size(convs, obs_shape), hidden))


def nature_encoder(obs_shape: tuple[int, int, int], hidden: int = HIDDEN) -> nn.Sequential:
    """Nature-DQN CNN (Mnih et al. 2015) as in OpenAI RND and CleanRL: 8x8/4 32, 4x4/2 64, 3x3/1 64,
    ReLU each, then Linear 3136 -> 512 (``hidden``) and ReLU (on 84x84)."""
    convs = nn.Sequential(
        nn.Conv2d(obs_shape[0], 32, kernel_size=8, stride=4),
        nn.ReLU(),
        nn.Conv2d(32, 64, kernel_size=4, stride=2),
        nn.ReLU(),
        nn.Conv2d(64, 64, kernel_size=3, stride=1),
        nn.ReLU(),
    )
    return nn.Sequential(convs, nn.Flatten(), nn.Linear(flat_size(convs, obs_shape), hidden), nn.ReLU())


class ActorCritic(nn.Module):
    """Shared trunk -> (policy logits, V_ext, V_int) on float observations in [0, 1].

    encoder ``paper`` is snd-spec §2.1 exactly; ``nature`` swaps in the Nature-DQN trunk and keeps the
    heads. ``critic_relu`` puts a ReLU between the trunk and the critic (michalnand's SND-V, §2.2).
    ``procgen`` picks the Procgen variant of the paper trunk (last conv 64 channels); None infers it from
    the observation shape (64x64, channels a multiple of 3). ``hidden`` is the width of the trunk's output
    and of the heads (512; michalnand's Procgen SND-V 256).
    """

    def __init__(
        self,
        obs_shape: tuple[int, int, int],
        num_actions: int,
        encoder: str = "paper",
        procgen: bool | None = None,
        critic_relu: bool = False,
        hidden: int = HIDDEN,
    ) -> None:
        super().__init__()
        obs_shape = tuple(int(s) for s in obs_shape)
        if procgen is None:
            procgen = looks_like_procgen(obs_shape)
        if encoder == "paper":
            self.trunk = paper_encoder(obs_shape, procgen, hidden)
        elif encoder == "nature":
            self.trunk = nature_encoder(obs_shape, hidden)
        else:
            raise ValueError(f"unknown encoder {encoder!r}; valid: {', '.join(ENCODERS)}")
        orthogonal_all_(self.trunk, SQRT2)
        self.actor = nn.Sequential(
            nn.ReLU(),
            orthogonal_(nn.Linear(hidden, hidden), 0.01),
            nn.ReLU(),
            orthogonal_(nn.Linear(hidden, num_actions), 0.01),
        )
        # Iskandor's critic reads the trunk output without a ReLU in front (snd-spec §2.1); michalnand's
        # SND-V trunk ends in a ReLU that both heads read (§2.2). The ReLU has no weights, so both layouts
        # load the same tensors.
        self.critic_in = nn.ReLU() if critic_relu else nn.Identity()
        self.critic = nn.Sequential(orthogonal_(nn.Linear(hidden, hidden), 0.1), nn.ReLU())
        self.value_ext = orthogonal_(nn.Linear(hidden, 1), 0.01)
        self.value_int = orthogonal_(nn.Linear(hidden, 1), 0.01)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """Trunk features of float obs (B, C, H, W) in [0, 1]."""
        return self.trunk(obs)  # (B, hidden)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = self.encode(obs)  # (B, hidden)
        h = self.critic(self.critic_in(z))  # (B, hidden)
        logits = self.actor(z)  # (B, A)
        return logits, self.value_ext(h).squeeze(-1), self.value_int(h).squeeze(-1)  # (B,), (B,)
