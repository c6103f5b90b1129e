"""How the player turns steps into frames (issue 12, 60 FPS): one repaint of the window per frame, no
relayout for a new step's text, a frame as soon as a step arrives (but no closer than MIN_FRAME_S to the
last), and a worker that hands steps over before they are due to be drawn.

No test here times the machine; they count events, read scheduled timer intervals, or fake slow steps. The
figures themselves come from ``scripts/bench_player.py``."""

from __future__ import annotations

import sys
import time
import types

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PyQt6.QtCore import QEvent, QObject  # noqa: E402
from PyQt6.QtWidgets import QApplication, QWidget  # noqa: E402

from snd_player.app import main_window as mw  # noqa: E402
from snd_player.app.worker import StepBatch  # noqa: E402
from snd_player.core.stepper import REAL_TIME_STEPS_PER_S, Stepper  # noqa: E402
from tests.test_player import WAIT_MS, play_and_wait  # noqa: E402
from tests.test_player_polish import settle, window  # noqa: E402, F401 - fixture
from tests.test_session import tiny_agent, tiny_checkpoint  # noqa: E402, F401 - fixtures


class _Events(QObject):
    """Counts UpdateRequests sent to the window (held back ones too) and LayoutRequests of its widgets."""

    def __init__(self, win: QWidget) -> None:
        super().__init__()
        self.win = win
        self.updates = 0
        self.layouts: list[str] = []

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt name
        t = ev.type()
        if t == QEvent.Type.UpdateRequest and obj is self.win:
            self.updates += 1
        elif t == QEvent.Type.LayoutRequest and isinstance(obj, QWidget):
            if obj is self.win or self.win.isAncestorOf(obj):
                self.layouts.append(type(obj).__name__)
        return False


def test_a_step_repaints_the_window_once_and_never_relays_it_out(qtbot, window):  # noqa: F811 - fixture
    """QLabels in the status bar, the timeline line and the policy title re-laid out the window for every
    step's new text, and each plot's scene synced the whole window on its own: 4-5 repaints a frame."""
    play_and_wait(qtbot, window, 30)  # two-digit step counts: the text lines have grown to them
    settle(qtbot, window)
    window.set_speed(4.0)
    window.play()
    qtbot.waitUntil(lambda: window.frames_received >= 33, timeout=WAIT_MS)  # playing: Play became Pause
    events = _Events(window)
    app = QApplication.instance()
    app.installEventFilter(events)
    try:
        drawn0, got0, syncs0 = window.frames_drawn, window.frames_received, window.frame_sync.syncs
        qtbot.waitUntil(lambda: window.frames_received >= got0 + 20, timeout=WAIT_MS)
        frames = window.frames_drawn - drawn0
        qtbot.wait(30)  # the last frame's repaint
        syncs = window.frame_sync.syncs - syncs0
    finally:
        app.removeEventFilter(events)
        window.pause()
    assert frames >= 5  # frames were drawn on the way (a loaded machine may merge a few steps)
    # the update requests that reach the window (FrameSync holds back those the scenes' passes dispatch
    # during a frame and posts one for them all)
    assert syncs <= frames + 3, (syncs, frames)
    # a counter gaining a digit may ask for room once; a new text per step must not
    assert len(events.layouts) <= 3, events.layouts
    assert window.status_episode.text().startswith(f"episode 1 · step {window.last.t} / ")
    assert window.timeline_label.text().startswith(f"episode 1 · step {window.last.t} of ")


def test_a_batch_is_drawn_at_once_and_frames_keep_min_frame_apart(qtbot, window):  # noqa: F811 - fixture
    play_and_wait(qtbot, window, 5)
    settle(qtbot, window)
    rec = window.last
    batch = StepBatch(
        records=(rec,), horizon=window.horizon, seek=False, basis=None, playing=False, inference_ms=0.0
    )
    drawn = window.frames_drawn
    window._last_draw = time.perf_counter() - 1.0  # the last frame was long ago
    window._on_batch(batch)
    # drawn now, not at the next tick of a 60 Hz timer (which left a step waiting up to 16 ms)
    assert window.draw_timer.isActive() and window.draw_timer.interval() == 0
    qtbot.waitUntil(lambda: window.frames_drawn == drawn + 1, timeout=WAIT_MS)
    window._last_draw = time.perf_counter()  # as if a frame had just been drawn
    window._on_batch(batch)
    window._on_batch(batch)
    wait_ms = window.draw_timer.interval()
    assert window.draw_timer.isActive() and mw.MIN_FRAME_S * 1000 - 2 <= wait_ms <= mw.MIN_FRAME_S * 1000 + 1
    qtbot.waitUntil(lambda: window.frames_drawn == drawn + 2, timeout=WAIT_MS)
    qtbot.wait(60)
    assert window.frames_drawn == drawn + 2  # both batches in one frame
    assert 1 / mw.MIN_FRAME_S > 60  # a late frame still makes 60 a second


