"""No waiting, no blank panels (issue 27): a checkpoint loads beside the GUI thread while the window keeps
answering and says what it loads; a checkpoint opened while paused shows its first frame in every panel."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PyQt6.QtCore import QTimer  # noqa: E402

from snd_player.core.session import Session  # noqa: E402
from tests.conftest import ckpt_path as ckpt  # noqa: E402
from tests.test_session import tiny_agent, tiny_checkpoint  # noqa: E402, F401 - fixtures

WAIT_MS = 60_000


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


# -- 3: start-up -------------------------------------------------------------------------------------------
def test_a_wrong_path_is_answered_before_torch_or_qt_is_imported(tmp_path):
    """The path is checked with the file system before the heavy imports (they took 9-13 s on a cold, busy
    machine); the old code imported torch and PyQt6 first."""
    import subprocess
    import sys

    code = (
        "import sys; from snd_player.cli import main; rc = main(sys.argv[1:]); "
        "print(rc, 'torch' in sys.modules, 'PyQt6' in sys.modules, file=sys.stderr)"
    )
    for argv in (
        [str(tmp_path / "missing.safetensors")],
        [str(tmp_path / "no-run"), "--follow"],
        [str(tmp_path), "--trajectory", str(tmp_path / "t.json"), "--speed", "2"],
    ):
        p = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
        lines = p.stderr.strip().splitlines()
        assert lines[-1] == "2 False False", p.stderr
        assert len(lines) == 2 and lines[0].startswith("snd-player: ") and "no such" in lines[0]


def test_speed_choices_are_the_steppers():
    from snd_player.cli import SPEED_CHOICES
    from snd_player.core.stepper import SPEEDS

    assert SPEED_CHOICES == SPEEDS


def test_start_up_shows_what_it_loads(qtbot, tiny_checkpoint, tmp_path, monkeypatch):  # noqa: F811
    """While the command line's checkpoint loads, the window is up and says so, rather than "paused · networks
    0.0 ms/step" over empty panels."""
    from PyQt6.QtWidgets import QApplication

    from snd_player.app import main_window
    from snd_player.cli import main

    slow_loader(monkeypatch, 1.0)
    seen: list[tuple[bool, str, str]] = []

    def look() -> None:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, main_window.MainWindow) and w.loading is not None:
                seen.append((w.isVisible(), w.status_fps.text(), w.header.text()))

    timer = QTimer()
    timer.timeout.connect(look)
    timer.start(20)
    out = tmp_path / "shot.png"
    assert main([str(tiny_checkpoint), "--frames", "2", "--screenshot", str(out), "--size", "1280x720"]) == 0
    timer.stop()
    assert seen, "no loading state was seen while the checkpoint loaded"
    visible, fps, header = seen[0]
    assert visible and fps == f"loading {tiny_checkpoint.name} …" and header.startswith("loading")


# -- 4: a run that is starting ---------------------------------------------------------------------------
def starting_run(tiny_run: Path, tmp_path: Path) -> Path:
    """A run folder as `trainer train` leaves it in its first seconds: config.json alone."""
    run = tmp_path / "starting"
    run.mkdir()
    shutil.copy(tiny_run / "config.json", run / "config.json")
    return run


def test_a_starting_run_is_waited_for_and_its_first_checkpoint_opened(qtbot, win, tiny_run, tmp_path):
    """The old code said "is a folder but not a training run" for config.json alone, and "no checkpoint yet"
    once checkpoints/ existed."""
    from trainer.runs import Run

    run = starting_run(tiny_run, tmp_path)
    assert Run.is_run(run) and Run(run).is_starting()
    other = tmp_path / "not-a-run"
    other.mkdir()
    (other / "config.json").write_text('{"model_type": "bert"}')  # some other tool's config.json
    assert not Run.is_run(other)

    assert win.runs.open_run(run)
    assert win.session is None and win.runs.waiting and win.runs.follow
    assert win.header.text().startswith("waiting for the first checkpoint of <b>starting</b>")
    assert win.stack.currentWidget() is win.player and win.runs.dock.isVisible()
    (run / "checkpoints").mkdir()
    win.runs.poll()
    assert win.session is None and win.runs.waiting  # an empty checkpoints/ is still no checkpoint
    shutil.copy(ckpt(tiny_run, 32), ckpt(run, 32))
    qtbot.waitUntil(lambda: win.session is not None, timeout=WAIT_MS)
    assert win.session.checkpoint == ckpt(run, 32) and not win.runs.waiting
    qtbot.waitUntil(lambda: win.frames_received > 0, timeout=WAIT_MS)  # and it plays
    assert win.runs.follow  # newer checkpoints follow


