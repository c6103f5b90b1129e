"""Orthogonal initialisation, as every network in both SND codebases uses it.

Source: Iskandor/SND ``modules/__init__.py`` ``init_orthogonal`` and michalnand's models
(``torch.nn.init.orthogonal_(w, gain)`` then ``zeros_(bias)``); snd-spec §1, §2, §8.7 for the gains.
"""

from __future__ import annotations

import math

from torch import nn

SQRT2 = math.sqrt(2.0)
"""The gain of every trunk and SND-V/RND layer (snd-spec §8.7)."""


def orthogonal_(layer: nn.Module, gain: float) -> nn.Module:
    """Orthogonal weight scaled by ``gain``, zero bias; returns the layer so it can wrap a constructor."""
    nn.init.orthogonal_(layer.weight, gain)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def orthogonal_all_(module: nn.Module, gain: float) -> nn.Module:
    """``orthogonal_`` on every Conv2d and Linear inside ``module`` (one gain for a whole stack)."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            orthogonal_(layer, gain)
    return module