def test_frames_at_max_speed_are_never_closer_than_min_frame(qtbot, window):  # noqa: F811 - fixture
    starts: list[float] = []
    inner = window.draw_now

    def timed() -> None:
        starts.append(time.perf_counter())
        inner()

    window.draw_now = timed  # how scripts/bench_player.py times frames
    window.set_speed(0.0)
    window.play(60)
    qtbot.waitUntil(lambda: not window.playing and window.frames_received >= 60, timeout=WAIT_MS)
    qtbot.wait(50)
    window.draw_now = inner
    gaps = np.diff(starts)
    assert len(starts) >= 3
    assert gaps.min() >= mw.MIN_FRAME_S - 0.001  # the timer is set in whole ms, rounded


# -- the stepper: what it hands over, and when ---------------------------------------------------------------
class _SlowSession:
    """A session whose step takes ``step_s`` of wall time (sleeping, so a loaded machine only lengthens it)."""

    def __init__(self, step_s: float) -> None:
        self.step_s = step_s
        self.inference_s = 0.0
        self.horizon = 0
        self.greedy, self.seed = False, 0
        self.t = 0

    def step(self):
        time.sleep(self.step_s)
        self.t += 1
        self.horizon = self.t
        return types.SimpleNamespace(t=self.t - 1, done=False, features=np.zeros(0, np.float32))

    def close(self) -> None:
        pass


def _stepper(session) -> tuple[Stepper, list]:
    batches: list = []
    st = Stepper(session, None, on_batch=batches.append, on_failed=pytest.fail, on_state=lambda _s: None)
    return st, batches


def test_max_speed_hands_a_step_over_when_another_would_miss_the_batch_deadline():
    """Steps of 6 ms against a 1/120 s batch budget: the old loop took a second step (ending at 12 ms), so
    batches came 12 ms apart; now each step goes over alone."""
    st, batches = _stepper(_SlowSession(0.006))
    st.command("speed", 0.0)
    st.command("play")
    for _ in range(3):
        st.tick()
        st.ack()
    assert [len(b.records) for b in batches] == [1, 1, 1]
    fast, fast_batches = _stepper(_SlowSession(0.0))
    fast.command("speed", 0.0)
    fast.command("play")
    fast.tick()
    assert len(fast_batches[0].records) > 1  # cheap steps are still batched


def test_paced_play_sleeps_until_the_next_step_is_due():
    """At 4x a step is due every 1/60 s; the old stepper polled every quarter step (4 ms) instead."""
    st, batches = _stepper(_SlowSession(0.0))
    st.command("speed", 4.0)
    st.command("play")
    period = 1 / (REAL_TIME_STEPS_PER_S * 4.0)
    first = st.interval()
    assert period - 0.003 < first <= period
    time.sleep(first)
    st.tick()
    assert [len(b.records) for b in batches] == [1]  # woken at the due time, the step is due (no rounding)
    assert st.interval() > period / 2  # and the next one is a step away, not a poll away


# -- the game overlay ---------------------------------------------------------------------------------------
def test_overlay_wraps_at_its_separators_when_the_view_is_narrow(qtbot, window):  # noqa: F811 - fixture
    play_and_wait(qtbot, window, 3)
    settle(qtbot, window)
    from snd_player.app.widgets.game_view import GameView

    view = GameView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    view.show_record(window.last)
    ov = view.overlay
    assert ov.lines() == [ov.text()] and ov.text().endswith(f"step {window.last.t}")
    assert ov.geometry().right() < view.width() and ov.geometry().bottom() < view.height()
    view.resize(150, 300)
    qtbot.wait(20)
    assert len(ov.lines()) > 1 and " · ".join(ov.lines()) == ov.text()
    assert ov.width() <= 150 - 16 and ov.lines()[-1].endswith(f"step {window.last.t}")
    assert ov.geometry().bottom() < view.height()


