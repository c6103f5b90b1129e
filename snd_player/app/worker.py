"""The worker that steps the session off the GUI thread; the GUI thread only draws (STYLE.md item 8).

Commands arrive through one queued signal (``command(name, value)``), so they are handled between steps;
results leave as :class:`StepBatch` objects, one per tick: a single record when playing in real time, a small
batch when playing as fast as possible. What a command does lives in the Qt-free
:class:`snd_player.core.stepper.Stepper`; this module hosts it in one of two places with the same interface:

- :class:`SessionWorker`, a ``QObject`` moved to a ``QThread`` of the window's process (tests, embedding);
- :class:`snd_player.app.worker_process.ProcessSessionWorker`, a child process that rebuilds the session from
  its checkpoint. ALE and the networks then never hold the GUI process's GIL, which is what lets the window
  draw 60 frames a second with every panel on two cores. ``WorkerThread(..., process=True)`` picks it; its
  pipe is read by the window's own thread (no second Python thread in the window's process).
"""

from __future__ import annotations

from PyQt6.QtCore import QMetaObject, QObject, Qt, QThread, QTimer, pyqtSignal, pyqtSlot

from snd_player.core.projection import FeatureProjector
from snd_player.core.session import Session
from snd_player.core.stepper import REAL_TIME_STEPS_PER_S, SPEEDS, RecordRequest, StepBatch, Stepper
from snd_player.media.record import session_recorder

__all__ = [
    "REAL_TIME_STEPS_PER_S",
    "SPEEDS",
    "RecordRequest",
    "SessionWorker",
    "StepBatch",
    "WorkerThread",
]


class SessionWorker(QObject):
    """Owns the session once moved to its thread; talk to it only through ``command``."""

    batch_ready = pyqtSignal(object)  # StepBatch
    failed = pyqtSignal(str)
    state_changed = pyqtSignal(object)  # dict: playing, speed, greedy, seed, recording
    record_event = pyqtSignal(object)  # dict: event started/progress/finished, see Stepper
    saliency_ready = pyqtSignal(object)  # dict: episode, t, map, ms; emitted from the saliency thread

    MAX_IN_FLIGHT = Stepper.MAX_IN_FLIGHT
    MAX_BATCH_S = Stepper.MAX_BATCH_S

    def __init__(self, session: Session, projector: FeatureProjector | None = None) -> None:
        super().__init__()
        self.session = session
        self.stepper = Stepper(
            session,
            projector,
            on_batch=self.batch_ready.emit,
            on_failed=self.failed.emit,
            on_state=self.state_changed.emit,
            on_record=self.record_event.emit,
            open_recorder=session_recorder,
            on_saliency=self.saliency_ready.emit,
        )
        self.projector = self.stepper.projector
        self._timer: QTimer | None = None

    @property
    def playing(self) -> bool:
        return self.stepper.playing

    @property
    def speed(self) -> float:
        return self.stepper.speed

    @property
    def steps_total(self) -> int:
        return self.stepper.steps_total

    # -- called from the GUI thread -----------------------------------------------------------------------
    def ack(self) -> None:
        """The window has taken a batch (thread-safe)."""
        self.stepper.ack()

    # -- slots, run in the worker thread ------------------------------------------------------------------
    @pyqtSlot()
    def start(self) -> None:
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self.stepper.emit_state()

    @pyqtSlot()
    def shutdown(self) -> None:
        """Stop ticking and release the env; called (blocking) before the thread quits."""
        if self._timer is not None:
            self._timer.stop()
        self.stepper.close()

    @pyqtSlot(str, object)
    def command(self, name: str, value: object = None) -> None:
        self.stepper.command(name, value)
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is None:
            return
        due = self.stepper.interval()
        if due is None:
            self._timer.stop()
            return
        interval = round(due * 1000)
        if not self._timer.isActive() or self._timer.interval() != interval:
            self._timer.start(interval)

    def _tick(self) -> None:
        self.stepper.tick()
        self._schedule()


class WorkerThread:
    """A worker and its thread (or child process), started together and stopped-and-joined together."""

    def __init__(
        self, session: Session, projector: FeatureProjector | None = None, process: bool = False
    ) -> None:
        self.thread: QThread | None = None
        """The worker's thread; None for a child process, whose pipe the window's own thread reads: a
        second Python thread in the window's process would only take the GIL from the drawing."""
        if process:
            from snd_player.app.worker_process import ProcessSessionWorker

            self.worker = ProcessSessionWorker(session, projector)
        else:
            self.worker = SessionWorker(session, projector)
            self.thread = QThread()
            self.thread.setObjectName("snd-session-worker")
            self.worker.moveToThread(self.thread)
            self.thread.started.connect(self.worker.start)
        self._started = False

    def start(self) -> None:
        if self.thread is None:
            self._started = True
            self.worker.start()
        else:
            self.thread.start()

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Stop the worker, quit its event loop and join the thread; True when it has finished."""
        if self.thread is None:
            if self._started:
                self._started = False
                self.worker.shutdown()
            return True
        if not self.thread.isRunning():
            return True
        QMetaObject.invokeMethod(self.worker, "shutdown", Qt.ConnectionType.BlockingQueuedConnection)
        self.thread.quit()
        return self.thread.wait(timeout_ms)
