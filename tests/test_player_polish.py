"""The defects a first-time user hit in the player (issue 12), each driven the way the user met it:
the keyboard, window sizes, the status bar, the command line, the Record dialog, and the worker process."""

from __future__ import annotations

import dataclasses
import os
import types
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PyQt6.QtCore import QRectF, QSettings, Qt  # noqa: E402
from PyQt6.QtGui import QColor, QFontMetricsF, QImage, QPainter  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402

from snd_player.app.main_window import MainWindow  # noqa: E402
from snd_player.app.worker import RecordRequest, StepBatch  # noqa: E402
from tests.test_player import WAIT_MS, play_and_wait  # noqa: E402
from tests.test_session import make_session, tiny_agent, tiny_checkpoint  # noqa: E402, F401 - fixtures


@pytest.fixture
def window(qtbot, tmp_path, tiny_agent, tiny_checkpoint):  # noqa: F811 - fixtures imported above
    from snd_player.app.widgets.theme import apply_dark_theme

    apply_dark_theme(QApplication.instance())  # fonts and sizes as in the app
    win = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1600, 1000)
    win.show()
    win.set_speed(0.0)
    win.set_session(make_session(tiny_agent, tiny_checkpoint, seed=4, keyframe_every=8), autoplay=False)
    yield win
    win.release()


def settle(qtbot, win: MainWindow) -> None:
    """Let queued resizes, the dock re-layout and one paint happen."""
    for _ in range(4):
        qtbot.wait(30)
        QApplication.processEvents()
    win.draw_now()
    win.grab()  # paints every axis, which is when pyqtgraph sizes them for their tick texts


# -- 2: the seed box lets go of the keyboard ---------------------------------------------------------------
def test_seed_box_enter_gives_space_back_to_play_pause(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.mouseClick(window.seed_box, Qt.MouseButton.LeftButton)
    assert window.seed_box.hasFocus()
    window.seed_box.selectAll()
    qtbot.keyClicks(window.seed_box, "7")
    qtbot.keyClick(window.seed_box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.seed_box.hasFocus(), timeout=5000)
    qtbot.waitUntil(lambda: window.session.seed == 7, timeout=WAIT_MS)  # Enter reseeded
    focused = QApplication.focusWidget() or window
    qtbot.keyClick(focused, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.playing, timeout=WAIT_MS)  # Space toggled playback
    assert window.seed_box.value() == 7 and window.seed_box.text() == "7"


# -- 3, 4, 5: every window size ------------------------------------------------------------------------------
def _tick_rects(axis) -> list[QRectF]:
    """Scene rectangles of an axis's tick labels, as pyqtgraph lays them out."""
    img = QImage(10, 10, QImage.Format.Format_RGB32)
    p = QPainter(img)
    try:
        specs = axis.generateDrawSpecs(p)
    finally:
        p.end()
    return [axis.mapRectToScene(r) for r, _flags, text in specs[2] if text]


def _label_rect(axis) -> QRectF:
    """The label's text box in scene coordinates, without the text document's empty margin."""
    m = axis.label.document().documentMargin()
    return axis.label.mapRectToScene(axis.label.boundingRect().adjusted(m, m, -m, -m))


def _no_overlaps(rects: list[QRectF]) -> bool:
    return not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])