# -- the value plot's stars -----------------------------------------------------------------------------------
def test_reward_stars_are_set_only_when_the_starred_steps_change(qtbot, window):  # noqa: F811 - fixture
    from snd_player.core.timeline import EpisodeTimeline, HeatGrid

    plot = window.values
    calls: list[int] = []
    orig = plot.rewards.setData
    plot.rewards.setData = lambda *a, **k: (calls.append(len(a[0]) if a else 0), orig(*a, **k))[1]
    base = dict(
        r_int=0.0, int_error=0.0, r_ext=0.0, v_int=0.0, entropy=0.0, score=0.0, action=0, level=-1, room=-1,
        x=-1, y=-1, lives=-1, done=False, features=np.zeros(0, np.float32),
    )  # fmt: skip

    def timeline(episode: int, n: int, v: float) -> EpisodeTimeline:
        tl = EpisodeTimeline(episode, HeatGrid(0, 8, 0, 8, 1))
        for t in range(n):
            tl.put(types.SimpleNamespace(**base, t=t, v_ext=v, raw_reward=1.0 if t == 3 else 0.0))
        return tl

    tl = timeline(0, 10, 0.5)
    plot.update_from(tl, 9)
    assert calls == [1]
    tl.put(types.SimpleNamespace(**base, t=10, v_ext=0.5, raw_reward=0.0))
    plot.update_from(tl, 10)
    assert calls == [1]  # one more step, the same starred step: nothing re-set
    tl.put(types.SimpleNamespace(**base, t=11, v_ext=0.5, raw_reward=2.0))
    plot.update_from(tl, 11)
    assert calls == [1, 2]
    other = timeline(1, 8, -1.0)  # a new episode with a star at the same step but another value
    plot.update_from(other, 7)
    assert calls == [1, 2, 1] and plot.rewards.data["y"][0] == pytest.approx(-1.0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe capacity is a Linux fcntl")
def test_the_child_pipe_holds_a_whole_batch(qtbot, tmp_path, tiny_agent, tiny_checkpoint):  # noqa: F811
    import fcntl

    from PyQt6.QtCore import QSettings

    from snd_player.app.main_window import MainWindow
    from snd_player.app.worker_process import PIPE_BYTES
    from tests.test_session import make_session

    win = MainWindow(
        settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), session_process=True
    )
    qtbot.addWidget(win)
    win.set_session(make_session(tiny_agent, tiny_checkpoint, seed=1), autoplay=False)
    try:
        w = win.worker.worker
        assert win.worker.thread is None  # the window's thread reads the pipe: no second Python thread
        size = fcntl.fcntl(w._out.fileno(), fcntl.F_GETPIPE_SZ)
        assert size >= min(PIPE_BYTES, int(open("/proc/sys/fs/pipe-max-size").read()))
        assert size > 3 * 210 * 160 * 3  # a few Atari frames, where the default 64 KB held none whole
        # numpy's BLAS in the child keeps to one thread: its refits took the window's core as well
        env = dict(
            kv.split(b"=", 1) for kv in open(f"/proc/{w.pid}/environ", "rb").read().split(b"\0") if b"=" in kv
        )
        assert env[b"OPENBLAS_NUM_THREADS"] == b"1" and env[b"MKL_NUM_THREADS"] == b"1"
    finally:
        win.close()



def test_batches_a_stopped_worker_queued_go_to_its_own_session(qtbot, window, tiny_agent, tiny_checkpoint):  # noqa: F811
    """Following a run, the old worker's last batches (queued before it stopped) arrived after the switch
    and went into the new session's empty timeline: "cannot put step 8" (a CI failure of this stop)."""
    import threading

    from tests.test_session import make_session

    old = window.worker.worker
    sent: list = []
    old.batch_ready.connect(sent.append)
    play_and_wait(qtbot, window, 6)
    late = StepBatch(
        records=(sent[-1].records[-1],), horizon=6, seek=True, basis=None, playing=False, inference_ms=0.0
    )
    t = threading.Thread(target=old.batch_ready.emit, args=(late,))  # another thread: a queued delivery
    t.start()
    t.join()
    window.set_session(make_session(tiny_agent, tiny_checkpoint, seed=5), autoplay=False)
    got = window.frames_received
    qtbot.wait(50)  # whatever was still queued is delivered now
    assert window.frames_received == got and len(window.timeline) == 0
    window.step()
    qtbot.waitUntil(lambda: window.frames_received == got + 1, timeout=WAIT_MS)
    assert window.last.t == 0 and len(window.timeline) == 1


