"""Building blocks shared by the policy, RND and SND networks."""

from __future__ import annotations

import torch
from torch import nn


def conv4(
    in_channels: int, channels: tuple[int, int, int, int], activation: type[nn.Module]
) -> nn.Sequential:
    """The four 3x3 convolutions (strides 2, 2, 2, 1, padding 1) that the paper's policy, the SND-V
    networks and the ST-DIM CNN share (snd-spec §1.1, §1.2, §2.1): 96 px -> 12x12, 64 px -> 8x8."""
    c1, c2, c3, c4 = channels
    return nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel_size=3, stride=2, padding=1),
        activation(),
        nn.Conv2d(c1, c2, kernel_size=3, stride=2, padding=1),
        activation(),
        nn.Conv2d(c2, c3, kernel_size=3, stride=2, padding=1),
        activation(),
        nn.Conv2d(c3, c4, kernel_size=3, stride=1, padding=1),
        activation(),
    )


def flat_size(convs: nn.Module, in_shape: tuple[int, int, int]) -> int:
    """Features after ``convs`` and flattening, found by a dummy forward so any input size works."""
    with torch.no_grad():
        return int(convs(torch.zeros(1, *in_shape)).numel())
