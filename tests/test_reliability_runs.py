"""Run folders that others touched (issue 30): stray files in checkpoints/, a deleted or odd ``.lock``, a full
disk before the first checkpoint.

1. Only the trainer's own ``<12 ASCII digits>.safetensors`` files are checkpoints, ordered as numbers; every
   reader (prune, resume, runs, the player) lists them through ``trainer.checkpoint.step_files``.
2. The run lock is an flock on the folder itself: deleting ``.lock`` does not free it, a FIFO there does
   not hang or fail, and a live trainer named in ``.lock`` is refused even without the flock.
3. A full disk before the first checkpoint: no TensorBoard thread traceback, and the one line does not
   advise ``--resume`` when there is nothing to resume.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from trainer.checkpoint import list_checkpoints, prune_checkpoints, step_files, step_of
from trainer.cli import main as trainer_main
from trainer.metrics import read_metrics
from trainer.resume import find_resume_point, holds_a_run
from trainer.runs import Run, RunError, lock_run_dir

TINY = [
    "--algo", "rnd", "--encoder", "nature", "--num-envs", "2", "--ppo.rollout-steps", "16",
    "--ppo.minibatch-size", "16", "--num-workers", "0", "--obs-norm-init-steps", "2", "--device", "cpu",
    "--seed", "3", "--no-progress",
]  # fmt: skip

STEPS = (32, 64, 128)
STRAYS = ("9.safetensors", "²².safetensors", "٠٠٠٠٠٠٠٠٠٠٣٢.safetensors", "notes.safetensors", "32.safetensors")


def _folder(tmp_path: Path) -> Path:
    """A checkpoints/ folder with three step files (model + state), best, and strays that sort as text
    after (or, "٠…٣٢", read by int() as) the trainer's names."""
    ckpt = tmp_path / "run" / "checkpoints"
    ckpt.mkdir(parents=True)
    for s in STEPS:
        (ckpt / f"{s:012d}.safetensors").write_bytes(b"m")
        (ckpt / f"{s:012d}.state.pt").write_bytes(b"s")
    (ckpt / "best.safetensors").write_bytes(b"b")
    for name in STRAYS:
        (ckpt / name).write_bytes(b"junk")
    (ckpt / "000000000256.safetensors").mkdir()  # a folder with a step name is no checkpoint either
    return ckpt


# ---- 1. what counts as a checkpoint -----------------------------------------------------------------------
def test_step_of_takes_twelve_ascii_digits_only():
    assert step_of("000000000032.safetensors") == 32 and step_of("000000000032.state.pt") == 32
    for name in ("9.safetensors", "²².safetensors", "٠٠٠٠٠٠٠٠٠٠٣٢.safetensors", "0000000000032.safetensors",
                 "+00000000032.safetensors", "best.safetensors", "000000000032.safetensors.tmp"):  # fmt: skip
        assert step_of(name) is None, name


def test_strays_are_listed_apart_and_steps_sort_as_numbers(tmp_path):
    ckpt = _folder(tmp_path)
    assert [step_of(p) for p in list_checkpoints(ckpt)] == list(STEPS)  # 9.safetensors was "newest" as text
    steps, foreign = step_files(ckpt)
    assert list(steps) == list(STEPS) and all(len(v) == 2 for v in steps.values())
    assert sorted(p.name for p in foreign) == sorted([*STRAYS, "000000000256.safetensors"])


def test_prune_keeps_the_newest_step_and_leaves_strays_alone(tmp_path):
    ckpt = _folder(tmp_path)
    prune_checkpoints(ckpt, 1)
    left = sorted(p.name for p in ckpt.iterdir())
    assert left == sorted(
        ["000000000128.safetensors", "000000000128.state.pt", "best.safetensors", "000000000256.safetensors",
         *STRAYS]
    )  # fmt: skip


def test_run_and_resume_read_the_same_listing(tmp_path):
    ckpt = _folder(tmp_path)
    run = Run(ckpt.parent)
    assert run.resolve("latest").name == "000000000128.safetensors"
    assert run.resolve("64").name == "000000000064.safetensors"  # int("²²") raised ValueError here
    for bad in ("²²", "٣٢", "+32", " 32"):
        with pytest.raises(RunError, match="expected best, latest or a step number"):
            run.resolve(bad)
    with pytest.raises(RunError, match=r"have: 32, 64, 128\)"):
        run.resolve("9")
    # resume passes over the (junk) step files, newest first, and never looks at the strays
    with pytest.raises(ValueError) as e:
        find_resume_point(ckpt.parent)
    assert "step 128" in str(e.value) and "٣٢" not in str(e.value) and "step 9:" not in str(e.value)


def test_a_folder_of_strays_holds_no_run(tmp_path):
    ckpt = tmp_path / "run" / "checkpoints"
    ckpt.mkdir(parents=True)
    (ckpt / "٠٠٠٠٠٠٠٠٠٠٣٢.state.pt").write_bytes(b"s")  # \d{12} matched it
    assert holds_a_run(ckpt.parent) is None and find_resume_point(ckpt.parent) is None