def test_command_line_follow_waits_for_a_starting_runs_first_checkpoint(qtbot, tiny_run, tmp_path, capsys):
    """`snd-player RUN --follow` started with the trainer: the old code exited 2 ("no checkpoint yet")."""
    from snd_player.cli import main

    run = starting_run(tiny_run, tmp_path)
    (run / "checkpoints").mkdir()

    def trainer_writes_one() -> None:
        shutil.copy(ckpt(tiny_run, 64), ckpt(run, 64))

    QTimer.singleShot(1500, trainer_writes_one)  # after the window is up and waiting
    out = tmp_path / "shot.png"
    assert main([str(run), "--follow", "--frames", "3", "--screenshot", str(out), "--size", "1280x720"]) == 0
    assert "3 frames" in capsys.readouterr().out and out.stat().st_size > 0


# -- 5: right-click export on every plot ----------------------------------------------------------------
def _right_click(widget) -> None:
    """A right-click where the user's lands: a plot's viewport (the first plot of a panel of several)."""
    import pyqtgraph as pg
    from PyQt6.QtCore import QPoint
    from PyQt6.QtGui import QContextMenuEvent
    from PyQt6.QtWidgets import QApplication

    views = [widget] if isinstance(widget, pg.GraphicsView) else widget.findChildren(pg.GraphicsView)
    target = views[0].viewport() if views else widget
    pos = QPoint(target.width() // 2, target.height() // 2)
    QApplication.sendEvent(target, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, target.mapToGlobal(pos)))


def test_every_plot_has_the_export_entries(qtbot, win, tiny_run, tmp_path, monkeypatch):
    """On the old code the menu was asked of the plots' viewports, which never ask: no menu opened on
    Intrinsic motivation, Values, Feature projection or the Training-run plots."""
    from PyQt6.QtWidgets import QMenu

    assert win.runs.open_run(tiny_run)
    qtbot.waitUntil(lambda: win.frames_received > 2, timeout=WAIT_MS)
    win.pause()
    shown: list[list[str]] = []
    monkeypatch.setattr(QMenu, "exec", lambda self, *a: shown.append([x.text() for x in self.actions()]))
    both = ["Save image (PNG)…", "Save data (CSV)…"]
    panels = {
        "intrinsic": win.intrinsic, "values": win.values, "projection": win.projection, "policy": win.policy,
        "training": win.runs.panel,
    }  # fmt: skip
    for name, widget in panels.items():
        shown.clear()
        _right_click(widget)
        assert shown == [both], name
    shown.clear()
    _right_click(win.rooms)
    assert shown == [["Save image (PNG)…"]]


def test_save_image_with_a_csv_name_writes_the_csv_or_says_why_not(qtbot, win, tiny_run, tmp_path):
    """"Save image" given a name ending .csv wrote nothing and said nothing (QImage knows no csv format)."""
    assert win.runs.open_run(tiny_run)
    qtbot.waitUntil(lambda: win.runs.panel.rows > 0, timeout=WAIT_MS)
    training = win.runs.export
    out = tmp_path / "curves.csv"
    assert training.save(out)
    lines = out.read_text().splitlines()
    assert lines[0].startswith("global_step,") and len(lines) == 1 + win.runs.panel.rows
    assert win.statusBar().currentMessage() == f"saved {win.runs.panel.rows} rows of training to {out}"
    rooms = next(e for e in win.exports if e.name == "rooms")
    assert not rooms.save(tmp_path / "rooms.csv") and not (tmp_path / "rooms.csv").exists()
    assert "has no data to save as CSV" in win.statusBar().currentMessage()
    assert not training.save(tmp_path / "curves.txt")
    assert win.statusBar().currentMessage() == "curves.txt: expected a name ending .png (image) or .csv (data)"
    assert training.save(tmp_path / "curves.png") and (tmp_path / "curves.png").stat().st_size > 0


