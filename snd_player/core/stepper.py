"""What the player's worker does, without Qt: play, pause, step, seek, reseed and record a session.

The same :class:`Stepper` runs in a ``QThread`` (:class:`snd_player.app.worker.SessionWorker`) or in a child
process (:mod:`snd_player.app.worker_process`): one code path, so a seek in the process is the seek the tests
check in the thread. The host calls :meth:`Stepper.command` for each command, :meth:`Stepper.tick` when
:meth:`Stepper.interval` says it is due, and :meth:`Stepper.ack` when the window has taken a batch; results
leave through three callbacks (batch, failure, state).

A simple credit scheme keeps the stepper at most ``MAX_IN_FLIGHT`` batches ahead of the window, so a busy
GUI slows the agent down instead of growing a queue.

Recording writes a video, which is the media layer's job: the host passes ``open_recorder`` (the app passes
:func:`snd_player.media.record.session_recorder`), so this module never imports Qt's painting.
"""

from __future__ import annotations

import copy
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from snd_player.core.projection import Basis, FeatureProjector
from snd_player.core.session import Session, SessionError, StepRecord

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


@dataclass(frozen=True)
class RecordRequest:
    """The window's Record dialog: what to record and where (``command("record", RecordRequest(...))``)."""

    path: str
    frames: int
    from_start: bool
    """Start at step 0 of the episode on screen (True) or at the step on screen (False)."""
    panels: bool
    """The dashboard (game frame and panels) or the bare game frame."""
    cursor: int
    """The step on screen when the dialog was accepted."""
    fps: float = 15.0
    saliency: str | None = None
    """Draw this output's saliency map over the game frame (``snd_player.core.saliency.TARGETS``), or None."""
    saliency_method: str = "gradxinput"
    saliency_opacity: float = 0.7


class Recorder(Protocol):
    """What a recording needs of a video writer (:class:`snd_player.media.record.VideoRecorder` is one)."""

    path: Path

    def add(self, rec: StepRecord) -> None: ...
    def continue_from(self, timeline: Any, rooms: Any) -> None: ...
    def close(self) -> Path: ...
    def abort(self) -> None: ...


OpenRecorder = Callable[[Session, Path, float, bool], Recorder]
"""``open_recorder(session, path, fps, panels)``: a writer for ``path``, with the dashboard when ``panels``."""

RECORD_PROGRESS_EVERY = 8
"""Frames between two progress reports of a recording."""


