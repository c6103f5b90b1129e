"""Running per-element statistics of observations, kept as module buffers so checkpoints carry them.

Source: michalnand RLAgents ``lib_agents/RunningStats.py`` and ``AgentPPOCND._norm_state`` (snd-spec §1.1)
for SND-V's state normalisation; Iskandor/SND ``RNDModelAtari.prepare_input`` (snd-spec §2.3) for RND's
mean subtraction.
"""

from __future__ import annotations

import torch
from torch import nn


class RunningMeanStd(nn.Module):
    """Per-element running mean and E[x^2] over ``shape``, updated as a cumulative average over calls.

    Each ``update`` adds ONE batch mean (michalnand's RunningStats: one call per env step, 128 envs per
    call), so with equal batch sizes the moments equal numpy's over all samples seen. Buffers are float64
    so long runs do not drift; the normalised output is float32.

    var = E[x^2] - mean^2, floored at ``var_floor`` (1e-3 for SND-V). Before the first update the mean is
    0 and the variance 1.
    """

    count: torch.Tensor
    mean: torch.Tensor
    mean_sq: torch.Tensor

    def __init__(self, shape: tuple[int, ...], var_floor: float = 1e-3) -> None:
        super().__init__()
        self.shape = tuple(shape)
        self.var_floor = var_floor
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("mean", torch.zeros(self.shape, dtype=torch.float64))
        self.register_buffer("mean_sq", torch.ones(self.shape, dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Fold in one batch (B, *shape); in place, so it is safe under ``torch.inference_mode``."""
        x = x.to(torch.float64)
        self.count += 1
        self.mean += (x.mean(0) - self.mean) / self.count
        self.mean_sq += (x.square().mean(0) - self.mean_sq) / self.count

    @property
    def var(self) -> torch.Tensor:
        return (self.mean_sq - self.mean.square()).clamp_min(self.var_floor)

    @property
    def std(self) -> torch.Tensor:
        return self.var.sqrt()

    def normalize_state(self, x: torch.Tensor) -> torch.Tensor:
        """SND-V's state normalisation: clamp((x - mu) / sigma, -1, 1) (michalnand ``_norm_state``)."""
        mean, std = self.mean.to(x.dtype), self.std.to(x.dtype)
        return ((x - mean) / std).clamp(-1.0, 1.0)

    def center(self, x: torch.Tensor) -> torch.Tensor:
        """RND's mean-only mode: x minus the running per-pixel mean, no division by the std (the paper's
        RND, snd-spec §2.3: dividing "causes huge instability")."""
        return x - self.mean.to(x.dtype)
