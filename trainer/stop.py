"""A graceful stop on SIGTERM or SIGINT for ``trainer train``.

Schedulers (SLURM, Kubernetes, systemd, ``docker stop``) send SIGTERM some time before they kill, and a user
presses Ctrl-C. The handler only records which signal came: the loop checks :attr:`StopFlag.requested`
between updates, then writes a checkpoint with its resume state and flushes the metrics (nothing that can
fail or take a lock runs inside a handler). The first signal also puts the default handlers back, so a
second Ctrl-C (KeyboardInterrupt) or SIGTERM stops at once; not under torchrun, whose ranks get each stop
twice (from the launcher, which forwards it, and from the terminal or scheduler).
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def under_torchrun() -> bool:
    """True in a rank that torchrun (or ``python -m trainer.launch``) started: it sets TORCHELASTIC_RUN_ID."""
    return bool(os.environ.get("TORCHELASTIC_RUN_ID"))


class StopFlag:
    """Set by the first SIGTERM / SIGINT while installed; read by the training loop between updates."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
        if under_torchrun():
            # torchrun forwards the signal it gets to every rank, and a Ctrl-C or `scancel` reaches the ranks
            # too: each rank then sees the same stop twice, and the second must not kill it mid-checkpoint.
            # torchrun's --shutdown-timeout (30 s) ends in SIGKILL: that is the hard stop here.
            return
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def install(self) -> StopFlag:
        """Take over SIGTERM and SIGINT (only the main thread may set handlers; elsewhere this does
        nothing and the signals keep their usual effect)."""
        if threading.current_thread() is threading.main_thread():
            for s in SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def restore(self) -> None:
        """Put back the handlers that were there before :meth:`install`."""
        for s, h in self._previous.items():
            signal.signal(s, h)
        self._previous.clear()
