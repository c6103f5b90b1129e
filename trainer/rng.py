"""The random streams of a run: seeding, and saving and restoring a generator across a resume.

A level below ``trainer.loop`` (which seeds the run and saves its streams in the resume state) and
``trainer.distributed`` (which restores each rank's own streams), so that neither imports the other for them.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def save_generator(gen: torch.Generator) -> dict[str, Any]:
    """A generator's state with the device type it belongs to (CPU and CUDA states differ in layout)."""
    return {"device": gen.device.type, "state": gen.get_state()}


def restore_generator(gen: torch.Generator, saved: Any, reseed: int) -> bool:
    """Restore ``gen`` from ``save_generator``'s dict where the device type matches; otherwise (a run
    resumed on another device) re-seed it from ``reseed``. Returns False when it re-seeded.

    Resume files written before the device was recorded hold a CPU state, or an empty tensor for CUDA."""
    if isinstance(saved, dict):
        device, state = saved["device"], saved["state"]
    else:
        device, state = ("cpu" if saved.numel() else "cuda"), saved
    if device == gen.device.type and state.numel():
        gen.set_state(state)
        return True
    gen.manual_seed(reseed)
    return False


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
