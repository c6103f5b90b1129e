"""The session worker in a child process: the same commands, signals and batches as
:class:`snd_player.app.worker.SessionWorker`, with the env and the networks out of the window's process.

Why a process: ALE's emulator step and the small CPU networks hold the GIL for most of their time, so in a
thread they take turns with the GUI thread and the window cannot keep 60 frames a second on two cores.
A child process has a GIL of its own; the window pays only for unpickling the records (a memcpy per frame).

The child rebuilds the session from the checkpoint with the window's seed, greedy setting and keyframe
interval. It is a fresh interpreter (never a fork: the window's process has Qt and torch threads a fork
would copy mid-flight) started on this module alone, not through ``multiprocessing``'s spawn, which runs the
parent's main script again in the child (a script without a ``__main__`` guard would open a second
window). It then runs :class:`snd_player.core.stepper.Stepper` in a loop that sleeps on its command pipe until a
tick is due. Messages are tuples: to the child first ``("init", SessionSpec, FeatureProjector | None)``,
then ``("cmd", name, value)``, ``("ack",)``, ``("shutdown",)``;
from it ``("ready",)``, ``("batch", StepBatch)``, ``("failed", str)``, ``("state", dict)``,
``("record", dict)``, ``("saliency", dict)`` (a live overlay's map, sent from the child's saliency thread:
sends are serialised by a lock) and ``("fatal", str)`` when the session cannot be rebuilt.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, QSocketNotifier, pyqtSignal, pyqtSlot

from snd_player.core.projection import FeatureProjector
from snd_player.core.session import Session


@dataclass(frozen=True)
class SessionSpec:
    """What the child needs to rebuild the window's session."""

    checkpoint: str
    seed: int
    greedy: bool
    keyframe_every: int
    device: str
    torch_threads: int
    trajectory: Any = None
    """The trajectory the window's session replays (``snd_player.core.trajectory.Trajectory``), or None."""

    @classmethod
    def of(cls, session: Session) -> SessionSpec:
        import torch

        if session.checkpoint is None:
            raise ValueError("a session worker process needs a session loaded from a checkpoint")
        return cls(
            checkpoint=str(session.checkpoint),
            seed=session.seed,
            greedy=session.greedy,
            keyframe_every=session.keyframe_every,
            device=str(getattr(session.agent, "device", "cpu")),
            torch_threads=torch.get_num_threads(),
            trajectory=session.trajectory,
        )


PIPE_BYTES = 1 << 20
"""Capacity asked for the child's output pipe: a batch (about 160 KB with an Atari frame) then goes in one
write and comes out in one read, where the default 64 KB pipe made child and window take turns per chunk."""


def _widen_pipe(fd: int) -> None:
    """Grow a pipe's buffer to PIPE_BYTES where the OS allows it (Linux); elsewhere keep the default."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass


ONE_THREAD_BLAS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
"""numpy's BLAS in the child runs on one thread. Its only sizeable work is the feature projection's refit
every 64 steps; with a thread per core that refit (24 ms, float64 then) also took the window's core, and
frames drawn meanwhile came late. torch's threads are set apart (``SessionSpec.torch_threads``)."""


def child_env(parent: dict[str, str]) -> dict[str, str]:
    """The child's environment: the window's, with numpy's BLAS held to one thread."""
    return {**parent, **dict.fromkeys(ONE_THREAD_BLAS, "1")}


_CHILD_CODE = (
    "import sys; sys.path.insert(0, sys.argv[3]); "
    "from snd_player.app.worker_process import child_entry; child_entry(int(sys.argv[1]), int(sys.argv[2]))"
)


def child_entry(cmd_fd: int, out_fd: int) -> None:
    """The child's entry point: its two pipe ends, then the init message, then :func:`_child_main`."""
    cmd, out = Connection(cmd_fd, writable=False), Connection(out_fd, readable=False)
    try:
        msg = cmd.recv()
    except EOFError:
        return
    if msg[0] == "init":
        _child_main(msg[1], msg[2], cmd, out)


