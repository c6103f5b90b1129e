"""What one rollout hands on: the tensors the loop collects and the advantages computed from them.

A level below ``trainer.loop`` (which fills them) and ``trainer.distributed`` (which merges their statistics
over ranks), so that neither imports the other for them.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class Rollout(NamedTuple):
    """One rollout; tensors on the training device."""

    obs: torch.Tensor  # (T+1, N, C, H, W) uint8, the last one is s_T
    actions: torch.Tensor  # (T, N) int64
    logp: torch.Tensor  # (T, N)
    v_ext: torch.Tensor  # (T+1, N)
    v_int: torch.Tensor  # (T+1, N)
    r_ext: torch.Tensor  # (T, N) learning reward
    r_int: torch.Tensor  # (T, N) clip(eta * error, 0, 1)
    int_error: torch.Tensor  # (T, N)
    dones: torch.Tensor  # (T, N) float


class Advantages(NamedTuple):
    combined: torch.Tensor  # (T, N)
    ret_ext: torch.Tensor  # (T, N)
    ret_int: torch.Tensor  # (T, N)
