"""The worker that steps the session in its own QThread; the GUI thread only draws (STYLE.md item 8).

Commands arrive through one queued signal (``command(name, value)``), so they are handled between steps in
the worker's event loop; results leave as :class:`StepBatch` objects, one per tick: a single record when
playing in real time, a small batch when playing as fast as possible. A simple credit scheme keeps the worker
at most ``MAX_IN_FLIGHT`` batches ahead of the window, so a busy GUI slows the agent down instead of
growing a queue.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass

from PyQt6.QtCore import QMetaObject, QObject, Qt, QThread, QTimer, pyqtSignal, pyqtSlot

from snd_player.projection import Basis, FeatureProjector
from snd_player.session import Session, SessionError, StepRecord

REAL_TIME_STEPS_PER_S = 15.0
"""Atari runs at 60 emulator frames per second and the agent acts every 4 of them."""
SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 0.0)
"""Speed multipliers offered by the window; 0 means as fast as possible."""


@dataclass(frozen=True)
class StepBatch:
    """What one worker tick produced."""

    records: tuple[StepRecord, ...]
    horizon: int
    """Steps of the current episode the session knows; the window drops anything beyond."""
    seek: bool
    """The batch answers a seek: the cursor jumps to its record."""
    basis: Basis | None
    """A refitted projection basis, when a refit happened during this batch."""
    playing: bool
    inference_ms: float
    """Mean time in the networks per step over the batch."""


class SessionWorker(QObject):
    """Owns the session once moved to its thread; talk to it only through ``command``."""

    batch_ready = pyqtSignal(object)  # StepBatch
    failed = pyqtSignal(str)
    state_changed = pyqtSignal(object)  # dict: playing, speed, greedy, seed

    MAX_IN_FLIGHT = 3
    MAX_BATCH_S = 1 / 120
    """At max speed, step for at most this long before handing a batch over: twice the draw rate, so the
    window gets something new for each of its 60 frames a second (a step alone takes ~10 ms on a CPU)."""

    def __init__(self, session: Session, projector: FeatureProjector | None = None) -> None:
        super().__init__()
        self.session = session
        self.projector = projector or FeatureProjector()
        self._timer: QTimer | None = None
        self.playing = False
        self.speed = 1.0
        self._anchor = 0.0
        self._played_since_anchor = 0
        self._pending_seek: int | None = None
        self._pending_steps = 0
        self._remaining: int | None = None  # steps left of a "run" command, None = unbounded
        self._lock = threading.Lock()
        self._in_flight = 0
        self.steps_total = 0

    # -- called from the GUI thread -----------------------------------------------------------------------
    def ack(self) -> None:
        """The window has taken a batch (thread-safe)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    # -- slots, run in the worker thread ------------------------------------------------------------------
    @pyqtSlot()
    def start(self) -> None:
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._emit_state()

    @pyqtSlot()
    def shutdown(self) -> None:
        """Stop ticking and release the env; called (blocking) before the thread quits."""
        self.playing = False
        if self._timer is not None:
            self._timer.stop()
        self.session.close()

    @pyqtSlot(str, object)
    def command(self, name: str, value: object = None) -> None:
        s = self.session
        try:
            if name == "play":
                self._remaining = None
                self._set_playing(True)
            elif name == "pause":
                self._set_playing(False)
            elif name == "toggle":
                self._set_playing(not self.playing)
                self._remaining = None
            elif name == "run":
                self._remaining = int(value)  # play exactly this many steps, then pause
                self._set_playing(self._remaining > 0)
            elif name == "step":
                self._set_playing(False)
                self._pending_steps += 1
            elif name == "seek":
                self._set_playing(False)
                self._pending_seek = int(value)  # only the newest target counts while scrubbing
            elif name == "reset":
                s.reset(seed=None if value is None else int(value))
                self._pending_steps += 1  # show the first frame of the new episode
            elif name == "speed":
                self.speed = float(value)
                self._reanchor()
            elif name == "greedy":
                s.set_greedy(bool(value))
            elif name == "seed":
                s.reset(seed=int(value))
                self._pending_steps += 1
            else:
                raise ValueError(f"unknown worker command {name!r}")
        except (SessionError, ValueError) as e:
            self.failed.emit(str(e))
        self._emit_state()
        self._schedule()

    # -- internals ----------------------------------------------------------------------------------------
    def _emit_state(self) -> None:
        s = self.session
        self.state_changed.emit(
            {"playing": self.playing, "speed": self.speed, "greedy": s.greedy, "seed": s.seed}
        )

    def _set_playing(self, playing: bool) -> None:
        if playing and not self.playing:
            self._reanchor()
        self.playing = playing

    def _reanchor(self) -> None:
        self._anchor = time.perf_counter()
        self._played_since_anchor = 0

    def _schedule(self) -> None:
        if self._timer is None:
            return
        busy = self.playing or self._pending_steps or self._pending_seek is not None
        if not busy:
            self._timer.stop()
            return
        # max speed: fire whenever the event loop is idle; paced: poll 4 times a step (2..16 ms)
        if self.playing and self.speed == 0:
            interval = 0
        elif self.playing:
            interval = int(min(16, max(2, 250 / (REAL_TIME_STEPS_PER_S * self.speed))))
        else:
            interval = 1  # a pending step or seek
        if not self._timer.isActive() or self._timer.interval() != interval:
            self._timer.start(interval)

    def _due_steps(self) -> int:
        rate = REAL_TIME_STEPS_PER_S * self.speed
        due = int((time.perf_counter() - self._anchor) * rate) - self._played_since_anchor
        if due > 4:  # fell behind (a slow machine or a busy GUI): catch up gently, not in a burst
            self._reanchor()
            due = 1
        return due

    def _tick(self) -> None:
        with self._lock:
            busy_window = self._in_flight >= self.MAX_IN_FLIGHT
        if busy_window:
            # wait for the window without spinning (a 0 ms timer would take the CPU the window needs)
            if self._timer is not None and self._timer.interval() == 0:
                self._timer.start(2)
            return
        s = self.session
        records: list[StepRecord] = []
        basis: Basis | None = None
        seek = False
        inf0 = s.inference_s
        try:
            if self._pending_seek is not None:
                target, self._pending_seek = self._pending_seek, None
                records.append(s.seek(target))
                seek = True
            elif self._pending_steps:
                self._pending_steps -= 1
                records.append(s.step())
            elif self.playing:
                budget = self._remaining if self._remaining is not None else 1 << 30
                if self.speed == 0:
                    t_end = time.perf_counter() + self.MAX_BATCH_S
                    while len(records) < budget:
                        records.append(s.step())
                        if time.perf_counter() >= t_end or records[-1].done:
                            break
                else:
                    for _ in range(min(self._due_steps(), budget)):
                        records.append(s.step())
                        self._played_since_anchor += 1
                        if records[-1].done:
                            break
                if self._remaining is not None:
                    self._remaining -= len(records)
                    if self._remaining <= 0:
                        self._remaining = None
                        self._set_playing(False)
                        self._emit_state()
        except SessionError as e:
            self.failed.emit(str(e))
        except Exception as e:  # noqa: BLE001 - an env or network failure must not kill the thread silently
            self._set_playing(False)
            traceback.print_exc()
            self.failed.emit(f"{type(e).__name__}: {e}")
            self._emit_state()
        if records:
            for rec in records:
                b = self.projector.add(rec.features)
                if b is not None:
                    basis = b
            self.steps_total += len(records)
            with self._lock:
                self._in_flight += 1
            self.batch_ready.emit(
                StepBatch(
                    records=tuple(records),
                    horizon=s.horizon,
                    seek=seek,
                    basis=basis,
                    playing=self.playing,
                    inference_ms=1000.0 * (s.inference_s - inf0) / len(records),
                )
            )
        self._schedule()


class WorkerThread:
    """A worker and its QThread, started together and stopped-and-joined together."""

    def __init__(self, session: Session, projector: FeatureProjector | None = None) -> None:
        self.thread = QThread()
        self.thread.setObjectName("snd-session-worker")
        self.worker = SessionWorker(session, projector)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.start)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Stop the worker, quit its event loop and join the thread; True when it has finished."""
        if not self.thread.isRunning():
            return True
        QMetaObject.invokeMethod(self.worker, "shutdown", Qt.ConnectionType.BlockingQueuedConnection)
        self.thread.quit()
        return self.thread.wait(timeout_ms)