def _child_main(
    spec: SessionSpec, projector: FeatureProjector | None, cmd: Connection, out: Connection
) -> None:
    """The child's whole life: rebuild the session, then serve commands and tick until told to stop."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a recording's dashboard needs fonts, no screen
    try:
        import torch

        from snd_player.core.stepper import Stepper
        from snd_player.media.record import session_recorder

        torch.set_num_threads(max(1, spec.torch_threads))
        if spec.trajectory is not None:  # the same replay as the window's copy: snd_player.core.trajectory
            from snd_player.core.trajectory import open_replay
            from trainer.agent import load_agent

            agent = load_agent(spec.checkpoint, device=spec.device)
            session = open_replay(agent, spec.trajectory, spec.checkpoint, greedy=spec.greedy)
        else:
            session = Session.from_checkpoint(
                spec.checkpoint, seed=spec.seed, greedy=spec.greedy, device=spec.device
            )
        session.keyframe_every = spec.keyframe_every  # step 0 is a keyframe for every interval
    except Exception as e:  # noqa: BLE001 - reported to the window as one line
        out.send(("fatal", f"{spec.checkpoint}: {type(e).__name__}: {e}"))
        return

    send_lock = threading.Lock()  # the saliency thread sends too, and a Connection is not thread-safe

    def send(kind: str):
        def sender(payload: Any) -> None:
            with send_lock:
                out.send((kind, payload))

        return sender

    stepper = Stepper(
        session,
        projector,
        on_batch=send("batch"),
        on_failed=send("failed"),
        on_state=send("state"),
        on_record=send("record"),
        open_recorder=session_recorder,
        on_saliency=send("saliency"),
    )
    out.send(("ready", None))
    stepper.emit_state()
    try:
        while True:
            due = stepper.interval()
            if cmd.poll(due):  # None: sleep until a command comes
                msg = cmd.recv()
                if msg[0] == "shutdown":
                    break
                if msg[0] == "ack":
                    stepper.ack()
                elif msg[0] == "cmd":
                    stepper.command(msg[1], msg[2])
                continue
            stepper.tick()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the window is gone
    finally:
        stepper.close()


class ProcessSessionWorker(QObject):
    """:class:`snd_player.app.worker.SessionWorker`'s interface, backed by a child process.

    ``session`` is the window's copy, kept for its facts (env, actions, rooms, metadata); the child plays
    its own copy. Seed and greedy setting are mirrored from the child's state reports."""

    batch_ready = pyqtSignal(object)  # StepBatch
    failed = pyqtSignal(str)
    state_changed = pyqtSignal(object)  # dict: playing, speed, greedy, seed, recording
    record_event = pyqtSignal(object)  # dict, see snd_player.core.stepper.Stepper
    saliency_ready = pyqtSignal(object)  # dict: episode, t, map, ms (snd_player.core.saliency_live)
    ready = pyqtSignal()

    JOIN_S = 5.0

    def __init__(self, session: Session, projector: FeatureProjector | None = None) -> None:
        super().__init__()
        self.session = session
        self.projector = projector
        self.spec = SessionSpec.of(session)
        self.playing = False
        self.speed = 1.0
        self.steps_total = 0
        self.inference_s = 0.0
        """Seconds the child spent in the networks for the steps handed over (from the batches)."""
        self._send_lock = threading.Lock()
        self._proc: Any = None
        self._cmd: Connection | None = None
        self._out: Connection | None = None
        self._notifier: QSocketNotifier | None = None
        self._early: list[tuple] = []  # commands sent before start() (queued in order)

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    # -- called from the GUI thread -----------------------------------------------------------------------
    def ack(self) -> None:
        """The window has taken a batch (thread-safe)."""
        self._send(("ack",))

    # -- slots, run in the worker thread ------------------------------------------------------------------
    @pyqtSlot()
    def start(self) -> None:
        cmd_r, cmd_w = os.pipe()
        out_r, out_w = os.pipe()
        _widen_pipe(out_w)
        root = str(Path(__file__).resolve().parents[2])  # where snd_player is, installed or not
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD_CODE, str(cmd_r), str(out_w), root],
            pass_fds=(cmd_r, out_w),
            env=child_env(os.environ),
        )
        os.close(cmd_r)
        os.close(out_w)  # so a dead child reads as end-of-file here
        cmd = Connection(cmd_w, readable=False)
        cmd.send(("init", self.spec, self.projector))
        out_r = Connection(out_r, writable=False)
        self._out = out_r
        self._notifier = QSocketNotifier(out_r.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._read)
        with self._send_lock:
            self._cmd = cmd
            early, self._early = self._early, []
            for msg in early:
                cmd.send(msg)

    @pyqtSlot()
    def shutdown(self) -> None:
        """Stop the child (asking first, then terminating) and close the pipes; called before the thread quits."""
        if self._notifier is not None:
            self._notifier.setEnabled(False)
        self._send(("shutdown",))
        if self._proc is not None:
            try:
                self._proc.wait(self.JOIN_S)
            except subprocess.TimeoutExpired:
                self._proc.terminate()
                self._proc.wait(self.JOIN_S)
        with self._send_lock:
            for c in (self._cmd, self._out):
                if c is not None:
                    c.close()
            self._cmd = self._out = None

    @pyqtSlot(str, object)
    def command(self, name: str, value: object = None) -> None:
        self._send(("cmd", name, value))

    # -- internals ----------------------------------------------------------------------------------------
    def _send(self, msg: tuple) -> None:
        with self._send_lock:
            if self._cmd is None:
                if self._proc is None:
                    self._early.append(msg)
                return
            try:
                self._cmd.send(msg)
            except (BrokenPipeError, OSError):
                pass  # the child is gone; _read reports it

    def _read(self) -> None:
        out = self._out
        try:
            while out is not None and out.poll():
                self._dispatch(out.recv())
        except (EOFError, OSError):
            if self._notifier is not None:
                self._notifier.setEnabled(False)
            self.playing = False
            self.failed.emit("the session process stopped unexpectedly; reopen the checkpoint")
            self.state_changed.emit(
                {
                    "playing": False,
                    "speed": self.speed,
                    "greedy": self.session.greedy,
                    "seed": self.session.seed,
                    "recording": False,
                }
            )

    def _dispatch(self, msg: tuple) -> None:
        kind, payload = msg
        if kind == "batch":
            self.steps_total += len(payload.records)
            self.inference_s += payload.inference_ms * len(payload.records) / 1000.0
            self.batch_ready.emit(payload)
        elif kind == "state":
            self.playing, self.speed = bool(payload["playing"]), float(payload["speed"])
            # the window reads seed and greedy from its copy of the session
            self.session.seed, self.session.greedy = int(payload["seed"]), bool(payload["greedy"])
            self.state_changed.emit(payload)
        elif kind == "failed":
            self.failed.emit(payload)
        elif kind == "record":
            self.record_event.emit(payload)
        elif kind == "saliency":
            self.saliency_ready.emit(payload)
        elif kind == "ready":
            self.ready.emit()
        elif kind == "fatal":
            self.failed.emit(payload)