def check_layout(win: MainWindow) -> None:
    """No axis label touches a tick label or the other plot's label; the policy ticks are apart; the
    overlay stays inside the game view and off the timeline; the header does not break the env id."""
    pr, pe = win.intrinsic.p_r.getAxis("left"), win.intrinsic.p_e.getAxis("left")
    for ax in (pr, pe, win.values.plot.getAxis("left"), win.values.plot.getAxis("right")):
        label = _label_rect(ax)
        assert not any(label.intersects(t) for t in _tick_rects(ax)), ax.labelText
        assert label.height() <= ax.geometry().height() + 4, ax.labelText  # not longer than its axis
    assert not _label_rect(pr).intersects(_label_rect(pe))
    assert _no_overlaps(win.policy.tick_label_rects())
    assert _no_overlaps([r for r, _ in win.policy.name_rects()])
    assert all(win.policy.rect().toRectF().contains(r) for r in win.policy.tick_label_rects())
    game, ov = win.game, win.game.overlay
    assert ov.geometry().right() <= game.width() and ov.geometry().bottom() <= game.height()
    ov_top = ov.mapTo(win, ov.rect().topLeft()).y()
    assert ov_top + ov.height() <= win.slider.mapTo(win, win.slider.rect().topLeft()).y()
    assert ov.text().endswith(f"step {win.last.t}")
    assert "MontezumaRevenge-v5" in win.header.text() and "<nobr>" in win.header.text()


def test_1280x720_then_back_has_no_overlapping_labels_and_restores_the_docks(qtbot, window):
    play_and_wait(qtbot, window, 40)
    settle(qtbot, window)
    roomy = {d.objectName(): (d.width(), d.height()) for d in window.docks}
    check_layout(window)
    window.resize(1280, 720)
    settle(qtbot, window)
    assert (window.width(), window.height()) == (1280, 720)
    check_layout(window)
    window.resize(1600, 1000)
    settle(qtbot, window)
    check_layout(window)
    for d in window.docks:  # grown back: the roomy sizes again, not the cramped ones
        w, h = roomy[d.objectName()]
        assert abs(d.width() - w) <= 12 and abs(d.height() - h) <= 12, d.objectName()


def test_a_dock_the_user_resized_keeps_its_size(qtbot, window):
    settle(qtbot, window)
    window.resizeDocks([window.dock_policy], [200], Qt.Orientation.Horizontal)  # as a separator drag
    settle(qtbot, window)
    assert window._user_layout
    window.resize(1500, 950)
    settle(qtbot, window)
    assert abs(window.dock_policy.width() - 200) <= 12


def test_axis_labels_clear_wide_ticks_at_1600x1000(qtbot, window):
    from snd_player.core.timeline import EpisodeTimeline

    play_and_wait(qtbot, window, 20)
    tl = EpisodeTimeline(0, window.session.heat_grid)
    for i in range(20):  # ticks six characters wide: "-0.0001", "0.00052"
        tl.put(dataclasses.replace(window.last, t=i, v_ext=-1e-4 * (i % 3), r_int=1e-4 * (i % 5) + 0.000123))
    window.values.update_from(tl, 19)
    window.intrinsic.update_from(tl, 19)
    settle(qtbot, window)
    settle(qtbot, window)
    check_layout(window)


# -- 6: room cells ---------------------------------------------------------------------------------------------
def test_room_number_and_step_count_never_touch(qtbot):
    from collections import Counter

    from snd_player.app.widgets.rooms import PyramidMap, cell_texts

    font = QApplication.font()
    small, big = QFontMetricsF(font), QFontMetricsF(font)
    cramped = cell_texts(QRectF(0, 0, 26, 20), 1, 780, small, big)
    assert [t for _, t, _ in cramped] == ["1"]  # "1" and "780" read "1780" when drawn together
    roomy = cell_texts(QRectF(0, 0, 90, 60), 1, 780, small, big)
    assert [t for _, t, _ in roomy] == ["1", "780"] and not roomy[0][0].intersects(roomy[1][0])
    for size in ((240, 110), (330, 150), (700, 300)):
        m = PyramidMap()
        qtbot.addWidget(m)
        m.resize(*size)
        m.set_state(Counter({(0, r): 10 ** (r % 5) for r in range(24)}), {(0, 1)}, (0, 1))
        m.grab()
        for i, (a, ta) in enumerate(m.drawn):
            for b, tb in m.drawn[i + 1 :]:
                assert not a.intersects(b), (size, ta, tb)


