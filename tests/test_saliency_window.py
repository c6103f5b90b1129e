"""The live saliency overlay in the window (issue 25, item 2) and the Record dialog's saliency option: the
maps are computed on the session's side, never in the GUI thread; the game view shows exactly the frame
blended with the map of the step on screen, and the plain frame when off."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from snd_player.core.saliency import Saliency, overlay  # noqa: E402
from tests.test_player import WAIT_MS, window  # noqa: E402, F401 - fixtures
from tests.test_session import tiny_agent, tiny_checkpoint  # noqa: E402, F401 - fixtures


@pytest.fixture
def compute_threads(monkeypatch) -> list[str]:
    """The name of the thread of every Saliency.compute call."""
    threads: list[str] = []
    real = Saliency.compute

    def spy(self, *args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Saliency, "compute", spy)
    return threads


def shown_pixels(win) -> np.ndarray:
    """The game view's image read back from its QImage (RGB32) as (H, W, 3) uint8."""
    q = win.game.image.qimage
    bits = q.constBits()
    bits.setsize(q.sizeInBytes())
    px = np.frombuffer(bits, np.uint32).reshape(q.height(), q.bytesPerLine() // 4)[:, : q.width()]
    return np.stack([(px >> 16) & 255, (px >> 8) & 255, px & 255], -1).astype(np.uint8)


def step_and_wait(qtbot, win) -> None:
    n = win.frames_received
    win.step()
    qtbot.waitUntil(lambda: win.frames_received == n + 1, timeout=WAIT_MS)


def test_overlay_blends_the_map_of_the_step_on_screen_and_off_is_the_plain_frame(
    qtbot,
    window,  # noqa: F811
    compute_threads,
):
    win = window
    step_and_wait(qtbot, win)
    rec = win.last
    assert np.array_equal(shown_pixels(win), rec.frame)  # off: the game frame, untouched
    assert compute_threads == []  # off: no map is made

    win.saliency_view.set_target("r_int")
    qtbot.waitUntil(lambda: (rec.episode, rec.t) in win.saliency_view.maps, timeout=WAIT_MS)
    smap = win.saliency_view.maps[(rec.episode, rec.t)]
    assert (smap.target, smap.method) == ("r_int", "gradxinput")
    assert smap.values.max() > 0
    qtbot.waitUntil(lambda: not np.array_equal(shown_pixels(win), rec.frame), timeout=WAIT_MS)
    shown = shown_pixels(win)
    assert np.array_equal(shown, overlay(rec.frame, smap, 0.7, corner="top-left"))
    # where the map is strong the pixels moved toward its colours; where it is 0 they are the game's
    v = smap.on_frame(rec.frame.shape)
    bar = np.zeros(v.shape, bool)
    bar[: v.shape[0] // 4, : v.shape[1] // 2 + 8] = True  # the colour scale's corner
    zero = (v == 0) & ~bar
    if zero.any():
        assert np.array_equal(shown[zero], rec.frame[zero])
    strong = (v >= np.percentile(v, 99.5)) & ~bar
    assert np.abs(shown[strong].astype(int) - rec.frame[strong]).sum(-1).mean() > 20

    win.saliency_view.set_opacity(0.3)  # a weaker blend of the same map
    assert np.array_equal(shown_pixels(win), overlay(rec.frame, smap, 0.3, corner="top-left"))
    assert "saliency r_int · grad×input" in win.saliency_view.status.text()

    win.saliency_view.set_target(None)
    assert np.array_equal(shown_pixels(win), rec.frame)
    assert compute_threads and threading.main_thread().name not in compute_threads
    assert set(compute_threads) == {"snd-saliency"}


def test_paused_stepping_gets_a_map_for_every_shown_frame(qtbot, window, compute_threads):  # noqa: F811
    win = window
    win.saliency_view.set_method("perturbation")
    win.saliency_view.set_target("v_int")
    shown = []
    for _ in range(3):
        step_and_wait(qtbot, win)
        rec = win.last
        key = (rec.episode, rec.t)
        qtbot.waitUntil(lambda key=key: key in win.saliency_view.maps, timeout=WAIT_MS)
        smap = win.saliency_view.maps[key]
        assert (smap.target, smap.method, smap.values.shape) == ("v_int", "perturbation", (17, 17))
        qtbot.waitUntil(
            lambda rec=rec, smap=smap: np.array_equal(
                shown_pixels(win), overlay(rec.frame, smap, 0.7, corner="top-left")
            ),
            timeout=WAIT_MS,
        )
        shown.append(rec.t)
    assert shown == [0, 1, 2]
    win.seek(1)  # back in the episode: its map again
    qtbot.waitUntil(lambda: win.cursor == 1, timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: np.array_equal(
            shown_pixels(win), overlay(win.last.frame, win.saliency_view.maps[(0, 1)], 0.7, corner="top-left")
        ),
        timeout=WAIT_MS,
    )
    assert threading.main_thread().name not in compute_threads


def test_record_dialog_saliency_reaches_the_recorder(qtbot, window, tmp_path, compute_threads):  # noqa: F811
    av = pytest.importorskip("av")
    from snd_player.app.record_dialog import RecordDialog

    win = window
    step_and_wait(qtbot, win)
    dlg = RecordDialog(win, win.session, win.cursor)
    assert dlg.saliency.currentData() is None  # none unless asked for
    dlg.saliency.setCurrentIndex(dlg.saliency.findData("r_int"))
    dlg.bare.setChecked(True)
    dlg.frames.setValue(3)
    dlg.path.setText(str(tmp_path / "sal.mp4"))
    req = dlg.request()
    assert (req.saliency, req.saliency_method) == ("r_int", "gradxinput")
    recs: list = []
    win.worker.worker.batch_ready.connect(lambda b: recs.extend(b.records))
    events: list = []
    win.worker.worker.record_event.connect(events.append)
    win.command.emit("record", req)
    qtbot.waitUntil(lambda: any(e.get("event") == "finished" for e in events), timeout=WAIT_MS)
    assert events[-1]["error"] == "" and not events[-1]["cancelled"]
    with av.open(str(tmp_path / "sal.mp4")) as c:
        first = next(c.decode(video=0)).to_ndarray(format="rgb24")
    rec = recs[0]
    expected = overlay(rec.frame, Saliency(win.session.agent).compute(rec.obs, "r_int", "gradxinput"), 0.7)
    h, w = rec.frame.shape[:2]
    first = cv2.resize(first, (w, h), interpolation=cv2.INTER_AREA).astype(int)  # the video is scaled up
    # an mp4 is lossy: the video is much nearer the blended frame than the plain one
    to_overlay = np.abs(first - expected).mean()
    to_plain = np.abs(first - rec.frame).mean()
    assert to_overlay < 0.5 * to_plain, (to_overlay, to_plain)


def test_session_process_sends_maps_while_playing_and_the_window_draws_them(
    qtbot,
    tmp_path,
    tiny_agent,  # noqa: F811
    tiny_checkpoint,  # noqa: F811
):
    """The app's path: the child process computes the maps in its saliency thread and sends them on the
    same pipe as the batches (a lock keeps the two writers' messages whole)."""
    from PyQt6.QtCore import QSettings

    from snd_player.app.main_window import MainWindow
    from tests.test_session import make_session

    win = MainWindow(
        settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), session_process=True
    )
    qtbot.addWidget(win)
    win.saliency_view.set_target("v_ext")  # chosen before a session: the new worker turns it on
    win.set_session(make_session(tiny_agent, tiny_checkpoint, seed=1), autoplay=False)
    try:
        win.set_speed(0.0)
        win.play(12)
        qtbot.waitUntil(lambda: win.frames_received >= 12 and not win.playing, timeout=WAIT_MS)
        rec = win.last
        qtbot.waitUntil(lambda: (rec.episode, rec.t) in win.saliency_view.maps, timeout=WAIT_MS)
        assert win.saliency_view.received >= 1
        assert all(m.target == "v_ext" for m in win.saliency_view.maps.values())
        smap = win.saliency_view.maps[(rec.episode, rec.t)]
        qtbot.waitUntil(
            lambda: np.array_equal(shown_pixels(win), overlay(rec.frame, smap, 0.7, corner="top-left")),
            timeout=WAIT_MS,
        )
    finally:
        win.close()


def test_a_step_played_again_drops_the_maps_of_the_old_way_on(qtbot, window):  # noqa: F811
    """Maps are kept by (episode, step): after a seek back, a freshly played step t makes the maps of t and
    later stale (another action may have been taken), while a seek's restored step keeps them."""
    from snd_player.app.worker import StepBatch

    win = window
    view = win.saliency_view
    view.set_target("v_ext")
    for _ in range(3):
        step_and_wait(qtbot, win)
    qtbot.waitUntil(lambda: (0, 2) in view.maps, timeout=WAIT_MS)
    old = next(iter(view.maps.values()))
    view.maps[(0, 0)], view.maps[(0, 1)], view.maps[(0, 2)] = old, old, old

    def batch(t: int, seek: bool) -> StepBatch:
        class R:
            episode = 0

        r = R()
        r.t = t
        return StepBatch(records=(r,), horizon=3, seek=seek, basis=None, playing=False, inference_ms=0.0)

    view._on_batch(batch(1, seek=True))
    assert set(view.maps) == {(0, 0), (0, 1), (0, 2)}
    view._on_batch(batch(1, seek=False))
    assert set(view.maps) == {(0, 0)}
    assert view.newest is None


def test_live_saliency_maps_the_newest_step_and_skips_those_posted_while_busy(monkeypatch):
    """Qt-free: while a map is being computed, newer steps replace each other in the one-slot mailbox;
    when it is done the newest is mapped, so the overlay keeps up without a queue (issue 25: "compute for
    the newest step only when the previous map is done, and skip otherwise")."""
    import types

    from snd_player.core.saliency import SaliencyMap
    from snd_player.core.saliency_live import LiveSaliency

    started, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def compute(self, obs, target, method):
        seen.append(int(obs[0]))
        started.set()
        release.wait(10)
        return SaliencyMap(target, method, np.zeros((2, 2), np.float32), 0.0, (2, 2))

    monkeypatch.setattr(Saliency, "compute", compute)
    monkeypatch.setattr(Saliency, "check", lambda self, target, method="perturbation": None)
    maps: list[dict] = []
    done = threading.Event()

    def on_map(msg: dict) -> None:
        maps.append(msg)
        if len(maps) == 2:
            done.set()

    live = LiveSaliency(types.SimpleNamespace(device="cpu"), on_map, lambda msg: None)
    try:
        rec = [types.SimpleNamespace(episode=0, t=t, obs=np.array([t])) for t in range(4)]
        live.submit(rec[0])  # off: nothing is posted
        live.set("v_ext", "gradxinput")
        live.submit(rec[0])
        assert started.wait(10)
        for r in rec[1:]:  # posted while step 0 is being mapped: only the newest is kept
            live.submit(r)
        release.set()
        assert done.wait(10)
        assert seen == [0, 3]
        assert [(m["t"], m["map"].target) for m in maps] == [(0, "v_ext"), (3, "v_ext")]
    finally:
        release.set()
        live.close()
