"""SND-V's augmentations, applied to the target's inputs after normalisation.

Source: michalnand RLAgents ``lib_agents/Augmentations.py`` with ``cnd_augmentations=["mask", "noise"]``
(snd-spec §1.1); the same functions are ``aug_mask_tiles`` / ``aug_noise`` / ``aug_random_apply`` in
Iskandor/SND ``SNDVEncoderAtari``. Every random draw comes from the caller's ``torch.Generator`` (on the
tensor's device), so the same generator state gives the same augmentation.
"""

from __future__ import annotations

import torch

TILE_SIZES_96 = (1, 2, 4, 8, 12, 16)
TILE_SIZES = (1, 2, 4, 8, 16)


def apply_per_sample(
    x: torch.Tensor, augmented: torch.Tensor, p: float, generator: torch.Generator
) -> torch.Tensor:
    """Take ``augmented`` for each sample with probability p, else ``x`` (``aug_random_apply``)."""
    pick = torch.rand(x.shape[0], generator=generator, device=x.device) < p  # (B,)
    return torch.where(pick.view(-1, *([1] * (x.dim() - 1))), augmented, x)


def random_tile_mask(
    x: torch.Tensor, generator: torch.Generator, p_apply: float = 0.5, p_zero: float = 0.1
) -> torch.Tensor:
    """Zero random square tiles: one tile size per call from {1,2,4,8,12,16} for 96 px inputs, else
    {1,2,4,8,16}; each tile is zeroed with p_zero, the mask is shared across channels, and each sample is
    masked with probability p_apply. x: (B, C, H, W)."""
    B, _, H, W = x.shape
    sizes = TILE_SIZES_96 if H == 96 else TILE_SIZES
    tile = sizes[int(torch.randint(len(sizes), (1,), generator=generator, device=x.device).item())]
    # ceil + crop so sizes that do not divide the frame (e.g. 16 on 84 px) still cover it
    keep = torch.rand(B, 1, -(-H // tile), -(-W // tile), generator=generator, device=x.device) >= p_zero
    keep = keep.repeat_interleave(tile, dim=2).repeat_interleave(tile, dim=3)[:, :, :H, :W]  # (B, 1, H, W)
    return apply_per_sample(x, x * keep, p_apply, generator)


def uniform_noise(
    x: torch.Tensor, generator: torch.Generator, p_apply: float = 0.5, amplitude: float = 0.2
) -> torch.Tensor:
    """Add U(-amplitude, amplitude) per pixel to each sample with probability p_apply."""
    noise = amplitude * (2.0 * torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) - 1.0)
    return apply_per_sample(x, x + noise, p_apply, generator)


def sndv_augment(
    x: torch.Tensor,
    generator: torch.Generator,
    p_apply: float = 0.5,
    p_zero: float = 0.1,
    amplitude: float = 0.2,
) -> torch.Tensor:
    """Tile mask, then uniform noise, each per sample with p_apply (the order of ``Augmentations.py``)."""
    x = random_tile_mask(x, generator, p_apply, p_zero)
    return uniform_noise(x, generator, p_apply, amplitude)