# -- 7: status bar and timeline line follow every frame ---------------------------------------------------------
def test_status_bar_and_timeline_line_equal_the_overlay_every_frame(qtbot, window):
    window.set_speed(2.0)
    window.play(12)
    seen = 0
    while seen < 12:
        qtbot.waitUntil(lambda n=seen: window.frames_received > n, timeout=WAIT_MS)
        seen = window.frames_received
        window.draw_now()  # one drawn frame
        rec = window.last
        assert window.game.overlay.text().split(" · ")[-1] == f"step {rec.t}"
        assert window.status_episode.text() == f"episode {rec.episode + 1} · step {rec.t} / {window.horizon}"
        assert window.status_score.text() == f"score {rec.score:g}"
        assert window.timeline_label.text().startswith(f"episode {rec.episode + 1} · step {rec.t} of ")


# -- 9: double-click follows while paused ----------------------------------------------------------------------
def test_double_click_follows_the_episode_again_while_paused(qtbot, window):
    play_and_wait(qtbot, window, 30)
    window.draw_now()
    for plot, view in ((window.intrinsic, window.intrinsic.p_r), (window.values, window.values.plot)):
        plot._stop_following()
        view.setXRange(5, 9, padding=0)
        plot._double_click(types.SimpleNamespace(double=lambda: True))
        assert view.viewRange()[0] == pytest.approx([0, 256]), type(plot).__name__  # no new step came


