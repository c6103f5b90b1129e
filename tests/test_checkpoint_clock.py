"""Checkpoints on a clock as well as every --checkpoint-every steps, and resume state for the newest few only
(issue 26 item 4, issue 27 item 10): a kill -9 loses at most --checkpoint-minutes, and a long run does not
pile up resume states twice the size of its models."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.test_reliability_train import start_trainer, wait_for
from tests.test_resume import trainer
from trainer.checkpoint import list_checkpoints, prune_checkpoints
from trainer.metrics import read_metrics
from trainer.resume import ResumeError, read_resume_state


def _states(ckpt_dir: Path) -> list[int]:
    return sorted(int(p.name.split(".")[0]) for p in ckpt_dir.glob("*.state.pt"))


def test_a_kill_9_resumes_from_the_last_clock_checkpoint_and_old_ones_keep_weights_only(tmp_path):
    run = tmp_path / "run"
    ckpt_dir = run / "checkpoints"
    # 32 steps an update; --checkpoint-every 64: every second update; a 0.6 ms clock: every update as well
    proc = start_trainer(run, "--checkpoint-every", "64", "--checkpoint-minutes", "0.00001",
                         "--keep-checkpoints", "0", "--no-tensorboard")  # fmt: skip
    wait_for(lambda: any(int(p.stem) >= 256 for p in list_checkpoints(ckpt_dir)), proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    models = [int(p.stem) for p in list_checkpoints(ckpt_dir)]
    newest = models[-3:]  # the newest two keep their resume state (three while the kill cut a save short)
    older = models[:-3]
    assert older and all(s % 64 == 0 for s in older)  # older clock checkpoints are gone; 64, 128...: kept
    assert older == list(range(64, older[-1] + 1, 64))
    assert not set(_states(ckpt_dir)) & set(older)  # and hold their weights only
    assert set(_states(ckpt_dir)) <= set(newest) | {newest[-1] + 32}
    resumable = max(s for s in _states(ckpt_dir) if s in models)
    assert resumable >= 256 - 32  # no older than one clock interval (one update here) before the kill
    out = trainer(run, "--resume", "--device", "cpu", "--no-progress", "--total-steps", str(resumable + 32))
    assert out.returncode == 0, out.stderr
    rows = read_metrics(run / "metrics.jsonl")
    assert [r["update"] for r in rows] == list(range(1, resumable // 32 + 2))  # each update once


def test_prune_keeps_the_resume_state_of_the_newest_few_only(tmp_path):
    for step in (32, 64, 96, 128, 160):
        (tmp_path / f"{step:012d}.safetensors").write_bytes(b"m")
        (tmp_path / f"{step:012d}.state.pt").write_bytes(b"s")
    prune_checkpoints(tmp_path, 4, 2)
    assert [int(p.stem) for p in list_checkpoints(tmp_path)] == [64, 96, 128, 160]
    assert _states(tmp_path) == [128, 160]
    prune_checkpoints(tmp_path, 0, 1)
    assert [int(p.stem) for p in list_checkpoints(tmp_path)] == [64, 96, 128, 160] and _states(tmp_path) == [160]
    # checkpoints off the --checkpoint-every schedule (the clock's, a stop's) go when their state goes
    (tmp_path / f"{192:012d}.safetensors").write_bytes(b"m")
    (tmp_path / f"{192:012d}.state.pt").write_bytes(b"s")
    prune_checkpoints(tmp_path, 0, 1, on_schedule=lambda step: step % 64 == 0)
    assert [int(p.stem) for p in list_checkpoints(tmp_path)] == [64, 128, 192] and _states(tmp_path) == [192]
    # --resume says why an older checkpoint cannot be continued from
    with pytest.raises(ResumeError, match=r"000000000128.state.pt missing \(a weights-only checkpoint"):
        read_resume_state(tmp_path / "000000000128.state.pt", 128)


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "1e400", "1e8"])
def test_checkpoint_minutes_out_of_range_is_one_line(tmp_path, capsys, value):
    from trainer.cli import main

    rc = main(["train", "--run-dir", str(tmp_path / "r"), "--checkpoint-minutes", value, "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("trainer: error: --checkpoint-minutes"), err
    assert not (tmp_path / "r").exists()