# -- strips, not plots: what one more step repaints --------------------------------------------------------------
def _synthetic(n: int, episode: int = 0):
    """An episode timeline of n steps whose values wander and grow, so ranges move now and then."""
    from snd_player.core.timeline import EpisodeTimeline, HeatGrid

    tl = EpisodeTimeline(episode, HeatGrid(0, 8, 0, 8, 1))
    for t in range(n):
        tl.put(_record(t))
    return tl


def _record(t: int):
    w = 1.0 + t / 150.0
    return types.SimpleNamespace(
        t=t, r_int=abs(np.sin(t / 7.0)) * w, int_error=abs(np.cos(t / 5.0)) * w, r_ext=0.0,
        v_ext=np.sin(t / 11.0) * w, v_int=np.cos(t / 13.0) * w, entropy=0.0, score=0.0, action=0,
        level=0, room=1 if t < 300 else 2, x=-1, y=-1, lives=-1, done=False, raw_reward=0.0,
        features=np.zeros(0, np.float32),
    )  # fmt: skip


class _Paints(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.rects: dict[str, list] = {}

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt name
        if ev.type() == QEvent.Type.Paint:
            self.rects.setdefault(obj.objectName(), []).append(ev.region().boundingRect())
        return False


def _draw_plots(win, tl, n: int) -> None:
    win.intrinsic.update_from(tl, n - 1, n)
    win.values.update_from(tl, n - 1, n)
    win.frame_sync.end_frame(win._scenes)
    QApplication.processEvents()  # the frame's one sync


def test_one_more_step_repaints_a_strip_of_each_time_plot_not_the_plot(qtbot, window):  # noqa: F811
    """A PlotDataItem's setData announced a new bounding rectangle, and the scenes' ``changed`` listener
    (the old one-sync-per-frame fix) made Qt repaint every dirty item's whole rectangle: one more step
    repainted the whole plot, grid, legend and all, 60 times a second."""
    settle(qtbot, window)
    tl = _synthetic(60)
    _draw_plots(window, tl, 40)
    qtbot.wait(20)
    paints = _Paints()
    vps = {"intrinsic": window.intrinsic.viewport(), "values": window.values.viewport()}
    for name, vp in vps.items():
        vp.setObjectName(name)
        vp.installEventFilter(paints)
    try:
        _draw_plots(window, tl, 41)  # one more step, inside the plots' ranges
    finally:
        for vp in vps.values():
            vp.removeEventFilter(paints)
    for name, vp in vps.items():
        assert paints.rects.get(name), f"{name} was not repainted"
        widest = max(r.width() for r in paints.rects[name])
        assert vp.width() > 400 and widest <= 40, (name, widest, vp.width())
    assert window.intrinsic.reward.strips > 0


def _pixels(image) -> np.ndarray:
    from PyQt6.QtGui import QImage

    img = image.convertToFormat(QImage.Format.Format_RGB32)
    bits = img.constBits()
    bits.setsize(img.sizeInBytes())
    a = np.frombuffer(bits, np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)
    return a[:, : img.width(), :3].copy()


def test_strip_repaints_leave_what_a_full_repaint_draws(qtbot, window):  # noqa: F811 - fixture
    """Grown one step per frame across x-range steps (256, 512) and y ranges that widen, the window's
    backing store must hold exactly what painting each plot afresh draws: no stale tick label, no seam."""
    from PyQt6.QtCore import QPoint

    settle(qtbot, window)
    tl = _synthetic(600)
    for n in range(1, 601):
        _draw_plots(window, tl, n)
    qtbot.wait(30)
    QApplication.processEvents()
    screen = _pixels(QApplication.primaryScreen().grabWindow(window.winId()).toImage())
    for plot in (window.intrinsic, window.values):
        vp = plot.viewport()
        at = vp.mapTo(window, QPoint(0, 0))
        shown = screen[at.y() : at.y() + vp.height(), at.x() : at.x() + vp.width()]
        fresh = _pixels(vp.grab().toImage())
        differ = np.any(shown != fresh, axis=2)
        assert shown.shape == fresh.shape and not differ.any(), (type(plot).__name__, int(differ.sum()))
    assert window.values.plot.vb.viewRange()[0][1] >= 600  # the x range did move on the way


# -- max speed: a short queue and a steady clock ---------------------------------------------------------------
def test_max_speed_shows_queued_steps_one_per_frame_and_pause_shows_the_newest(qtbot, window):  # noqa: F811
    """At max speed a frame was drawn when a step arrived, so a step that came late (the worker's process
    descheduled) left a frame interval of 30 ms. Now steps wait in a short queue and a steady clock draws
    the next one each frame; pausing shows the newest step the worker played."""
    import dataclasses

    play_and_wait(qtbot, window, 12)
    settle(qtbot, window)
    proto = window.last
    shown: list[int] = []
    inner = window.draw_now

    def spy() -> None:
        shown.append(window.last.t)
        inner()

    window.draw_now = spy
    window.playing = True  # as the worker's state says while it plays

    def batch(ts: range) -> StepBatch:
        recs = tuple(dataclasses.replace(proto, t=t) for t in ts)
        return StepBatch(records=recs, horizon=ts[-1] + 1, seek=False, basis=None, playing=True, inference_ms=0)

    try:
        window._on_batch(batch(range(12, 18)))  # six steps at once: the two oldest are skipped
        assert shown == [14]  # the first kept one is drawn at once
        assert [r.t for r, _ in window._playout] == [15, 16, 17]
        assert window.horizon == 15 and len(window.timeline) == 18
        assert len(window.values.v_ext.xData) == 15  # the plots end at the step on screen
        due_in = window._clock_due - time.perf_counter()
        assert window.frame_clock.isActive() and due_in <= mw.PLAYOUT_FRAME_S  # (> 0 unless descheduled)
        qtbot.waitUntil(lambda: shown[-1] == 17, timeout=WAIT_MS)
        assert shown == [14, 15, 16, 17]  # one step per frame, none twice, none skipped
        window._on_batch(batch(range(18, 21)))  # the clock still runs: its next tick shows 18
        # (not `shown[-1] == 18`: on a loaded machine two ticks can pass between waitUntil's polls, and the
        # screen is at 19 or 20 by the time it looks, which once failed CI after 60 s of waiting)
        qtbot.waitUntil(lambda: len(shown) > 4, timeout=WAIT_MS)
        assert shown[:5] == [14, 15, 16, 17, 18]
        window._on_worker_state({"playing": False})
        qtbot.waitUntil(lambda: shown[-1] == 20, timeout=WAIT_MS)  # paused: the newest, at once
        assert shown == sorted(set(shown)) and shown[-1] == 20  # none twice, none after the newest
        assert not window._playout and not window.frame_clock.isActive()
        assert window.horizon == 21 and len(window.values.v_ext.xData) == 21
    finally:
        window.draw_now = inner
        window.playing = False


# -- axes: at most one moves per frame while playing ---------------------------------------------------------
def test_sticky_range_waits_for_budget_and_a_refit_keeps_a_range_it_still_fills():
    from snd_player.app.widgets.plots import RescaleBudget, StickyRange

    rng, none = StickyRange(headroom=0.5), RescaleBudget()
    none.left = 0
    assert rng.update(np.array([0.0, 1.0])) == (-0.5, 1.5)  # span 1, half of it on each side
    assert rng.update(np.array([0.0, 2.0]), none) is None and rng.waiting  # refused: tried next frame
    assert (rng.lo, rng.hi) == (-0.5, 1.5)
    assert rng.update(np.array([0.0, 2.0])) == (-1.0, 3.0) and not rng.waiting
    # a refit (the same points projected anew) keeps the axes while the points span >= 40 % of them
    assert rng.refit(np.array([-0.5, 1.5])) is None  # span 2 of 4
    assert rng.refit(np.array([0.0, 1.0])) == (-0.5, 1.5)  # span 1 of 4: afresh


def test_an_axis_move_refused_in_one_frame_is_made_in_the_next_even_without_a_new_step(qtbot, window):  # noqa: F811
    settle(qtbot, window)
    plot, tl = window.values, _synthetic(300)
    window.rescale.left = None
    plot.update_from(tl, 9, 10)
    hi0 = plot.right_view.viewRange()[1][1]
    window.rescale.left = 0  # a frame with no axis budget (the point cloud's, say)
    plot.update_from(tl, 199, 200)  # v_int has grown past the range
    assert plot.right_view.viewRange()[1][1] == hi0 and plot.range_int.waiting
    assert plot.plot.vb.viewRange()[0][1] == 256  # x stays too: 200 steps fit in [0, 256]
    window.rescale.left = 1
    plot.update_from(tl, 199, 200)  # the same step again (paused): the waiting move is made now
    window.rescale.left = 1
    plot.update_from(tl, 199, 200)  # one axis a frame: the other waits one more frame
    assert not plot.range_int.waiting and not plot.range_ext.waiting
    assert plot.right_view.viewRange()[1][1] > hi0
    window.rescale.left = None
