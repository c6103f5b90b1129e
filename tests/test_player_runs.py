"""The player on run folders that `trainer train` wrote in the test: opening a run, the checkpoint chooser, the
training panel (also while rows arrive), drag-and-drop of a folder, the command line, and follow mode
against a live `trainer train` process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PyQt6.QtCore import QUrl  # noqa: E402

from tests.conftest import ckpt_path as ckpt  # noqa: E402
from trainer.runs import Run, checkpoint_info  # noqa: E402

WAIT_MS = 60_000


@pytest.fixture(autouse=True)
def dark_theme(qapp):
    """The app's dark theme, set before conftest's ``win`` is built (autouse fixtures come first)."""
    from snd_player.app.widgets.theme import apply_dark_theme

    apply_dark_theme(qapp)


def test_open_run_shows_best_its_curves_and_a_chooser(win, tiny_run):
    assert win.open_checkpoint(tiny_run)  # a folder: the run's best checkpoint
    best = checkpoint_info(tiny_run / "checkpoints" / "best.safetensors")
    assert win.session.checkpoint == best.path
    runs = win.runs
    assert runs.dock.isVisibleTo(win) and runs.run.path == tiny_run
    rows = Run(tiny_run).metrics()
    assert runs.panel.rows == 3
    x, y = runs.panel.curve_data("r_int_mean")
    assert np.array_equal(x, [r["global_step"] for r in rows]) and np.allclose(
        y, [r["r_int_mean"] for r in rows]
    )
    x, y = runs.panel.curve_data("loss_predictor")
    assert np.allclose(y, [r["loss_predictor"] for r in rows])
    assert runs.panel.marked_step == best.step and runs.panel.markers[0].value() == best.step
    labels = [runs.chooser.itemText(i) for i in range(runs.chooser.count())]
    assert labels[0].startswith(f"best (step {best.step})") and "rooms 1" in labels[0]
    assert labels[1:] == [checkpoint_info(ckpt(tiny_run, s)).label for s in (96, 64, 32)]
    assert runs.chooser.currentIndex() == 0
    runs.chooser.activated.emit(3)  # the user picks step 32
    assert win.session.checkpoint == ckpt(tiny_run, 32)
    assert runs.panel.marked_step == 32 and runs.chooser.currentIndex() == 3
    assert win.open_checkpoint(ckpt(tiny_run, 64))  # a file inside the run: the panel stays
    assert runs.panel.marked_step == 64 and runs.dock.isVisibleTo(win)


def test_drop_a_run_folder(win, tiny_run):
    mime = types.SimpleNamespace(hasUrls=lambda: True, urls=lambda: [QUrl.fromLocalFile(str(tiny_run))])
    accepted = []
    ev = types.SimpleNamespace(mimeData=lambda: mime, acceptProposedAction=lambda: accepted.append(True))
    win.dragEnterEvent(ev)
    assert accepted == [True]
    win.dropEvent(ev)
    assert win.session is not None and win.session.checkpoint.parent.parent == tiny_run
    assert win.runs.run is not None


def test_panel_follows_a_growing_metrics_file(win, tiny_run, tmp_path):
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    assert win.open_checkpoint(run)
    panel, runs = win.runs.panel, win.runs
    assert panel.rows == 3
    row = dict(Run(run).metrics()[-1], update=4, global_step=128, r_int_mean=0.5)
    line = (json.dumps(row) + "\n").encode()
    with open(run / "metrics.jsonl", "ab") as f:
        f.write(line + line[:20])  # one new row and the start of another, as a live trainer leaves it
    runs.poll()
    assert panel.rows == 4 and panel.curve_data("r_int_mean")[1][-1] == 0.5
    with open(run / "metrics.jsonl", "ab") as f:
        f.write(line[20:].replace(b'"update": 4', b'"update": 5'))
    runs.poll()
    assert panel.rows == 5


def test_command_line_run_folder(qtbot, tiny_run, tmp_path, capsys):
    from snd_player.cli import main

    assert (
        main([str(tiny_run), "--checkpoint", "7", "--frames", "2", "--screenshot", str(tmp_path / "a.png")])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err == f"snd-player: {tiny_run}: no checkpoint at step 7 (have: 32, 64, 96)"
    assert main([str(tmp_path), "--frames", "2", "--screenshot", str(tmp_path / "a.png")]) == 2
    assert "is a folder but not a training run" in capsys.readouterr().err
    out = tmp_path / "run.png"
    assert main([str(tiny_run), "--checkpoint", "latest", "--frames", "3", "--screenshot", str(out)]) == 0
    assert out.stat().st_size > 0


def test_follow_a_live_trainer(qtbot, win, tmp_path):
    """A real `trainer train` writes a checkpoint every update; the player, following, switches to newer
    ones only when an episode has ended, says so, and its curves grow with the trainer's rows."""
    run = tmp_path / "live"
    args = [sys.executable, "-m", "trainer.cli", "train", "--run-dir", str(run), "--algo", "snd-v",
            "--encoder", "nature", "--num-envs", "2", "--ppo.rollout-steps", "16", "--ppo.minibatch-size", "16",
            "--total-steps", "20k", "--checkpoint-every", "32", "--keep-checkpoints", "0",
            "--obs-norm-init-steps", "2", "--num-workers", "0", "--device", "cpu", "--torch-threads", "1",
            "--env-cfg.max-episode-steps", "30", "--no-tensorboard", "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        first = ckpt(run, 32)
        deadline = time.time() + 120
        while not first.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert first.exists(), proc.stderr.read().decode() if proc.poll() is not None else "no checkpoint"
        win.set_speed(4.0)
        played: list[
            tuple[int | None, object]
        ] = []  # (checkpoint step, record) as each worker hands them over

        def attach() -> None:
            step = win.runs.current_step()
            win.worker.worker.batch_ready.connect(lambda b: played.extend((step, r) for r in b.records))

        win.session_changed.connect(attach)
        messages: list[str] = []
        win.statusBar().messageChanged.connect(messages.append)
        assert win.open_checkpoint(first)
        rows_at_open = win.runs.panel.rows
        win.runs.follow_box.setChecked(True)
        assert win.runs.follow and win.runs.act_follow.isChecked()
        qtbot.waitUntil(lambda: (win.runs.current_step() or 0) > 32, timeout=WAIT_MS)
        assert any(m.startswith("following: episode over, switched to step") for m in messages), messages
        new_step = win.runs.current_step()
        qtbot.waitUntil(lambda: any(s == new_step for s, _ in played), timeout=WAIT_MS)
        old = [r for s, r in played if s == 32]
        new = [r for s, r in played if s == new_step]
        # the old agent finished an episode before the switch (how many records were in flight after that
        # episode end depends on the machine's load: the worker runs up to three batches ahead) ...
        assert any(r.done for r in old)
        assert new[0].t == 0 and new[0].episode == 0  # ... and the new one starts at an episode's start
        qtbot.waitUntil(lambda: win.runs.panel.rows > rows_at_open + 1, timeout=WAIT_MS)  # rows keep coming
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_file_compare_opens_a_compare_window_or_says_why_not(qtbot, win, tiny_run, tiny_run_rnd, tmp_path,
                                                             monkeypatch):  # fmt: skip
    from snd_player.app import run_support
    from snd_player.app.compare_window import CompareWindow
    from tests.test_record import tiny_checkpoint

    said: list[str] = []
    monkeypatch.setattr(run_support.QMessageBox, "critical", lambda _w, _t, text: said.append(text))
    coinrun = tiny_checkpoint(tmp_path, algo="rnd", env="procgen:coinrun")
    assert win.runs.open_compare(str(tiny_run), str(coinrun), 0) is None
    assert len(said) == 1 and "same game" in said[0] and "\n" not in said[0]
    cw = win.runs.open_compare(str(tiny_run), str(tiny_run_rnd), 3)
    assert isinstance(cw, CompareWindow) and cw.cmp.seed == 3
    qtbot.waitUntil(lambda: cw.frames_received > 0, timeout=WAIT_MS)
    cw.close()


def test_panel_leaves_out_updates_without_a_value(qtbot):
    """Updates in which no episode ended have no score: they are skipped, not drawn as gaps or zeros."""
    from snd_player.app.widgets.training import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    rows = [
        {"global_step": 32, "score_mean": None, "r_int_mean": 0.3},
        {"global_step": 64, "score_mean": 100.0, "score_max": 400, "r_int_mean": 0.2},
        {"global_step": 96, "r_int_mean": 0.1},
        {"update": 4},  # no step: not a row the panel can place
        {"global_step": 128, "score_mean": 50.0, "score_max": 50, "r_int_mean": float("nan")},
    ]
    panel.add_rows(rows)
    assert panel.rows == 4
    x, y = panel.curve_data("score_mean")
    assert x.tolist() == [64, 128] and y.tolist() == [100.0, 50.0]
    assert panel.curve_data("score_max")[1].tolist() == [400.0, 50.0]
    assert panel.curve_data("r_int_mean")[0].tolist() == [32, 64, 96]
    assert panel.curve_data("rooms_total")[0].size == 0
    panel.mark_step(64)
    assert all(m.isVisible() and m.value() == 64 for m in panel.markers)
    panel.clear_rows()
    assert panel.rows == 0 and panel.curve_data("r_int_mean")[0].size == 0


def test_step_ticks_are_compact():
    from snd_player.app.widgets.training import compact_steps

    assert [compact_steps(v) for v in (0, 500, 2000, 2500, 1_500_000, 128_000_000)] == [
        "0", "500", "2k", "2.5k", "1.5M", "128M"
    ]  # fmt: skip
