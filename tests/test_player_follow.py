"""Follow mode when the run changes under the player (issue 30, item 4): the run folder renamed or restarted,
metric rows with numbers that cannot be drawn, stray files in checkpoints/, and ``--frames N --follow``
counting frames across the switches (a headless run never ended)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PyQt6.QtCore import QSettings  # noqa: E402

from snd_player.app.main_window import MainWindow  # noqa: E402
from snd_player.core.session import Session  # noqa: E402
from tests.conftest import ckpt_path as ckpt  # noqa: E402
from trainer.resume import set_aside_everything  # noqa: E402
from trainer.runs import Run  # noqa: E402

WAIT_MS = 60_000


def test_bad_rows_and_stray_files_are_skipped_with_one_warning(win, tiny_run, tmp_path, capsys):
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    assert win.open_checkpoint(ckpt(run, 96))
    runs = win.runs
    runs.set_follow(True)
    good = Run(run).metrics()[-1]
    bad = [
        json.dumps(dict(good, update=4)).replace(f'"global_step": {good["global_step"]}', '"global_step": NaN'),
        json.dumps(dict(good, update=4)).replace(f'"global_step": {good["global_step"]}', '"global_step": 1e400'),
        json.dumps(dict(good, update=4, global_step=128, score_mean=1.5)).replace('"score_mean": 1.5', '"score_mean": 1e400'),
    ]
    with open(run / "metrics.jsonl", "a") as f:
        f.write("\n".join([*bad, json.dumps(dict(good, update=4, global_step=128))]) + "\n")
    for name in ("²².safetensors", "9.safetensors"):  # "²²".isdigit(); int("²²") raised in every poll
        (run / "checkpoints" / name).write_bytes(b"junk")
    runs.poll()
    runs.poll()
    assert runs.panel.rows == 4 and runs.panel.steps[-1] == 128.0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "metrics.jsonl" in line]
    assert len(warnings) == 1 and "skipped 3 row(s)" in warnings[0] and "line 4: global_step is nan" in warnings[0]
    assert runs.pending is None  # neither stray is a newer checkpoint
    assert runs.chooser.count() == 4  # best, 96, 64, 32


def test_follow_says_so_when_its_run_is_renamed_and_restarted(qtbot, win, tiny_run, tmp_path):
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    messages: list[str] = []
    win.statusBar().messageChanged.connect(messages.append)
    win.set_speed(0.0)
    assert win.open_checkpoint(ckpt(run, 96))
    runs = win.runs
    runs.set_follow(True)
    run.rename(tmp_path / "renamed")
    runs.poll()
    assert any("is gone (renamed or moved?)" in m for m in messages), messages
    (tmp_path / "renamed").rename(run)
    runs.poll()
    assert any(m.startswith("run is back") for m in messages), messages
    # `trainer train --restart`: everything goes to old-<time>/, then the new run's first checkpoint appears
    aside = set_aside_everything(run)
    runs.poll()
    assert any("000000000096.safetensors was moved away" in m and "waiting" in m for m in messages), messages
    (run / "checkpoints").mkdir()
    shutil.copy2(aside / "checkpoints" / "000000000032.safetensors", ckpt(run, 32))
    runs.poll()
    assert runs.pending == ckpt(run, 32)
    qtbot.waitUntil(lambda: win.session.checkpoint == ckpt(run, 32), timeout=WAIT_MS)  # at an episode's end
    assert runs.current_step() == 32
    # the ended episode is paused while the next checkpoint loads beside the GUI thread (issue 27): the new
    # session's worker says it plays a moment after the switch
    qtbot.waitUntil(lambda: win.playing, timeout=WAIT_MS)


def test_frames_n_with_follow_plays_n_frames_over_a_switch(qtbot, win, tiny_run, tmp_path):
    """`snd-player RUN --frames N --follow`: the switch to a newer checkpoint started the count again (and
    played on), so a headless run never ended."""
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    win.set_speed(0.0)
    win.set_session(Session.from_checkpoint(ckpt(run, 32)), autoplay=False)
    win.runs.set_follow(True)
    assert win.runs.pending == ckpt(run, 96)
    win.play(100)  # the run's episodes end after 40 steps: the switch comes first
    qtbot.waitUntil(lambda: win.runs.current_step() == 96, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not win.playing and win.frames_total >= 100, timeout=WAIT_MS)
    assert win.frames_total == 100 and 0 < win.frames_received < 100


def test_follow_reopens_when_the_session_process_finds_its_checkpoint_gone(qtbot, tiny_run, tmp_path):
    """The session's process loads the checkpoint again; pruned or set aside in between, it failed and the
    player stood still. Following, the run's newest checkpoint is opened instead."""
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), session_process=True)
    qtbot.addWidget(w)
    try:
        w.show()
        w.runs.set_follow(True)
        session = Session.from_checkpoint(ckpt(run, 32))
        for suffix in (".safetensors", ".state.pt"):
            # as --keep-checkpoints prunes it (an older checkpoint may hold its weights only: no .state.pt)
            ckpt(run, 32).with_suffix(suffix).unlink(missing_ok=True)
        w.set_session(session)
        qtbot.waitUntil(lambda: w.session.checkpoint == ckpt(run, 96), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: w.frames_received > 0, timeout=WAIT_MS)  # and it plays
    finally:
        w.release()