class Stepper:
    """Owns a session and its feature projector; see the module docstring for the host's duties."""

    MAX_IN_FLIGHT = 3
    MAX_BATCH_S = 1 / 120
    """At max speed, step for at most this long before handing a batch over: twice the draw rate, so the
    window gets something new for each of its 60 frames a second (a step alone takes ~10 ms on a CPU)."""

    def __init__(
        self,
        session: Session,
        projector: FeatureProjector | None,
        on_batch: Callable[[StepBatch], None],
        on_failed: Callable[[str], None],
        on_state: Callable[[dict], None],
        on_record: Callable[[dict], None] | None = None,
        open_recorder: OpenRecorder | None = None,
        on_saliency: Callable[[dict], None] | None = None,
    ) -> None:
        self.session = session
        self.projector = projector or FeatureProjector()
        self._on_batch, self._on_failed, self._on_state = on_batch, on_failed, on_state
        self._on_record = on_record or (lambda _msg: None)
        self._open_recorder = open_recorder
        self.playing = False
        self.speed = 1.0
        self._anchor = 0.0
        self._played_since_anchor = 0
        self._pending_seek: int | None = None
        self._pending_steps = 0
        self._pending_acts: list[int] = []  # a person's actions (drive mode), taken one per tick in order
        self._remaining: int | None = None  # steps left of a "run" command, None = unbounded
        self._lock = threading.Lock()
        self._in_flight = 0
        self.steps_total = 0
        self._recording: Any = None  # (VideoRecorder, RecordRequest, frames done) while a recording runs
        self._on_saliency = on_saliency or (lambda _msg: None)
        self.saliency: Any = None
        """The live overlay's :class:`snd_player.core.saliency_live.LiveSaliency`, made when first turned on."""
        self._last_rec: StepRecord | None = None  # the newest record handed over: the one on screen when paused

    # -- host → stepper -----------------------------------------------------------------------------------
    def ack(self) -> None:
        """The window has taken a batch (thread-safe)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

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
                self._pending_acts.clear()  # keys pressed before the jump belong to where the user was
            elif name == "act":
                self._set_playing(False)  # a person drives: the agent waits
                self._pending_acts.append(int(value))
            elif name == "save_trajectory":
                self._save_trajectory(str(value))
            elif name == "reset":
                self._pending_acts.clear()
                s.reset(seed=None if value is None else int(value))
                self._pending_steps += 1  # show the first frame of the new episode
            elif name == "speed":
                self.speed = float(value)
                self._reanchor()
            elif name == "greedy":
                s.set_greedy(bool(value))
            elif name == "seed":
                self._pending_acts.clear()
                s.reset(seed=int(value))
                self._pending_steps += 1
            elif name == "record":
                self._start_recording(value)
            elif name == "cancel_record":
                self._finish_recording(cancelled=True)
            elif name == "saliency":
                self._set_saliency(value)
            else:
                raise ValueError(f"unknown worker command {name!r}")
        except (SessionError, ValueError, OSError) as e:  # TrajectoryError is a ValueError
            self._on_failed(str(e))
        self.emit_state()

    def interval(self) -> float | None:
        """Seconds until the next tick is due; None when there is nothing to do until a command comes."""
        if self._recording is not None:
            return 0.0
        busy = self.playing or self._pending_steps or self._pending_acts or self._pending_seek is not None
        if not busy:
            return None
        with self._lock:
            if self._in_flight >= self.MAX_IN_FLIGHT:
                return 0.002  # wait for the window without spinning: it needs the CPU to catch up
        # max speed: whenever idle; paced: when the next step falls due; a pending step or seek: now
        if self.playing and self.speed == 0:
            return 0.0
        if self.playing and not (self._pending_steps or self._pending_acts or self._pending_seek is not None):
            # sleep to the step's due time, not a poll interval: polling every quarter step handed steps
            # over up to 4 ms late at 4x, and the window drew a frame in six late for it
            return max(0.0005, self.next_due() - time.perf_counter())
        return 0.001

    def next_due(self) -> float:
        """``time.perf_counter()`` at which the next paced step falls due."""
        rate = REAL_TIME_STEPS_PER_S * max(self.speed, 1e-9)
        return self._anchor + (self._played_since_anchor + 1) / rate

    def emit_state(self) -> None:
        s = self.session
        self._on_state(
            {
                "playing": self.playing,
                "speed": self.speed,
                "greedy": s.greedy,
                "seed": s.seed,
                "recording": self._recording is not None,
            }
        )

    def close(self) -> None:
        self.playing = False
        self._finish_recording(cancelled=True)
        if self.saliency is not None:
            self.saliency.close()
        self.session.close()

    def _set_saliency(self, value: object) -> None:
        """``command("saliency", (target, method))`` turns the live overlay on (and maps the record on
        screen at once), ``command("saliency", None)`` off. Raises SaliencyError (a ValueError, one line)."""
        if value is None:
            if self.saliency is not None:
                self.saliency.set(None)
            return
        target, method = value  # type: ignore[misc]
        if self.saliency is None:
            from snd_player.core.saliency_live import LiveSaliency, agent_of

            self.saliency = LiveSaliency(agent_of(self.session), self._on_saliency, self._on_failed)
        self.saliency.set(str(target), str(method))
        if self._last_rec is not None:
            self.saliency.submit(self._last_rec)

    # -- internals ----------------------------------------------------------------------------------------
    def _set_playing(self, playing: bool) -> None:
        if playing and not self.playing:
            self._reanchor()
        self.playing = playing

    def _reanchor(self) -> None:
        self._anchor = time.perf_counter()
        self._played_since_anchor = 0

    def _due_steps(self) -> int:
        rate = REAL_TIME_STEPS_PER_S * self.speed
        # + 1e-6: woken at next_due() exactly, rounding must not leave the step undue
        due = int((time.perf_counter() - self._anchor) * rate + 1e-6) - self._played_since_anchor
        if due > 4:  # fell behind (a slow machine or a busy GUI): catch up gently, not in a burst
            self._reanchor()
            due = 1
        return due

    def tick(self) -> None:
        """Do what is due: a recording frame, a seek, a single step, or a batch of playing."""
        if self._recording is not None:
            self._record_tick()
            return
        with self._lock:
            if self._in_flight >= self.MAX_IN_FLIGHT:
                return
        s = self.session
        records: list[StepRecord] = []
        seek = False
        inf0 = s.inference_s
        try:
            if self._pending_seek is not None:
                target, self._pending_seek = self._pending_seek, None
                records.append(s.seek(target))
                seek = True
            elif self._pending_acts:
                records.append(s.step(self._pending_acts.pop(0)))
            elif self._pending_steps:
                self._pending_steps -= 1
                records.append(s.step())
            elif self.playing:
                budget = self._remaining if self._remaining is not None else 1 << 30
                # a trajectory replay stops at the file's end, once (a session stand-in may have no script)
                scripted = getattr(s, "script_left", None)
                if scripted:
                    budget = min(budget, scripted)
                if self.speed == 0:
                    t0 = time.perf_counter()
                    t_end = t0 + self.MAX_BATCH_S
                    while len(records) < budget:
                        records.append(s.step())
                        now = time.perf_counter()
                        # stop when one more step would end past the deadline, not once past it: a step of
                        # 7 ms made batches of two, 14 ms apart, and a frame in ten waited past 1/60 s
                        if now + (now - t0) / len(records) >= t_end or records[-1].done:
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
                        self.emit_state()
                if scripted and s.script_left == 0 and self.playing:
                    self._set_playing(False)
                    self._on_failed(
                        f"end of the trajectory after {s.t} steps: paused; Play hands the game to the agent"
                    )
                    self.emit_state()
        except SessionError as e:
            self._on_failed(str(e))
        except Exception as e:  # noqa: BLE001 - an env or network failure must not kill the worker silently
            self._set_playing(False)
            traceback.print_exc()
            self._on_failed(f"{type(e).__name__}: {e}")
            self.emit_state()
        self._hand_over(records, seek, inf0)

    def _save_trajectory(self, path: str) -> None:
        """File → Save trajectory: the episode so far (steps 0..t-1, with who chose each action) as a
        trajectory file; the outcome is reported as one line through ``on_failed`` (the status bar)."""
        from snd_player.core.trajectory import Trajectory, save

        s = self.session
        traj = Trajectory.from_session(s, s.played_choosers)
        saved = save(Path(path), traj)
        driven = sum(c == "human" for c in traj.chooser)
        self._on_failed(f"saved {saved}: {len(traj)} steps, {driven} driven")

    def _hand_over(self, records: list[StepRecord], seek: bool, inf0: float) -> None:
        if not records:
            return
        s = self.session
        basis: Basis | None = None
        for rec in records:
            b = self.projector.add(rec.features)
            if b is not None:
                basis = b
        self.steps_total += len(records)
        self._last_rec = records[-1]
        with self._lock:
            self._in_flight += 1
        self._on_batch(
            StepBatch(
                records=tuple(records),
                horizon=s.horizon,
                seek=seek,
                basis=basis,
                playing=self.playing,
                inference_ms=1000.0 * (s.inference_s - inf0) / len(records),
            )
        )
        if self.saliency is not None and self.saliency.active:
            # after the batch, so its map always reaches the window after the record it belongs to
            self.saliency.submit(records[-1])  # the newest step; one still waiting is skipped

    # -- recording ----------------------------------------------------------------------------------------
    def _start_recording(self, req: object) -> None:
        """Open the video and move the session to the first step to record; frames follow in ``tick``."""
        if not isinstance(req, RecordRequest):
            raise ValueError("record needs a RecordRequest")
        if req.frames < 1:
            raise ValueError(f"record at least one frame, got {req.frames}")
        if self._open_recorder is None:
            raise ValueError("this player cannot record: it was started without a video writer")
        self._finish_recording(cancelled=True)
        self._set_playing(False)
        if req.saliency is not None:  # as ``snd-player record --saliency``: the map over each frame
            from snd_player.core.saliency import SaliencyOverlay
            from snd_player.core.saliency_live import agent_of

            frame_fn = SaliencyOverlay(
                agent_of(self.session), req.saliency, req.saliency_method, req.saliency_opacity
            )
            recorder = self._open_recorder(
                self.session, Path(req.path), req.fps, req.panels, frame_fn=frame_fn
            )  # type: ignore[call-arg]
        else:
            recorder = self._open_recorder(self.session, Path(req.path), req.fps, req.panels)
        s = self.session
        start = 0 if req.from_start else req.cursor
        first: StepRecord | None = None
        inf0 = s.inference_s
        if s.seekable and 0 <= start < s.horizon:
            first = s.seek(start)  # exactly the step that was (or would be) on screen
        elif req.from_start:
            s.reset(seed=s.seed)  # cannot seek: the same episode from its seed
        if req.panels:  # the episode so far and the session's rooms, as the window shows them
            known = copy.deepcopy(s.timeline)
            known.truncate(s.t if first is None else first.t)
            recorder.continue_from(known, copy.deepcopy(s.rooms))
        self._recording = [recorder, req, 0]
        self._on_record({"event": "started", "path": str(recorder.path), "total": req.frames})
        if first is not None:
            self._record_frame(first, seek=True, inf0=inf0)

    def _record_frame(self, rec: StepRecord, seek: bool, inf0: float) -> None:
        recorder, req, done = self._recording
        recorder.add(rec)
        done += 1
        self._recording[2] = done
        # the window follows the recording, so what it shows is what the video holds
        self._hand_over([rec], seek, inf0)
        if done % RECORD_PROGRESS_EVERY == 0 or done == req.frames:
            self._on_record({"event": "progress", "done": done, "total": req.frames})
        if done >= req.frames:
            self._finish_recording(cancelled=False)

    def _record_tick(self) -> None:
        with self._lock:
            if self._in_flight >= self.MAX_IN_FLIGHT:
                return
        s = self.session
        inf0 = s.inference_s
        try:
            self._record_frame(s.step(), seek=False, inf0=inf0)
        except Exception as e:  # noqa: BLE001 - a failed recording is reported, the session plays on
            self._finish_recording(cancelled=True, error=f"{type(e).__name__}: {e}")

    def _finish_recording(self, cancelled: bool, error: str = "") -> None:
        if self._recording is None:
            return
        recorder, req, done = self._recording
        self._recording = None
        path = ""
        if cancelled:
            recorder.abort()
        else:
            try:
                path = str(recorder.close())
            except Exception as e:  # noqa: BLE001 - e.g. a full disk: say so, keep playing
                error = f"{type(e).__name__}: {e}"
        self._on_record(
            {"event": "finished", "path": path, "done": done, "cancelled": cancelled, "error": error}
        )
        self.emit_state()
