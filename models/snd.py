"""Targets and predictors of the three SND variants (Pecháč, Chovanec, Farkaš 2023, arXiv 2302.11563).

- SND-V: michalnand/reinforcement_learning ``ppo_cnd_21_0/src/model_cnd_target.py`` and ``model_cnd.py``
  (snd-spec §1.1): ELU convs 16/32/64/64, orthogonal sqrt(2).
- SND-STD: Iskandor/SND ``modules/encoders/EncoderAtari.py`` ``ST_DIM_CNN``, ``ST_DIMEncoderAtari`` and
  ``STDModelAtari`` (snd-spec §1.2): ReLU convs 32/64/64/128 (Procgen 32/64/64/64), orthogonal 0.5.
- SND-VIC: the same ST-DIM CNN as target (no projector) and a sqrt(2) predictor, ``VICRegModelAtari``
  (snd-spec §1.3).

All take one float frame (B, C, H, W) -- C = 1 on Atari (channel 0), 3 on Procgen -- and return 512-d
features. Sizes come from a dummy forward, so 96x96 Atari and 64x64 Procgen both work.
"""

from __future__ import annotations

import torch
from torch import nn

from models.init import SQRT2, orthogonal_all_
from models.layers import conv4, flat_size

FEATURES = 512
STDIM_GAIN = 0.5
"""Orthogonal gain of the ST-DIM CNN and the SND-STD predictor (Iskandor ``gain = 0.5``)."""


def head(in_features: int, features: int) -> nn.Sequential:
    """The predictors' head: Linear -> F, ELU, Linear F -> F, ELU, Linear F -> F."""
    return nn.Sequential(
        nn.Linear(in_features, features),
        nn.ELU(),
        nn.Linear(features, features),
        nn.ELU(),
        nn.Linear(features, features),
    )


class SNDVTarget(nn.Module):
    """SND-V target Phi_T: ELU convs 16/32/64/64, flatten, Linear -> 512, no output activation."""

    def __init__(self, in_shape: tuple[int, int, int], features: int = FEATURES) -> None:
        super().__init__()
        convs = conv4(in_shape[0], (16, 32, 64, 64), nn.ELU)
        self.net = orthogonal_all_(
            nn.Sequential(convs, nn.Flatten(), nn.Linear(flat_size(convs, in_shape), features)), SQRT2
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, F)


class SNDVPredictor(nn.Module):
    """SND-V predictor Phi_L: the target's convs, then Linear, ELU, Linear, ELU, Linear."""

    def __init__(self, in_shape: tuple[int, int, int], features: int = FEATURES) -> None:
        super().__init__()
        convs = conv4(in_shape[0], (16, 32, 64, 64), nn.ELU)
        self.net = orthogonal_all_(
            nn.Sequential(convs, nn.Flatten(), head(flat_size(convs, in_shape), features)), SQRT2
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, F)


class STDIMEncoder(nn.Module):
    """The ST-DIM CNN (Anand et al. 2019 as Iskandor's ``ST_DIM_CNN``): ReLU convs 32/64/64/``last``,
    flatten, Linear -> 512, orthogonal gain 0.5. Its local feature map "f5" is the output of the third
    conv + ReLU: 64 channels at 12x12 = 144 positions on 96 px, 8x8 = 64 on Procgen."""

    def __init__(
        self, in_shape: tuple[int, int, int], features: int = FEATURES, last_channels: int = 128
    ) -> None:
        super().__init__()
        convs = conv4(in_shape[0], (32, 64, 64, last_channels), nn.ReLU)
        self.local = convs[:6]  # up to f5
        self.rest = nn.Sequential(convs[6:], nn.Flatten(), nn.Linear(flat_size(convs, in_shape), features))
        orthogonal_all_(self, STDIM_GAIN)
        self.local_channels = 64

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rest(self.local(x))  # (B, F)

    def forward_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Global features and the f5 map as one vector per position."""
        f5 = self.local(x)  # (B, 64, H', W')
        out = self.rest(f5)  # (B, F)
        return out, f5.flatten(2).transpose(1, 2)  # (B, F), (B, P, 64)


class STDIMTarget(nn.Module):
    """SND-STD target: the ST-DIM CNN plus the two InfoNCE score heads (PyTorch default init, as in
    Iskandor's ``ST_DIMEncoderAtari``): classifier1 maps a global vector into the local space
    (512 -> 64), classifier2 maps a local vector to a local vector (64 -> 64)."""

    def __init__(
        self, in_shape: tuple[int, int, int], features: int = FEATURES, last_channels: int = 128
    ) -> None:
        super().__init__()
        self.encoder = STDIMEncoder(in_shape, features, last_channels)
        local = self.encoder.local_channels
        self.classifier1 = nn.Linear(features, local)
        self.classifier2 = nn.Linear(local, local)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, F)


class STDIMPredictor(nn.Module):
    """Predictor of SND-STD (gain 0.5) and SND-VIC (gain sqrt(2)): ReLU convs 32/64/64/``last``, then
    Linear, ELU, Linear, ELU, Linear (Iskandor ``STDModelAtari.model``, ``VICRegModelAtari.model``)."""

    def __init__(
        self, in_shape: tuple[int, int, int], gain: float, features: int = FEATURES, last_channels: int = 128
    ) -> None:
        super().__init__()
        convs = conv4(in_shape[0], (32, 64, 64, last_channels), nn.ReLU)
        self.net = orthogonal_all_(
            nn.Sequential(convs, nn.Flatten(), head(flat_size(convs, in_shape), features)), gain
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, F)


def sndv_networks(in_shape: tuple[int, int, int]) -> tuple[SNDVTarget, SNDVPredictor]:
    """SND-V target and predictor; Atari and Procgen differ only in input shape (snd-spec §1.1)."""
    return SNDVTarget(in_shape), SNDVPredictor(in_shape)


def snd_std_networks(in_shape: tuple[int, int, int], procgen: bool) -> tuple[STDIMTarget, STDIMPredictor]:
    """SND-STD: both networks end in a 64-channel conv on Procgen (``EncoderProcgen.ST_DIM_CNN``,
    ``STDModelProcgen``), 128 on Atari."""
    last = 64 if procgen else 128
    return STDIMTarget(in_shape, last_channels=last), STDIMPredictor(in_shape, STDIM_GAIN, last_channels=last)


def snd_vic_networks(in_shape: tuple[int, int, int], procgen: bool) -> tuple[STDIMEncoder, STDIMPredictor]:
    """SND-VIC: the ST-DIM CNN as target (64-channel last conv on Procgen) and a sqrt(2) predictor whose
    last conv keeps 128 channels on Procgen too (Iskandor ``VICRegModelProcgen.model``)."""
    target = STDIMEncoder(in_shape, last_channels=64 if procgen else 128)
    return target, STDIMPredictor(in_shape, SQRT2, last_channels=128)
