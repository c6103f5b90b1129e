"""Which torchrun rank this process is, and how a rank reports and ends: without importing torch.

The command line needs these before it knows whether it will train at all (``trainer --help``, a bad flag,
``trainer presets``), and importing torch costs seconds; :mod:`trainer.distributed` keeps the process
group and everything that needs torch.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn


class DistributedError(RuntimeError):
    """A launch problem the user can fix; the message is one line."""


_joined = False  # this process has joined a process group (see reports_errors)


def env_rank() -> int:
    """This process's rank from torchrun's RANK (0 without torchrun); usable before any process group."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def reports_errors() -> bool:
    """Whether this process prints its errors. Until the ranks join, the ranks of a node check the same
    flags, files and devices and meet the same problem, so each node's first rank alone reports it (one
    line on one node); after that an error may be one rank's own."""
    try:
        local = int(os.environ.get("LOCAL_RANK") or env_rank())
    except ValueError:
        local = 0
    return local == 0 or _joined


def mark_joined() -> None:
    """Called by :class:`trainer.distributed.Distributed` once this process is in a group of ranks."""
    global _joined
    _joined = True


def joined() -> bool:
    """True once this process has joined a process group of several ranks (it stays True after
    :meth:`trainer.distributed.Distributed.close`)."""
    return _joined


def end_rank(code: int) -> NoReturn:
    """End a rank of a torchrun job with ``code``, skipping the interpreter's finalisation.

    Objects that still hold the process group (DistributedDataParallel's reducer, a gloo work item with
    its tensors) can be freed during finalisation, and gloo's C++ threads then call std::terminate: the
    rank dies with SIGABRT ("terminate called without an active exception") after it wrote its checkpoint
    and said its line, and torchrun, seeing exit -6, calls the whole job failed. Every file this program
    writes is closed by then (metrics, TensorBoard, checkpoints, the run lock), so only the standard
    streams need flushing.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def is_lost_peer(e: BaseException) -> bool:
    """True for the error a collective raises when another rank died (kill -9, OOM, a crash)."""
    dist = sys.modules.get("torch.distributed")  # not imported: no collective ran, so none failed
    if dist is not None and isinstance(e, dist.DistError):
        return True
    return isinstance(e, RuntimeError) and any(s in str(e) for s in ("Connection closed by peer", "Gloo", "NCCL"))


def env_int(name: str, default: int) -> int:
    """An integer torchrun put in the environment, or ``default`` when it is unset or empty."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise DistributedError(f"environment variable {name}={raw!r} is not an integer (set by torchrun)") from None
