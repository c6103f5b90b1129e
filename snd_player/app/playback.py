"""Playback for the main window: the controls (play, pause, step, seek, speed, seed, view, bookmarks,
record), what the window does with the worker's batches (the play-out queue and the frame clock at max
speed), and drawing a step into every panel in one repaint. A base of
:class:`~snd_player.app.main_window.MainWindow`, which owns the widgets and the worker these methods use
(built by :class:`~snd_player.app.window_build.WindowBuild`)."""

from __future__ import annotations

import random
import time

from snd_player.app.widgets.game_view import VIEW_MODES
from snd_player.app.worker import SPEEDS, StepBatch
from snd_player.core.timeline import EpisodeTimeline

DRAW_FPS = 60
MIN_FRAME_S = 1 / DRAW_FPS - 0.003
"""Least time between two drawn frames: under 1/60 s, so a frame whose step arrives a little late, or whose
timer fires a little late, still comes within 1/60 s of the one before."""
PLAYOUT_FRAME_S = 0.016
"""At max speed, the frame clock's period: a frame every 16 ms (62.5 a second) while steps are queued."""
CLOCK_EARLY_S = 0.0015
"""The frame clock's timer is set this much early and the rest is slept: Qt's timers fire to the
millisecond, late by up to one, which alone put one frame interval in twenty over 16.7 ms."""
PLAYOUT_QUEUE = 4
"""At max speed, steps queued for display at most (older ones are skipped, as max speed skips steps
anyway). The queue shows the screen a step or two behind the worker (about 16-50 ms) so that a step that
comes late, because the worker's process was descheduled, does not leave a frame without a new step."""
PROJECTION_EVERY = 4
"""While playing, the point cloud is redrawn every this many frames (15 Hz at 60 frames/s): with a few
hundred points it costs 4-5 ms, half a frame, and a frame that carries it must still end within 16.7 ms.
The room map (a few times a second) is drawn on frames without it."""


def speed_label(s: float) -> str:
    return "max" if s == 0 else f"{s:g}x"