# -- 7: compare ----------------------------------------------------------------------------------------
def test_normalised_plots_keep_each_curves_shape(qtbot):
    """V_int of 5.1 and 38 wiggling alike: divided by their maxima (the old rule) both were flat lines near 1;
    min–max normalised they are the same curve from 0 to 1, and the axis says which normalisation."""
    from snd_player.app.compare_window import DualPlot
    from snd_player.core.compare import min_max

    x = np.linspace(0, 6, 50)
    a, b = 5.1 + 0.1 * np.sin(x), 38.0 + 0.5 * np.sin(x)
    plot = DualPlot("V_int", ("A", "B"))
    qtbot.addWidget(plot)
    plot.set_normalised(True)
    plot.show_data(a, b, 10, 50)
    ya, yb = plot.curve_a.yData, plot.curve_b.yData
    assert np.allclose(ya, yb) and ya.min() == pytest.approx(0.0) and ya.max() == pytest.approx(1.0)
    assert np.allclose(ya, (np.sin(x) + 1) / 2, atol=0.01)  # sin over 0..6 spans -1..1 nearly
    assert plot.getPlotItem().getAxis("left").labelText == "min–max, 0..1"
    assert np.array_equal(min_max(np.array([3.0, 3.0])), [0.5, 0.5]) and min_max(np.zeros(0)).size == 0


def test_compare_window_has_a_menu_speed_keys_and_closes_on_esc(qtbot, tiny_run, tiny_run_rnd):
    from PyQt6.QtCore import Qt

    from snd_player.app.compare_window import CompareWindow
    from snd_player.core.compare import Comparison
    from snd_player.core.stepper import SPEEDS

    cmp = Comparison.open(tiny_run, tiny_run_rnd, seed=2, which="32")  # --checkpoint 32 of both runs
    assert cmp.a.checkpoint == ckpt(tiny_run, 32) and cmp.b.checkpoint == ckpt(tiny_run_rnd, 32)
    win = CompareWindow(cmp)
    qtbot.addWidget(win)
    win.show()
    menus = win.menuBar().actions()
    assert [m.text() for m in menus] == ["&Compare"]
    keys = {a.text(): [k.toString() for k in a.shortcuts()] for a in menus[0].menu().actions() if a.text()}
    assert keys["Faster"] == ["+", "="] and keys["Slower"] == ["-"] and keys["Close"] == ["Ctrl+W", "Esc"]
    assert "min–max" in win.norm_box.text() and "min–max over the episode so far" in win.norm_box.toolTip()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    one = SPEEDS.index(1.0)
    qtbot.keyClick(win, Qt.Key.Key_Plus)
    assert win.speed_box.currentIndex() == one + 1
    qtbot.keyClick(win, Qt.Key.Key_Minus)
    qtbot.keyClick(win, Qt.Key.Key_Minus)
    assert win.speed_box.currentIndex() == one - 1
    qtbot.keyClick(win, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=5000)