def test_trainer_with_a_stray_keeps_its_newest_checkpoint_and_resumes(tmp_path, capsys):
    """The issue's case: 9.safetensors in checkpoints/, --keep-checkpoints 1: the trainer pruned every
    checkpoint of its own and --resume refused."""
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    (ckpt / "9.safetensors").write_bytes(b"junk")
    args = ["train", "--run-dir", str(tmp_path), *TINY, "--total-steps", "96", "--checkpoint-every", "32",
            "--keep-checkpoints", "1", "--no-tensorboard"]  # fmt: skip
    assert trainer_main(args) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if "9.safetensors" in line]
    assert len(warnings) == 1 and "left alone" in warnings[0], err
    assert sorted(p.name for p in ckpt.iterdir()) == [
        "000000000096.safetensors", "000000000096.state.pt", "9.safetensors", "best.safetensors",
    ]  # fmt: skip
    assert (ckpt / "9.safetensors").read_bytes() == b"junk"
    resume = ["train", "--run-dir", str(tmp_path), "--resume", "--total-steps", "128", "--device", "cpu",
              "--no-progress"]  # fmt: skip
    assert trainer_main(resume) == 0
    assert [r["update"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2, 3, 4]


# ---- 2. the run lock ----------------------------------------------------------------------------------------
def test_deleting_the_lock_file_does_not_free_the_folder(tmp_path):
    run = tmp_path / "run"
    with lock_run_dir(run):
        (run / ".lock").unlink()
        with pytest.raises(RunError, match="already running"):
            lock_run_dir(run)
    lock_run_dir(run).release()  # released with its holder


def test_a_fifo_named_lock_neither_hangs_nor_fails(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    os.mkfifo(run / ".lock")
    with lock_run_dir(run):
        assert (run / ".lock").is_file()  # replaced by the holder's line, never opened as a FIFO
        assert (run / ".lock").read_text() == f"pid {os.getpid()} on {socket.gethostname()}\n"
        with pytest.raises(RunError, match=f"pid {os.getpid()}"):
            lock_run_dir(run)
    assert not (run / ".lock").exists()


def _holder_process(folder: Path | None) -> subprocess.Popen:
    """A live process that keeps ``folder`` open (as a trainer keeps its metrics and lock open), or
    nothing; it waits until its stdin is closed."""
    code = ("import os, sys\nif len(sys.argv) > 1: os.open(sys.argv[1], os.O_RDONLY)\nprint('ready', flush=True)\n"
            "sys.stdin.read()")  # fmt: skip
    p = subprocess.Popen([sys.executable, "-c", code, *([str(folder)] if folder else [])],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert p.stdout.readline() == "ready\n"
    return p


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads which files a process holds from /proc")
def test_a_live_trainer_named_in_the_lock_file_is_refused(tmp_path):
    """A trainer the folder's flock does not show (one that locked only the old .lock file): its pid, alive
    and holding the folder open, is refused; a dead pid, or a reused one, is not."""
    run = tmp_path / "run"
    run.mkdir()
    holder, stranger = _holder_process(run), _holder_process(None)
    try:
        (run / ".lock").write_text(f"pid {holder.pid} on {socket.gethostname()}\n")
        with pytest.raises(RunError, match=f"pid {holder.pid} .*alive"):
            lock_run_dir(run)
        (run / ".lock").write_text(f"pid {stranger.pid} on {socket.gethostname()}\n")
        lock_run_dir(run).release()
    finally:
        for p in (holder, stranger):
            p.stdin.close()
            p.wait(timeout=30)
    (run / ".lock").write_text(f"pid {holder.pid} on {socket.gethostname()}\n")  # ended
    lock_run_dir(run).release()


# ---- 3. a full disk before the first checkpoint ------------------------------------------------------------
def test_full_disk_before_the_first_checkpoint_says_restart_not_resume(tmp_path, monkeypatch, capsys):
    """Only metrics and TensorBoard written when the disk fills: TensorBoard's writer thread died with a
    traceback, and the line advised --resume, which refuses a run with no checkpoint."""
    from tensorboard.summary.writer.record_writer import RecordWriter

    thread_errors: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: thread_errors.append(args.exc_value))

    def disk_full(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(RecordWriter, "write", disk_full)  # in TensorBoard's writer thread
    args = ["train", "--run-dir", str(tmp_path), *TINY, "--total-steps", "96", "--checkpoint-every", "1G"]
    assert trainer_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert thread_errors == []  # nothing reached threading's default hook (a traceback on stderr)
    assert len(err.splitlines()) == 1 and "no space left on device" in err and str(tmp_path / "tb") in err, err
    assert "--resume" not in err and f"--run-dir {tmp_path} --restart" in err
    assert not list_checkpoints(tmp_path / "checkpoints")
    monkeypatch.undo()
    # the advice works (the bare command refuses a folder that holds metric rows)
    assert trainer_main(["train", "--run-dir", str(tmp_path), *TINY, "--total-steps", "32", "--restart"]) == 0
    assert [r["update"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1]