# -- 12: command line -----------------------------------------------------------------------------------------
def test_cli_bad_path_says_why_on_stderr_and_opens_no_window(tmp_path, capsys, monkeypatch):
    from snd_player.app import main_window
    from snd_player.cli import main

    def no_window(*a, **k):
        raise AssertionError("a window was opened for a checkpoint that cannot load")

    monkeypatch.setattr(main_window, "MainWindow", no_window)
    assert main([str(tmp_path / "missing.safetensors")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("snd-player: ") and "missing.safetensors" in err and "\n" not in err


# -- 1: Qt's system libraries ---------------------------------------------------------------------------------
def test_missing_xcb_libraries_give_one_line_naming_the_packages(tmp_path, capsys, monkeypatch):
    from snd_player.app import qt_check
    from snd_player.cli import main

    gone = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    msg = qt_check.missing_qt_libraries_message({"QT_QPA_PLATFORM": "xcb"}, loads=lambda so: so not in gone)
    assert msg is not None and "\n" not in msg
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1 " in msg
    assert (
        qt_check.missing_qt_libraries_message({"QT_QPA_PLATFORM": "offscreen"}, loads=lambda so: False)
        is None
    )
    assert qt_check.missing_qt_libraries_message({"DISPLAY": ":0"}, loads=lambda so: True) is None
    assert not qt_check.platform_will_be_xcb({"WAYLAND_DISPLAY": "wayland-0"})
    assert not qt_check.platform_will_be_xcb({"DISPLAY": ":0"}, platform="darwin")
    # the real loader: a library that exists loads, one that does not is reported
    assert qt_check._loads("libc.so.6") and not qt_check._loads("libsnd-no-such-lib.so.0")
    # the CLI says it before Qt could abort, and exits 2
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(qt_check, "_loads", lambda so: so != "libxcb-cursor.so.0")
    monkeypatch.setattr(
        qt_check.missing_qt_libraries_message, "__defaults__", (None, qt_check._loads)
    )  # the default loader was bound at definition time
    assert main([str(tmp_path / "x.safetensors")]) == 2
    err = capsys.readouterr().err.strip()
    assert "libxcb-cursor0" in err and "\n" not in err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_cuda_is_one_line_and_exit_2(capsys, tiny_checkpoint):  # noqa: F811
    """``snd-player --device cuda`` on a CPU-only machine died with torch's AssertionError traceback."""
    from snd_player.cli import main

    assert main([str(tiny_checkpoint), "--device", "cuda", "--frames", "1", "--screenshot", "x.png"]) == 2
    err = capsys.readouterr().err.strip()
    assert "CUDA is not available" in err and "\n" not in err and "Traceback" not in err


# -- 13: smaller ones ----------------------------------------------------------------------------------------
def test_eval_out_in_a_new_folder_creates_it(tmp_path):
    from snd_player.media.eval import check_writable

    out = tmp_path / "newdir" / "deeper" / "report.json"
    check_writable(out, ".json")
    assert out.parent.is_dir()


def test_a_readme_opened_as_a_checkpoint_is_called_not_a_safetensors_file(tmp_path):
    from trainer.checkpoint import CheckpointError, read_metadata

    readme = tmp_path / "README.md"
    readme.write_text("# snd\n\nPPO with RND / SND on Atari and Procgen.\n" * 20)
    with pytest.raises(CheckpointError) as e:
        read_metadata(readme)
    assert "not a safetensors file" in str(e.value) and "header says" not in str(e.value)


def test_opening_a_checkpoint_while_paused_stays_paused(qtbot, window, tiny_checkpoint):  # noqa: F811
    play_and_wait(qtbot, window, 2)
    assert not window.playing
    assert window.open_checkpoint(tiny_checkpoint)
    qtbot.wait(500)
    # paused, and on the new checkpoint's first frame (issue 27 item 2: the panels stayed blank)
    assert window.frames_received == 1 and window.last.t == 0 and not window.playing


def test_shift_r_draws_a_seed_shows_it_and_r_replays_it(qtbot, window):
    window.act_new_episode.trigger()
    seed = window.seed_box.value()
    qtbot.waitUntil(lambda: window.session.seed == seed and window.frames_received >= 1, timeout=WAIT_MS)
    first = window.last
    assert str(seed) in window.statusBar().currentMessage()
    window.act_reset.trigger()  # R: the seed in the box again
    qtbot.waitUntil(lambda: window.frames_received >= 2, timeout=WAIT_MS)
    assert window.last.episode == first.episode + 1 and np.array_equal(window.last.frame, first.frame)


def test_negative_rewards_get_their_own_marker(qtbot, window):
    from snd_player.core.timeline import EpisodeTimeline

    play_and_wait(qtbot, window, 1)
    tl = EpisodeTimeline(0, window.session.heat_grid)
    rewards = [0, 0, -100, 0, 1, 0, 0, -1]
    for t, r in enumerate(rewards):
        tl.put(dataclasses.replace(window.last, t=t, raw_reward=float(r)))
    window.values.update_from(tl, 7)
    assert list(window.values.rewards.data["x"]) == [4]
    assert list(window.values.penalties.data["x"]) == [2, 7]
    assert window.values.penalties.opts["symbol"] != window.values.rewards.opts["symbol"]


def test_time_colours_are_distinct_and_every_one_is_in_the_legend(qtbot):
    from snd_player.app.widgets.projection import ProjectionView
    from snd_player.app.widgets.theme import TIME_COLORS
    from snd_player.core.projection import FeatureProjector
    from snd_player.core.timeline import EpisodeTimeline, HeatGrid

    view = ProjectionView(by_room=False)
    qtbot.addWidget(view)
    rng = np.random.default_rng(0)
    tl = EpisodeTimeline(0, HeatGrid(0, 8, 0, 8, 1))
    proj = FeatureProjector(refit_every=64)
    rec = types.SimpleNamespace(
        r_int=0.0, int_error=0.0, r_ext=0.0, raw_reward=0.0, v_ext=0.0, v_int=0.0, entropy=0.0, score=0.0,
        action=0, level=-1, room=-1, x=-1, y=-1, lives=-1, done=False,
    )  # fmt: skip
    for t in range(600):
        f = rng.normal(size=8).astype(np.float32)
        proj.add(f)
        tl.put(types.SimpleNamespace(**vars(rec), t=t, features=f))
    view.update_from(tl, proj.basis, 599)
    labels = [item[1].text for item in view.legend.items]
    assert labels == ["t 0-127", "t 128-255", "t 256-383", "t 384-511", "t 512-639"]
    assert len(set(TIME_COLORS)) == len(TIME_COLORS)
    colors = {item[0].item.opts["brush"].color().name() for item in view.legend.items}
    assert len(colors) == 5


# -- right-click export, screenshot, tooltips ----------------------------------------------------------------
def test_plots_export_png_and_csv_and_the_window_saves_a_screenshot(qtbot, window, tmp_path):
    play_and_wait(qtbot, window, 25)
    window.draw_now()
    by_name = {e.name: e for e in window.exports}
    assert [a.text() for a in by_name["values"].menu().actions()] == ["Save image (PNG)…", "Save data (CSV)…"]
    assert by_name["values"].save_csv(tmp_path / "v.csv") == 25
    lines = (tmp_path / "v.csv").read_text().splitlines()
    assert lines[0] == "step,v_ext,v_int,game_reward" and len(lines) == 26
    assert float(lines[5].split(",")[1]) == pytest.approx(float(window.timeline.array("v_ext")[4]))
    assert by_name["intrinsic"].save_csv(tmp_path / "i.csv") == 25
    assert by_name["projection"].save_csv(tmp_path / "p.csv") in (0, 25)
    assert by_name["policy"].save_csv(tmp_path / "a.csv") == len(window.session.action_meanings)
    assert by_name["rooms"].columns is None and len(by_name["rooms"].menu().actions()) == 1
    assert by_name["values"].save_png(tmp_path / "v.png") and QImage(str(tmp_path / "v.png")).width() > 100
    assert window.save_screenshot(tmp_path / "shot.png")
    assert QImage(str(tmp_path / "shot.png")).size() == window.size()
    assert "Save &screenshot…" in [a.text() for a in window.menuBar().actions()[0].menu().actions()]


def test_every_panel_has_a_tooltip_saying_what_it_shows(window):
    for dock in window.docks:
        assert len(dock.toolTip()) > 40 and dock.widget().toolTip() == dock.toolTip(), dock.objectName()
    assert window.game.toolTip() and window.slider.toolTip() and window.timeline_label.toolTip()


# -- 11: the Record dialog ----------------------------------------------------------------------------------
def _video_frames(path: Path) -> int:
    av = pytest.importorskip("av")
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_record_from_the_step_on_screen_with_progress(qtbot, window, tmp_path):
    from snd_player.app.record_dialog import RecordDialog

    play_and_wait(qtbot, window, 20)
    dlg = RecordDialog(window, window.session, cursor=10)
    dlg.path.setText(str(tmp_path / "clip"))
    dlg.frames.setValue(6)
    dlg.bare.setChecked(True)
    req = dlg.request()
    assert req == RecordRequest(str(tmp_path / "clip.mp4"), 6, from_start=False, panels=False, cursor=10)
    events: list[dict] = []
    batches: list[StepBatch] = []
    window.worker.worker.record_event.connect(events.append)
    window.worker.worker.batch_ready.connect(batches.append)
    window._record_progress = RecordDialog.progress(
        window, req, lambda: window.command.emit("cancel_record", None)
    )
    window.command.emit("record", req)
    qtbot.waitUntil(lambda: bool(events) and events[-1]["event"] == "finished", timeout=WAIT_MS)
    assert events[-1]["error"] == "" and not events[-1]["cancelled"] and events[-1]["done"] == 6
    assert [b.records[0].t for b in batches] == [10, 11, 12, 13, 14, 15]  # the window followed
    assert any(e["event"] == "progress" for e in events)
    assert _video_frames(tmp_path / "clip.mp4") == 6
    assert "recorded" in window.statusBar().currentMessage()
    assert not window._record_progress.isVisible()


def test_record_from_the_start_with_the_dashboard_and_cancel(qtbot, window, tmp_path):
    play_and_wait(qtbot, window, 12)
    events: list[dict] = []
    window.worker.worker.record_event.connect(events.append)
    out = tmp_path / "long.mp4"
    window.command.emit("record", RecordRequest(str(out), 10_000, from_start=True, panels=True, cursor=11))
    qtbot.waitUntil(lambda: any(e["event"] == "progress" for e in events), timeout=WAIT_MS)
    assert window.timeline.episode == 0 and window.horizon >= 12  # it went back to step 0 of the episode
    window.command.emit("cancel_record", None)
    qtbot.waitUntil(lambda: events[-1]["event"] == "finished", timeout=WAIT_MS)
    assert events[-1]["cancelled"] and not out.exists()
    assert [p.name for p in tmp_path.iterdir() if "long" in p.name] == []  # no temp file left either


# -- 60 FPS: the session in a child process ------------------------------------------------------------------
def test_process_worker_plays_seeks_exactly_and_stops_its_child(qtbot, tmp_path, tiny_agent, tiny_checkpoint):  # noqa: F811
    win = MainWindow(
        settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), seed=2, session_process=True
    )
    qtbot.addWidget(win)
    win.show()
    win.set_speed(0.0)
    win.set_session(
        make_session(tiny_agent, tiny_checkpoint, seed=2), autoplay=False
    )  # the child loads its own
    recs: list = []
    win.worker.worker.batch_ready.connect(lambda b: recs.extend(b.records))
    play_and_wait(qtbot, win, 24)
    first = {r.t: r for r in recs}
    assert sorted(first) == list(range(24))
    recs.clear()
    win.seek(7)  # the timeline: exact in the child as in the thread
    qtbot.waitUntil(lambda: len(recs) == 1, timeout=WAIT_MS)
    assert (
        recs[0].t == 7 and np.array_equal(recs[0].frame, first[7].frame) and recs[0].action == first[7].action
    )
    play_and_wait(qtbot, win, 5)
    for r in recs[1:]:
        assert r.action == first[r.t].action and np.array_equal(r.obs, first[r.t].obs)
    # the child stepped a copy rebuilt from the checkpoint: the same episode the thread would play
    local = make_session(tiny_agent, tiny_checkpoint, seed=2)
    try:
        assert all(np.array_equal(local.step().frame, first[t].frame) for t in range(6))
    finally:
        local.close()
    pid = win.worker.worker.pid
    win.close()
    assert win.worker is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_dashboard_draws_the_error_curve_apart_and_the_projection(tiny_agent, tiny_checkpoint):  # noqa: F811
    from snd_player.app.widgets import theme
    from snd_player.core.timeline import EpisodeTimeline, RoomStats, heat_grid_for
    from snd_player.media.dashboard import Dashboard, DashboardInfo

    s = make_session(tiny_agent, tiny_checkpoint, seed=0)
    try:
        d = Dashboard(DashboardInfo.from_session(s), (210, 160), scale=3)
        tl = EpisodeTimeline(0, heat_grid_for(s.env_id))
        stats = RoomStats(tl.heat_grid)
        for _ in range(70):  # past the first PCA fit (64 steps)
            rec = s.step()
            tl.put(rec)
            img = d.render(rec, tl, stats)
    finally:
        s.close()

    def count(area, color: str) -> int:
        q = QColor(color)
        px = img[area.top() : area.bottom() + 1, area.left() : area.right() + 1, :3].astype(int)
        return int((np.abs(px - np.array([q.blue(), q.green(), q.red()])).sum(-1) < 30).sum())

    assert count(d._err.area, theme.ERROR) > 50 and count(d._err.area, theme.R_INT) == 0
    assert count(d._int.area, theme.R_INT) > 50 and count(d._int.area, theme.ERROR) == 0
    proj = d.layout.projection
    inner = img[proj.top() + 30 : proj.bottom() - 10, proj.left() + 10 : proj.right() - 10, :3]
    assert len(np.unique(inner.reshape(-1, 3), axis=0)) > 3  # points drawn, not an empty panel


def test_procgen_buttons_get_readable_names():
    from trainer.envs import procgen_action_name

    assert procgen_action_name(("LEFT", "UP")) == "LEFT+UP"
    assert procgen_action_name(()) == "NOOP"
    assert procgen_action_name(("D",)) == "FIRE" and procgen_action_name(("a",)) == "BUTTON_A"


def test_dashboard_marks_the_steps_a_person_drove(tiny_agent, tiny_checkpoint):  # noqa: F811
    """A video of a driven episode shows what the window shows: the driven steps as bands behind the time
    plots, the person's action in the driven colour (status line and policy bar). Before, a driven step
    looked like the agent's own."""
    from snd_player.core.timeline import EpisodeTimeline, heat_grid_for
    from snd_player.media import theme
    from snd_player.media.dashboard import Dashboard, DashboardInfo

    s = make_session(tiny_agent, tiny_checkpoint, seed=0)
    try:
        d = Dashboard(DashboardInfo.from_session(s), (210, 160), scale=3)
        tl = EpisodeTimeline(0, heat_grid_for(s.env_id))
        recs = []
        for t in range(40):
            rec = s.step(3) if 10 <= t < 20 else s.step()  # steps 10..19: a person's action 3
            tl.put(rec)
            recs.append(rec)
    finally:
        s.close()
    assert [r.driven for r in recs] == [10 <= t < 20 for t in range(40)]
    assert tl.driven_spans() == [(10, 20)]
    img = d.render(recs[-1], tl).copy()  # an agent step at the end of the episode
    q = QColor(theme.DRIVEN)
    pink = np.array([q.blue(), q.green(), q.red()])

    def column_median(plot, step: int) -> np.ndarray:
        x = int(plot.x_of(float(step), d._x_hi(40)))
        a = plot.area
        return np.median(img[a.top() + 2 : a.bottom() - 1, x, :3].astype(int), axis=0)

    for plot in (d._int, d._err, d._val):
        inside, outside = column_median(plot, 15), column_median(plot, 30)
        # the band tints the background toward the driven colour; outside it is the plain background
        assert np.abs(inside - pink).sum() < np.abs(outside - pink).sum() - 40, (plot, inside, outside)

    def pinks(area) -> int:
        px = img[area.top() : area.bottom() + 1, area.left() : area.right() + 1, :3].astype(int)
        return int((np.abs(px - pink).sum(-1) < 30).sum())

    L = d.layout
    assert pinks(L.status) == 0 and pinks(L.policy) == 0  # the agent's own step: nothing in the driven colour
    img = d.render(recs[15], tl).copy()  # a driven step
    assert pinks(L.status) > 20 and pinks(L.policy) > 20  # "◆ driven: <action>" and the person's bar


def test_menu_radio_groups_call_back_with_their_key_and_keep_one_checked(win):
    """View ▸ Show … and View ▸ Saliency overlay ▸ method/opacity: one helper builds every radio group."""
    sv = win.saliency_view
    sv.opacity_actions[0.3].trigger()
    assert sv.opacity == 0.3
    assert [o for o, a in sv.opacity_actions.items() if a.isChecked()] == [0.3]
    other = next(m for m in sv.method_actions if m != sv.method)
    sv.method_actions[other].trigger()
    assert sv.method == other and sum(a.isChecked() for a in sv.method_actions.values()) == 1
    mode = next(m for m in win.view_actions if m != "frame")
    win.view_actions[mode].trigger()
    assert win.game.mode == mode and [m for m, a in win.view_actions.items() if a.isChecked()] == [mode]
    assert all(a in sv.menu.actions() for a in sv.target_actions.values())