def test_compare_checkpoint_option_names_a_missing_step_in_one_line(tiny_run, tiny_run_rnd, capsys):
    from snd_player.cli.compare import main

    assert main([str(tiny_run), str(tiny_run_rnd), "--checkpoint", "7"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"snd-player compare: {tiny_run}: no checkpoint at step 7 (have: 32, 64, 96)"


def test_best_ties_go_to_the_newest_checkpoint():
    """Every score 0 after 20k steps: the old rule (a strictly higher score) kept the first checkpoint."""
    import math

    from trainer.loop import is_new_best

    assert is_new_best(0.0, 0.0, best_exists=True)  # a tie: the newer one
    assert is_new_best(-math.inf, -math.inf, best_exists=True)  # no episode ended yet: the newer one
    assert not is_new_best(0.0, 100.0, best_exists=True)
    assert is_new_best(-5.0, 100.0, best_exists=False)  # the first checkpoint is best


def test_the_chooser_says_why_best_is_best(win, tiny_run):
    from PyQt6.QtCore import Qt

    assert win.runs.open_run(tiny_run)
    chooser = win.runs.chooser
    tip = chooser.itemData(0, Qt.ItemDataRole.ToolTipRole)
    assert chooser.itemText(0).startswith("best (step") and tip.startswith(chooser.itemText(0) + "\nbest: ")
    assert "with equal scores the newest checkpoint is best" in tip
    assert chooser.itemData(1, Qt.ItemDataRole.ToolTipRole) == chooser.itemText(1)


# -- 6: 1280x720 ----------------------------------------------------------------------------------------
def test_training_panel_text_fits_at_1280x720(qtbot, win, tiny_run):
    """At 1280x720 the chooser read "best (step 96) · score 0 · r", a title "motivation: predictor targ"; the
    header could end a line in "·" (screenshots: issue 27 item 6)."""
    from PyQt6.QtWidgets import QLabel

    from snd_player.app.window_build import header_html

    assert win.runs.open_run(tiny_run)
    qtbot.waitUntil(lambda: win.runs.dock.isVisible(), timeout=WAIT_MS)
    qtbot.wait(200)  # the docks' default sizes are set once they are laid out
    chooser = win.runs.chooser
    assert chooser.fontMetrics().horizontalAdvance(chooser.currentText()) + 30 <= chooser.width()
    for label in win.runs.panel.findChildren(QLabel):
        assert label.sizeHint().width() <= label.width(), label.text()
    assert win.runs.info.wordWrap()
    html = header_html(win.session.meta, win.session.checkpoint)
    assert "· </span>" not in html and html.count("·</span>&nbsp;") == 3  # each "·" glued to what follows


# -- 8: record --compare on a full disk ------------------------------------------------------------------
def test_record_compare_on_a_full_disk_says_so_in_one_line(tiny_run, tiny_run_rnd, tmp_path, monkeypatch, capsys):
    """The single-agent recorder named a full disk; --compare printed the encoder's raw "[Errno 28] No space
    left on device: '.../.ab.mp4.part.mp4'"."""
    import errno
    import os

    from snd_player.cli.record import main as record_main
    from snd_player.media import record as media_record

    real = media_record._Mp4Writer.write
    calls = [0]

    def write(self, frame, fmt):
        calls[0] += 1
        if calls[0] == 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / ".ab.mp4.part.mp4"))
        real(self, frame, fmt)

    monkeypatch.setattr(media_record._Mp4Writer, "write", write)
    out = tmp_path / "ab.mp4"
    argv = ["--compare", str(tiny_run), str(tiny_run_rnd), "--out", str(out), "--frames", "8"]
    assert record_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"snd-player record: error: {out}: no space left on device; nothing was written (the partial "
                   "video was removed)")  # fmt: skip
    assert not out.exists() and not [p for p in tmp_path.iterdir() if "part" in p.name]


# -- 9: trainer start -----------------------------------------------------------------------------------
def test_trainer_says_the_rounded_step_count_and_the_warm_up(tmp_path, capsys):
    """The bar sat at 0 % through the normaliser's warm-up with no word, and --total-steps 20000 silently ran
    20,480 steps."""
    import dataclasses

    from trainer.cli import main as trainer_main
    from trainer.config import TrainConfig
    from trainer.loop import start_notes

    cfg = TrainConfig(total_steps=20_000, num_envs=16)
    cfg = dataclasses.replace(cfg, ppo=dataclasses.replace(cfg.ppo, rollout_steps=128))
    notes = start_notes(cfg, 0, warms_up=False)
    assert notes == ["--total-steps 20,000 is not a whole number of updates (2,048 steps each: 128 steps x 16 "
                     "envs); training runs 10 updates, 20,480 steps"]  # fmt: skip
    assert start_notes(dataclasses.replace(cfg, total_steps=20_480), 0, warms_up=False) == []

    args = ["train", "--run-dir", str(tmp_path / "run"), "--algo", "rnd", "--encoder", "nature", "--num-envs",
            "2", "--ppo.rollout-steps", "16", "--ppo.minibatch-size", "16", "--num-workers", "0",
            "--obs-norm-init-steps", "3", "--device", "cpu", "--seed", "3", "--total-steps", "40",
            "--no-tensorboard"]  # fmt: skip
    assert trainer_main(args) == 0
    err = capsys.readouterr().err
    assert ("trainer: --total-steps 40 is not a whole number of updates (32 steps each: 16 steps x 2 envs); "
            "training runs 2 updates, 64 steps") in err  # fmt: skip
    assert "trainer: warming up the observation normaliser: 3 random-action steps in each of the 2 envs (6 " in err
    assert err.index("warming up") < err.index("%|")  # before the bar
