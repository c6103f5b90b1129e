"""No waiting, no blank panels (issue 27): a checkpoint loads beside the GUI thread while the window keeps
answering and says what it loads; a checkpoint opened while paused shows its first frame in every panel."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PyQt6.QtCore import QSettings, QTimer  # noqa: E402

from snd_player.app.main_window import MainWindow  # noqa: E402
from snd_player.core.session import Session  # noqa: E402

WAIT_MS = 60_000


@pytest.fixture
def win(qtbot, tmp_path):
    w = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    yield w
    w.release()


def ckpt(run: Path, step: int) -> Path:
    return run / "checkpoints" / f"{step:012d}.safetensors"


def slow_loader(monkeypatch, seconds: float) -> list[str]:
    """Make Session.from_checkpoint sleep first (a big file on a slow disk); returns the names of the threads
    it ran in."""
    real = Session.from_checkpoint
    threads: list[str] = []

    def slow(path, *a, **kw):
        import threading

        threads.append(threading.current_thread().name)
        time.sleep(seconds)
        return real(path, *a, **kw)

    monkeypatch.setattr(Session, "from_checkpoint", staticmethod(slow))
    return threads


def test_the_window_answers_while_a_checkpoint_loads(qtbot, win, tiny_run, monkeypatch):
    """A timer due 50 ms into a 1.5 s load fires before the load ends and sees the loading state; a click on
    a button is handled meanwhile. On the old code the GUI thread slept in the loader: neither happened until
    open_checkpoint returned."""
    threads = slow_loader(monkeypatch, 1.5)
    seen: list[tuple[str, str, str]] = []
    clicked: list[bool] = []
    win.welcome.open_button.clicked.disconnect()
    win.welcome.open_button.clicked.connect(lambda: clicked.append(True))

    def during() -> None:
        seen.append((win.status_state.text(), win.status_fps.text(), win.statusBar().currentMessage()))
        win.welcome.open_button.click()

    QTimer.singleShot(50, during)
    assert win.open_checkpoint(ckpt(tiny_run, 64))
    assert threads and threads[0] != "MainThread"
    assert seen, "the event loop did not run while the checkpoint loaded"
    state, fps, message = seen[0]
    assert "loading" in state and "000000000064.safetensors" in fps and message.startswith("loading")
    assert clicked == [True]
    assert win.loading is None and "loading" not in win.status_state.text()  # the loading state is gone


def test_a_second_open_while_loading_is_refused_with_a_line(qtbot, win, tiny_run, monkeypatch):
    slow_loader(monkeypatch, 1.0)
    second: list[bool] = []
    QTimer.singleShot(50, lambda: second.append(win.open_checkpoint(ckpt(tiny_run, 32))))
    assert win.open_checkpoint(ckpt(tiny_run, 64))
    assert second == [False]
    assert win.checkpoint.name == "000000000064.safetensors"


def test_paused_open_shows_the_new_checkpoints_first_frame(qtbot, win, tiny_run):
    """Opening another checkpoint while paused: every panel holds the new session's first step and the footer
    is the new session's (on the old code nothing was drawn, and the footer kept the old session's step,
    until → or Play)."""
    win.set_speed(0.0)
    assert win.open_checkpoint(ckpt(tiny_run, 32))  # the first one plays at once
    qtbot.waitUntil(lambda: win.frames_received >= 12, timeout=WAIT_MS)
    win.pause()
    qtbot.waitUntil(lambda: not win.playing, timeout=WAIT_MS)
    assert win.open_checkpoint(ckpt(tiny_run, 96))
    assert not win.playing
    qtbot.waitUntil(lambda: win.last is not None, timeout=WAIT_MS)
    win.draw_now()
    assert win.session.checkpoint.name == "000000000096.safetensors"
    assert win.last.t == 0 and win.cursor == 0 and win.horizon == 1
    assert win.game._last is win.last
    assert len(win.timeline) == 1  # the plots' data: the new session's first step, nothing of the old one
    assert win.status_episode.text() == "episode 1 · step 0 / 1"
    assert win.timeline_label.text().startswith("episode 1 · step 0 of 1")


def test_paused_follow_switch_shows_the_new_checkpoints_first_frame(qtbot, win, tiny_run, tmp_path):
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    newest = ckpt(run, 96)
    aside = newest.rename(tmp_path / newest.name)
    win.set_speed(0.0)
    assert win.open_checkpoint(ckpt(run, 64))
    runs = win.runs
    runs.set_follow(True)
    aside.rename(newest)
    runs.poll()
    assert runs.pending == newest
    win.pause()
    qtbot.waitUntil(lambda: not win.playing, timeout=WAIT_MS)
    runs._switch()  # what the end of the episode triggers
    assert win.session.checkpoint == newest and not win.playing
    qtbot.waitUntil(lambda: win.last is not None, timeout=WAIT_MS)
    assert win.last.t == 0 and len(win.timeline) == 1
