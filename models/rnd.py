"""Random Network Distillation networks as the SND paper ran its RND baseline.

Source: Iskandor/SND ``modules/rnd_models/RNDModelAtari.py`` / ``RNDModelProcgen.py`` (snd-spec §2.3):
ELU convs 8x8/4 p2 -> 32, 3x3/2 p1 -> 64, 3x3/1 p1 -> 64, Linear -> 512; orthogonal gain sqrt(2). The input
is one frame (channel 0 on Atari, the newest RGB frame on Procgen) minus its running per-pixel mean.
This differs from OpenAI RND (leaky-ReLU, no padding, whitened input); see snd-spec §5.3.
"""

from __future__ import annotations

import torch
from torch import nn

from models.init import SQRT2, orthogonal_all_
from models.layers import flat_size

FEATURES = 512


def rnd_convs(in_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, kernel_size=8, stride=4, padding=2),
        nn.ELU(),
        nn.Conv2d(32, 64, kernel_size=3, stride=2, padding=1),
        nn.ELU(),
        nn.Conv2d(64, 64, kernel_size=3, stride=1, padding=1),
        nn.ELU(),
    )


class RNDTarget(nn.Module):
    """The fixed random target: convs, flatten, Linear -> 512 with no output activation. Frozen at
    construction (``requires_grad`` False), so no optimiser can move it."""

    def __init__(self, in_shape: tuple[int, int, int], features: int = FEATURES) -> None:
        super().__init__()
        convs = rnd_convs(in_shape[0])
        self.net = orthogonal_all_(
            nn.Sequential(convs, nn.Flatten(), nn.Linear(flat_size(convs, in_shape), features)), SQRT2
        )
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, F)


class RNDPredictor(nn.Module):
    """The predictor: the target's convs, then Linear -> 512, ELU, Linear 512, ELU, Linear 512."""

    def __init__(self, in_shape: tuple[int, int, int], features: int = FEATURES) -> None:
        super().__init__()
        convs = rnd_convs(in_shape[0])
        self.net = orthogonal_all_(
            nn.Sequential(
                convs,
                nn.Flatten(),
                nn.Linear(flat_size(convs, in_shape), features),
                nn.ELU(),
                nn.Linear(features, features),
                nn.ELU(),
                nn.Linear(features, features),
            ),
            SQRT2,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, F)
