"""The window, driven through pytest-qt on the offscreen platform, on a checkpoint the trainer wrote."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PyQt6.QtCore import QPoint, QSettings, Qt  # noqa: E402
from PyQt6.QtGui import QImage  # noqa: E402

from snd_player.app.main_window import MainWindow  # noqa: E402
from snd_player.app.worker import StepBatch  # noqa: E402
from tests.test_session import make_session, tiny_agent, tiny_checkpoint  # noqa: E402, F401 - fixtures

WAIT_MS = 60_000  # generous: the CI machine has two busy cores


@pytest.fixture
def window(qtbot, tmp_path, tiny_agent, tiny_checkpoint):  # noqa: F811 - fixtures imported above
    from PyQt6.QtWidgets import QApplication

    from snd_player.app.widgets.theme import apply_dark_theme

    apply_dark_theme(QApplication.instance())  # as the app does, so the saved grab looks like the real thing
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.resize(1600, 1000)
    win.show()
    win.set_speed(0.0)
    win.set_session(make_session(tiny_agent, tiny_checkpoint, seed=4, keyframe_every=8), autoplay=False)
    yield win
    win.release()


def collect(win: MainWindow) -> list:
    """Every record the worker hands to the window, in order."""
    out: list = []

    def on_batch(batch: StepBatch) -> None:
        out.extend(batch.records)

    assert win.worker is not None
    win.worker.worker.batch_ready.connect(on_batch)
    return out


def play_and_wait(qtbot, win: MainWindow, n: int) -> None:
    start = win.frames_received
    win.play(n)
    qtbot.waitUntil(lambda: win.frames_received >= start + n and not win.playing, timeout=WAIT_MS)
    assert win.frames_received == start + n


def points(item) -> int:
    """Points handed to a plot item (its own data, not the downsampled view)."""
    return 0 if item.xData is None else len(item.xData)


def test_plays_n_frames_and_every_panel_has_n_points(qtbot, window):
    n = 40
    play_and_wait(qtbot, window, n)
    window.draw_now()
    assert window.last.t == n - 1 and window.horizon == n
    assert points(window.intrinsic.reward) == n and points(window.intrinsic.error) == n
    assert points(window.values.v_ext) == n and points(window.values.v_int) == n
    assert sum(len(item.data) for item in window.projection._groups.values()) == n
    assert window.projection.coords.shape == (n, 2)
    policy = window.policy
    assert len(policy.bar_rects()) == len(window.session.action_meanings)
    assert np.allclose(policy.probs, window.last.probs)
    assert policy.chosen == window.last.action and policy.title().startswith(window.last.action_name)
    assert sum(window.room_stats.visits(window.timeline).values()) == n
    assert window.slider.maximum() == n - 1 and window.slider.value() == n - 1
    assert window.game.image.image.shape == (210, 160, 3)


def test_pause_stops_and_step_advances_one_frame(qtbot, window):
    window.set_speed(4.0)  # 60 steps/s
    window.play()
    qtbot.waitUntil(lambda: window.frames_received >= 3, timeout=WAIT_MS)
    window.pause()
    qtbot.waitUntil(lambda: not window.playing, timeout=WAIT_MS)
    n0 = window.frames_received
    qtbot.wait(400)
    assert window.frames_received == n0
    window.step()
    qtbot.waitUntil(lambda: window.frames_received == n0 + 1, timeout=WAIT_MS)
    qtbot.wait(300)
    assert window.frames_received == n0 + 1 and window.last.t == n0


def test_scrub_back_and_play_forward_reproduces_frames(qtbot, window):
    recs = collect(window)
    play_and_wait(qtbot, window, 30)
    first = {r.t: r for r in recs}
    recs.clear()
    window.draw_now()  # the slider learns the episode's length
    x0, per_step = window.slider._geometry()
    qtbot.mouseClick(
        window.slider,
        Qt.MouseButton.LeftButton,
        pos=QPoint(round(x0 + 9 * per_step), window.slider.height() // 2),
    )  # a click on the timeline at step 9
    qtbot.waitUntil(lambda: len(recs) == 1, timeout=WAIT_MS)
    assert recs[0].t == 9 and np.array_equal(recs[0].frame, first[9].frame)
    assert window.cursor == 9 and window.horizon == 30  # the known future stays on the timeline
    play_and_wait(qtbot, window, 15)
    again = recs[1:]
    assert [r.t for r in again] == list(range(10, 25))
    for r in again:
        assert r.action == first[r.t].action
        assert np.array_equal(r.frame, first[r.t].frame) and np.array_equal(r.obs, first[r.t].obs)


def test_bookmark_jumps_seek_to_the_marked_steps(qtbot, window):
    play_and_wait(qtbot, window, 30)
    window.timeline.bookmarks.clear()  # marks by hand, so the test does not depend on the agent
    from snd_player.core.timeline import Bookmark

    window.timeline.bookmarks.update({5: Bookmark(5, "room", "x"), 20: Bookmark(20, "peak", "y")})
    window.jump_bookmark(-1)
    qtbot.waitUntil(lambda: window.cursor == 20, timeout=WAIT_MS)
    window.jump_bookmark(-1)
    qtbot.waitUntil(lambda: window.cursor == 5, timeout=WAIT_MS)
    window.jump_bookmark(+1)
    qtbot.waitUntil(lambda: window.cursor == 20, timeout=WAIT_MS)


def test_closing_the_window_joins_the_worker_thread(qtbot, window):
    window.set_speed(0.0)
    window.play()
    qtbot.waitUntil(lambda: window.frames_received >= 2, timeout=WAIT_MS)
    thread = window.worker.thread
    assert thread.isRunning()
    window.close()  # while playing at full speed
    assert window.worker is None and thread.isFinished() and not thread.isRunning()


def test_window_grab_is_saved_and_not_blank(qtbot, window, tmp_path):
    play_and_wait(qtbot, window, 48)
    qtbot.wait(100)
    window.draw_now()
    window._update_status()
    img: QImage = window.grab().toImage()
    assert (img.width(), img.height()) == (1600, 1000)
    outs = [tmp_path / "player.png"]
    if os.environ.get("SND_ARTIFACTS"):
        outs.append(Path(os.environ["SND_ARTIFACTS"]) / "player.png")
    for out in outs:
        out.parent.mkdir(parents=True, exist_ok=True)
        assert img.save(str(out)) and out.stat().st_size > 10_000

    def colours(widget) -> int:
        g = widget.grab().toImage()
        return len({g.pixel(x, y) for x in range(0, g.width(), 7) for y in range(0, g.height(), 7)})

    # the game frame, each plot and the room map are drawn, not left as a flat background
    for w in (window.game, window.intrinsic, window.values, window.policy, window.projection, window.rooms):
        assert colours(w) > 8, type(w).__name__


def test_bad_checkpoint_shows_the_reason_and_keeps_running(qtbot, window, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(
        "snd_player.app.main_window.QMessageBox.critical", lambda parent, title, text: shown.append(text)
    )
    bad = tmp_path / "foreign.safetensors"
    bad.write_bytes(b"\x00" * 64)
    assert window.open_checkpoint(bad) is False
    assert len(shown) == 1 and "\n" not in shown[0] and "foreign.safetensors" in shown[0]
    play_and_wait(qtbot, window, 3)  # the open session still plays


def test_welcome_screen_without_a_checkpoint(qtbot, tmp_path):
    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    assert win.stack.currentWidget() is win.welcome and not win.dock_policy.isVisible()
    assert "trainer train" in win.welcome.hint.text()
    win.close()


def test_cli_screenshot_writes_a_png(qtbot, tiny_checkpoint, tmp_path, capsys, windows_left):  # noqa: F811
    from snd_player.cli import main

    out = tmp_path / "shot.png"
    assert main([str(tiny_checkpoint), "--frames", "12", "--screenshot", str(out), "--size", "1200x800"]) == 0
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1200, 800)
    assert "12 frames" in capsys.readouterr().out
    assert not windows_left("MainWindow")  # deleted before main returned, not by some later gc (stop 33's crash)


def test_cli_bad_checkpoint_prints_one_line_and_exits_2(tmp_path, capsys):
    from snd_player.cli import main

    bad = tmp_path / "x.safetensors"
    bad.write_text("nope")
    assert main([str(bad), "--screenshot", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("snd-player: ") and "\n" not in err


def test_cli_dispatches_subcommands(monkeypatch):
    from snd_player.cli import main

    seen = []
    fake = types.ModuleType("snd_player.cli.eval")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "snd_player.cli.eval", fake)
    assert main(["eval", "ckpt.safetensors", "--episodes", "2"]) == 0
    assert seen == [["ckpt.safetensors", "--episodes", "2"]]


def test_keyboard_shortcuts_drive_the_worker(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Right)  # one step
    qtbot.waitUntil(lambda: window.frames_received == 1, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.frames_received == 2, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key.Key_Left)  # back one step: a seek to t=0
    qtbot.waitUntil(lambda: window.frames_received == 3 and window.cursor == 0, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key.Key_Space)  # play
    qtbot.waitUntil(lambda: window.playing, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key.Key_Space)  # pause
    qtbot.waitUntil(lambda: not window.playing, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key.Key_G)
    assert window.greedy_box.isChecked()
    shortcuts = {s.toString() for a in window.actions() for s in a.shortcuts()}
    assert {"Space", "Right", "Left", "R", "[", "]", "G", "F1", "Ctrl+O"} <= shortcuts


def test_episode_end_starts_a_fresh_timeline(qtbot, tmp_path, tiny_agent, tiny_checkpoint):  # noqa: F811
    import dataclasses

    from snd_player.core.session import Session
    from trainer.envs import make_env

    env = make_env(dataclasses.replace(tiny_agent.env_config, max_episode_steps=10), 0, render_rgb=True)
    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    win.set_speed(0.0)
    win.set_session(Session(tiny_agent, env, seed=0, checkpoint=tiny_checkpoint), autoplay=False)
    play_and_wait(qtbot, win, 25)  # episodes of 10 steps: two finished, five steps into the third
    win.draw_now()
    assert win.timeline.episode == 2 and len(win.timeline) == 5 and win.horizon == 5
    assert win.room_stats.episodes == 2 and win.room_stats.visits(win.timeline)[(0, 1)] == 25
    assert points(win.intrinsic.reward) == 5 and win.slider.maximum() == 4
    win.close()


def test_opening_another_checkpoint_replaces_the_worker_and_remembers_the_file(
    qtbot,
    window,
    tiny_checkpoint,  # noqa: F811
):
    play_and_wait(qtbot, window, 3)
    old = window.worker.thread
    assert (
        window.open_checkpoint(tiny_checkpoint) is True
    )  # File > Open, a drop and Open recent all land here
    assert old.isFinished() and window.worker.thread is not old and window.worker.thread.isRunning()
    assert window.recent_files()[0] == str(Path(tiny_checkpoint).resolve())
    assert [a.text() for a in window.recent_menu.actions()] == window.recent_files()
    assert not window.playing  # it was paused, so it stays paused (it used to start playing)
    window.step()
    qtbot.waitUntil(lambda: window.frames_received >= 1, timeout=WAIT_MS)
    assert window.last.episode == 0 and window.timeline.episode == 0


def test_dropping_a_checkpoint_opens_it(qtbot, tmp_path, monkeypatch):
    from PyQt6.QtCore import QMimeData, QPointF, QUrl
    from PyQt6.QtGui import QDropEvent

    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    opened = []
    monkeypatch.setattr(win, "open_checkpoint", lambda path: opened.append(path) or True)
    mime = QMimeData()
    mime.setUrls(
        [QUrl.fromLocalFile("/data/notes.txt"), QUrl.fromLocalFile("/data/run/000000000064.safetensors")]
    )
    ev = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    win.dropEvent(ev)
    assert opened == ["/data/run/000000000064.safetensors"]