class Playback:
    """Controls, batches and drawing of the main window (see the module docstring)."""

    # -- controls -----------------------------------------------------------------------------------------
    def play(self, n: int | None = None) -> None:
        """Play on (n=None) or exactly n more steps then pause."""
        self._run_end = None if n is None else self.frames_total + n
        self.command.emit("play" if n is None else "run", n)

    def frames_left(self) -> int | None:
        """Steps still to come of a ``play(n)`` (None: no such run), so that a new session (follow mode)
        plays only the rest: ``--frames N --follow`` ends after N frames in all."""
        return None if self._run_end is None else max(0, self._run_end - self.frames_total)

    def pause(self) -> None:
        self._run_end = None
        self.command.emit("pause", None)

    def step(self) -> None:
        self.command.emit("step", None)

    def seek(self, t: int) -> None:
        if self.session is None or not self.session.seekable:
            self.statusBar().showMessage(
                "this env cannot restore its state, so the timeline cannot seek", 3000
            )
            return
        if 0 <= t < self.horizon:
            self.command.emit("seek", int(t))

    def set_speed(self, s: float) -> None:
        self.speed_box.setCurrentIndex(SPEEDS.index(s))

    def _speed_changed(self, i: int) -> None:
        self.command.emit("speed", SPEEDS[i])
        if SPEEDS[i] != 0.0:
            self._flush_playout()  # paced speeds show each step as it arrives

    def at_max_speed(self) -> bool:
        return SPEEDS[self.speed_box.currentIndex()] == 0.0

    def _bump_speed(self, d: int) -> None:
        i = min(max(self.speed_box.currentIndex() + d, 0), len(SPEEDS) - 1)
        self.speed_box.setCurrentIndex(i)

    def new_random_episode(self) -> None:
        """Shift+R: a new episode from a seed drawn here and shown in the seed box, so it can be replayed."""
        seed = random.randrange(2**31 - 1)
        self.seed_box.setValue(seed)
        self.statusBar().showMessage(f"new episode, seed {seed} (R replays it)", 5000)
        self.command.emit("seed", seed)

    def _seed_changed(self) -> None:
        if self.session is not None and self.seed_box.value() != self.session.seed:
            self.command.emit("seed", self.seed_box.value())

    def _greedy_toggled(self, checked: bool) -> None:
        self.greedy_box.setChecked(checked)

    def _greedy_box_toggled(self, checked: bool) -> None:
        self.act_greedy.setChecked(checked)
        self.command.emit("greedy", checked)

    def set_view_mode(self, mode: str) -> None:
        self.game.set_mode(mode)
        self.view_actions[mode].setChecked(True)
        if self.view_box.currentIndex() != VIEW_MODES.index(mode):
            self.view_box.setCurrentIndex(VIEW_MODES.index(mode))

    def _cycle_view(self) -> None:
        self.set_view_mode(VIEW_MODES[(VIEW_MODES.index(self.game.mode) + 1) % len(VIEW_MODES)])

    def jump_bookmark(self, direction: int) -> None:
        if self.timeline is None:
            return
        marks = [b.t for b in self.timeline.sorted_bookmarks()]
        if direction < 0:
            cands = [t for t in marks if t < self.cursor]
            target = cands[-1] if cands else None
        else:
            cands = [t for t in marks if self.cursor < t < self.horizon]
            target = cands[0] if cands else None
        if target is None:
            self.statusBar().showMessage("no bookmark that way", 2000)
            return
        self.seek(target)

    def _record(self) -> None:
        """Record video…: the dialog, then the worker records while the window follows and shows progress."""
        from snd_player.app.record_dialog import RecordDialog

        if self.session is None or self.worker is None:
            self.statusBar().showMessage("open a checkpoint first, then record it", 5000)
            return
        req = RecordDialog.ask(self, self.session, self.cursor)
        if req is None:
            return
        self.record_requested.emit(req.path)
        self._record_progress = RecordDialog.progress(
            self, req, lambda: self.command.emit("cancel_record", None)
        )
        self.command.emit("record", req)

    def _on_record_event(self, ev: dict) -> None:
        from snd_player.app.record_dialog import RecordDialog

        RecordDialog.on_event(self, getattr(self, "_record_progress", None), ev)

    # -- worker → window ----------------------------------------------------------------------------------
    def _on_batch(self, batch: StepBatch) -> None:
        """Store a batch's steps; show the newest now, or queue them for the frame clock at max speed.

        At max speed the worker hands over a step whenever one is done, about every 10-15 ms, but a step
        that comes late (its process descheduled for a moment) left the screen without a new frame for
        30 ms. There, the steps wait in a short queue (PLAYOUT_QUEUE) and a steady clock (PLAYOUT_FRAME_S)
        shows the next one each frame, so a late step costs the queue one step, not the screen a frame.
        Paused, seeking and at paced speeds (whose steps the worker times itself) the newest step is shown
        at once, as before; pausing shows the newest step the worker played."""
        if self.worker is not None:
            self.worker.worker.ack()
        if self.session is None or self.timeline is None or self.room_stats is None:
            return
        queue = self.playing and batch.playing and not batch.seek and self.at_max_speed()
        for rec in batch.records:
            if rec.episode != self.timeline.episode:
                if len(self.timeline):
                    self.room_stats.fold(self.timeline)
                self.timeline = EpisodeTimeline(rec.episode, self.session.heat_grid)
                self._playout.clear()  # the old episode's last steps are skipped, as max speed skips
            self.timeline.put(rec)
            if queue:
                self._playout.append((rec, len(self.timeline)))
        if len(self.timeline) > batch.horizon:
            self.timeline.truncate(batch.horizon)
        if batch.basis is not None:
            self.basis = batch.basis
        self._newest = (batch.records[-1], len(self.timeline))
        self.frames_received += len(batch.records)
        self.frames_total += len(batch.records)
        self._fps_steps += len(batch.records)
        self.inference_ms = batch.inference_ms
        if queue:
            while len(self._playout) > PLAYOUT_QUEUE:
                self._playout.popleft()
            if self._clock_due is None:
                self._idle_ticks = 0
                self._clock_due = time.perf_counter()
                self._clock_tick()  # the first queued step at once
            return
        self._stop_playout()
        self._show(*self._newest)

    def _put_on_screen(self, rec, horizon: int) -> None:
        """Make ``rec`` the step the next frame draws; the plots end at ``horizon`` steps."""
        self.last = rec
        self.cursor = rec.t
        self.horizon = min(horizon, len(self.timeline)) if self.timeline is not None else horizon
        self._dirty = True

    def _show(self, rec, horizon: int) -> None:
        """Make ``rec`` the step on screen and draw it (now, or MIN_FRAME_S after the last frame)."""
        self._put_on_screen(rec, horizon)
        self._schedule_draw()

    def _clock_tick(self) -> None:
        """At max speed: draw the next queued step at its due time, every PLAYOUT_FRAME_S; the clock
        stops after a quarter second without steps."""
        due = self._clock_due
        if due is None:
            return
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)  # at most CLOCK_EARLY_S and Qt's millisecond
        start = time.perf_counter()
        tl = self.timeline
        while self._playout and (tl is None or self._playout[0][0].t >= len(tl)):
            self._playout.popleft()  # truncated away by a seek meanwhile
        if self._playout and tl is not None:
            self._idle_ticks = 0
            self._put_on_screen(*self._playout.popleft())
            self.draw_timer.stop()
            self._draw()
        else:
            self._idle_ticks += 1
            if self._idle_ticks * PLAYOUT_FRAME_S > 0.25:
                self._stop_playout()
                return
        # a fixed cadence; after a frame that overran its period, the next comes MIN_FRAME_S after it
        now = time.perf_counter()
        self._clock_due = max(due + PLAYOUT_FRAME_S, start + MIN_FRAME_S, now)
        self.frame_clock.start(max(0, int((self._clock_due - now - CLOCK_EARLY_S) * 1000.0)))

    def _stop_playout(self) -> None:
        self._playout.clear()
        self.frame_clock.stop()
        self._clock_due = None

    def _flush_playout(self) -> None:
        """Leave max-speed play-out: show the newest step received, which is where the worker stands."""
        self._stop_playout()
        if self._newest is not None and self.timeline is not None and self._newest[0] is not self.last:
            if self._newest[0].t < len(self.timeline) and self._newest[0].episode == self.timeline.episode:
                self._show(*self._newest)

    def _on_worker_failed(self, msg: str) -> None:
        self.statusBar().showMessage(msg, 6000)

    def _on_worker_state(self, state: dict) -> None:
        self.playing = bool(state["playing"])
        if not self.playing or not self.at_max_speed():
            self._flush_playout()
        self.play_button.setText("❚❚ Pause" if self.playing else "▶ Play")
        driving = self.drive.active and not self.playing
        self.status_state.setText("◆ driving" if driving else "▶ playing" if self.playing else "❚❚ paused")

    # -- drawing ------------------------------------------------------------------------------------------
    def _schedule_draw(self) -> None:
        """Draw the step on screen now, or when MIN_FRAME_S has passed since the last frame.

        (A fixed 60 Hz timer drew only at its ticks: a step arriving just after a tick waited for the next,
        and a tick with nothing new left a 33 ms gap, so at max speed a frame in eight came late although
        the agent played more steps a second than the screen shows.)"""
        if self.draw_timer.isActive():
            return  # the pending frame will show this batch too
        wait_ms = (self._last_draw + MIN_FRAME_S - time.perf_counter()) * 1000.0
        self.draw_timer.start(max(0, int(wait_ms + 0.5)))

    def _draw(self) -> None:
        if not self._dirty or self.last is None or self.timeline is None:
            return
        self._dirty = False
        self._last_draw = time.perf_counter()
        self.draw_now()

    def _update_rates(self) -> None:
        now = time.perf_counter()
        if now - self._fps_t0 >= 1.0:
            dt = now - self._fps_t0
            self.draw_fps, self.steps_per_s = self._fps_draws / dt, self._fps_steps / dt
            self._fps_t0, self._fps_draws, self._fps_steps = now, 0, 0
            self._update_status()

    def draw_now(self) -> None:
        """Draw the step on screen into every panel (when a step arrives, or from the max-speed clock).

        While playing, the point cloud is redrawn every PROJECTION_EVERY frames (15 Hz) and the room map
        four times a second, on frames without the point cloud: one new point or one more step in a room
        moves them by less than a pixel, and they are the dearest panels to draw. Paused, everything is
        drawn at once.

        For the same reason, while playing at most one plot axis moves per frame, none on frames with the
        room map, and on point-cloud frames only the cloud's (``RescaleBudget``)."""
        rec, tl = self.last, self.timeline
        if rec is None or tl is None or self.room_stats is None:
            return
        now = time.perf_counter()
        cloud = not self.playing or self.frames_drawn % PROJECTION_EVERY == 0
        # while playing, the room map is drawn on frames without the point cloud (each costs a few ms)
        rooms = not self.playing or (now >= self._rooms_due and not cloud)
        self.rescale.left = None if not self.playing else 0 if cloud or rooms else 1
        self.saliency_view.before_draw(rec)  # the live saliency map to draw over the frame, or None
        self.game.show_record(rec)
        # the steps up to the one on screen: at max speed a few more may wait in the play-out queue
        self.intrinsic.update_from(tl, self.cursor, self.horizon)
        self.values.update_from(tl, self.cursor, self.horizon)
        self.policy.show_record(rec)
        if cloud:
            if self.playing:
                self.rescale.left = 1
            self.projection.update_from(tl, self.basis, self.cursor, self.horizon)
        self.slider.set_state(self.horizon, self.cursor, tl.sorted_bookmarks(), tl.driven_spans(self.horizon))
        if rooms:
            self._rooms_due = now + 0.25  # the room map and heat map change slowly: four times a second
            self.rooms.update_from(self.room_stats, tl, rec)
        self._update_live_status()
        self.frame_sync.end_frame(self._scenes)
        self.frames_drawn += 1
        self._fps_draws += 1

    def _update_status(self) -> None:
        if getattr(self, "loading", None) is not None:  # the loading line stays until the session is open
            return
        speed = speed_label(SPEEDS[self.speed_box.currentIndex()])
        rate = (
            f"draw {self.draw_fps:3.0f} fps · agent {self.steps_per_s:5.1f} steps/s"
            if self.playing
            else "paused"
        )
        self.status_fps.setText(f"{rate} · speed {speed} · networks {self.inference_ms:.1f} ms/step")
        self._update_live_status()

    def _update_live_status(self) -> None:
        """Status bar and timeline line for the record on screen, with every drawn frame (they lagged the
        overlay by up to a second when refreshed with the rates). Labels are only touched when their text
        changes (TextLine.setText), and the room count is cached per room-set size, so a frame costs a few
        string compares."""
        rec, tl = self.last, self.timeline
        if rec is None or tl is None:
            return
        self.status_episode.setText(f"episode {rec.episode + 1} · step {rec.t} / {self.horizon}")
        self.status_score.setText(f"score {rec.score:g}")
        if rec.level_seed >= 0:  # Procgen: levels, no rooms
            self.status_rooms.setText(f"level seed {rec.level_seed}")
        elif rec.room >= 0 and self.room_stats is not None:
            key = (id(tl), len(tl.room_steps), len(self.room_stats.steps), self.room_stats.episodes)
            if key != getattr(self, "_rooms_key", None):
                self._rooms_key = key
                ses = len([k for k in self.room_stats.visits(tl) if k[1] >= 0])
                self.status_rooms.setText(f"rooms {len(tl.rooms)} (session {ses})")
        else:
            self.status_rooms.setText("")
        peaks = sum(b.kind == "peak" for b in tl.bookmarks.values())  # a few dozen at most
        self.timeline_label.setText(
            f"episode {rec.episode + 1} · step {rec.t} of {self.horizon} · {peaks} r_int peaks · "
            f"{len(tl.bookmarks) - peaks} new rooms",
        )
