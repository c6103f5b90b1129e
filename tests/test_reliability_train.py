"""`trainer train` under signals, a second trainer and a full disk, on real trainer processes.

SIGTERM / one Ctrl-C: the update in progress finishes, a checkpoint and its resume state are written, the
metrics and TensorBoard are flushed, exit 0 with the resume command. A second Ctrl-C stops at once. A second
trainer on a folder a live one holds refuses in one line; kill -9 of the holder frees the folder. A full
disk (ENOSPC, injected) gives one line and leaves what was written before intact and resumable.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from trainer.checkpoint import list_checkpoints
from trainer.cli import main as trainer_main
from trainer.metrics import read_metrics
from trainer.runs import RunError, lock_run_dir

ROOT = Path(__file__).resolve().parents[1]

# 2 envs x 16 steps per update, in-process envs, nature encoder (84x84): a few updates a second
TINY = [
    "--algo", "rnd", "--encoder", "nature", "--num-envs", "2", "--ppo.rollout-steps", "16",
    "--ppo.minibatch-size", "16", "--num-workers", "0", "--obs-norm-init-steps", "2", "--device", "cpu",
    "--seed", "3", "--no-progress",
]  # fmt: skip


def start_trainer(run_dir: Path, *extra: str) -> subprocess.Popen:
    """A real `trainer train` that would run for a long time (checkpoints only when told to stop)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    args = ["train", "--run-dir", str(run_dir), *TINY, "--total-steps", "10M", "--checkpoint-every", "1G"]
    return subprocess.Popen(
        [sys.executable, "-m", "trainer.cli", *args, *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(cond, proc: subprocess.Popen, timeout: float = 240.0) -> None:
    t_end = time.monotonic() + timeout
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"trainer exited early ({proc.returncode}): {proc.stderr.read()}")
        if time.monotonic() > t_end:
            proc.kill()
            raise AssertionError("timed out waiting for the trainer")
        time.sleep(0.1)


def rows_written(run_dir: Path, n: int = 1):
    return lambda: len(read_metrics(run_dir / "metrics.jsonl")) >= n


def tb_steps(run_dir: Path, tag: str) -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    return [e.step for e in acc.Scalars(tag)] if tag in acc.Tags()["scalars"] else []


def test_sigterm_saves_flushes_and_exits_0_and_a_second_trainer_is_refused(tmp_path):
    run = tmp_path / "run"
    proc = start_trainer(run)
    try:
        wait_for(rows_written(run, 2), proc)
        # one trainer per folder: a second one, resuming or fresh, is refused in one line while it runs
        second = subprocess.run(
            [sys.executable, "-m", "trainer.cli", "train", "--run-dir", str(run), "--resume", "--device", "cpu"],
            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert second.returncode == 2, second.stderr
        assert len(second.stderr.strip().splitlines()) == 1 and "already running" in second.stderr
        assert f"pid {proc.pid}" in second.stderr
        assert trainer_main(["train", "--run-dir", str(run), *TINY]) == 2  # fresh, in this process
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=240)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    line = out.strip().splitlines()[-1]
    assert "SIGTERM" in line and f"trainer train --run-dir {run} --resume" in line
    rows = read_metrics(run / "metrics.jsonl")
    last = rows[-1]["global_step"]
    assert [r["update"] for r in rows] == list(range(1, len(rows) + 1))
    # the checkpoint holds the last update written to metrics.jsonl, with its resume state
    ckpts = list_checkpoints(run / "checkpoints")
    assert [int(p.stem) for p in ckpts] == [last]
    assert ckpts[-1].with_suffix(".state.pt").is_file()
    assert max(tb_steps(run, "loss_policy")) == last  # TensorBoard was flushed up to the same update
    # and it resumes from there
    assert trainer_main(["train", "--run-dir", str(run), "--resume", "--total-steps", str(last + 32)]) == 0
    assert [r["update"] for r in read_metrics(run / "metrics.jsonl")] == list(range(1, len(rows) + 2))


def _ctrl_c_after_first_row(run: Path, presses: int) -> threading.Thread:
    """Press Ctrl-C (SIGINT to this process) once the trainer has written a row, ``presses`` times 0.5 s
    apart; the handler runs in the main thread, where the trainer is."""

    def run_() -> None:
        t_end = time.monotonic() + 240
        while not rows_written(run)() and time.monotonic() < t_end:
            time.sleep(0.05)
        for i in range(presses):
            if i:
                time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=run_, daemon=True)
    t.start()
    return t


def test_one_ctrl_c_is_graceful(tmp_path, capsys):
    run = tmp_path / "run"
    # what the trainer must put back: Python's handler, or SIG_IGN where pytest was started in the
    # background of a non-interactive shell (which ignores SIGINT for it)
    before_int, before_term = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    t = _ctrl_c_after_first_row(run, 1)
    rc = trainer_main(["train", "--run-dir", str(run), *TINY, "--total-steps", "10M", "--no-tensorboard"])
    t.join()
    out, err = capsys.readouterr()
    assert rc == 0 and "Traceback" not in err, err
    assert "SIGINT received" in out and f"--run-dir {run} --resume" in out
    last = read_metrics(run / "metrics.jsonl")[-1]["global_step"]
    assert [int(p.stem) for p in list_checkpoints(run / "checkpoints")] == [last]
    assert signal.getsignal(signal.SIGINT) is before_int  # the handlers were put back
    assert signal.getsignal(signal.SIGTERM) is before_term


def test_a_second_ctrl_c_stops_at_once():
    """The first signal only sets the flag and gives the default handlers back: a second Ctrl-C raises
    KeyboardInterrupt wherever the trainer is (`trainer train` exits 130), a second SIGTERM kills."""
    from trainer.stop import StopFlag

    before = signal.getsignal(signal.SIGINT)
    stop = StopFlag().install()
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)  # the handler runs at the next bytecode boundary of the main thread
        assert stop.requested and stop.name == "SIGINT"
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
    finally:
        stop.restore()
    assert signal.getsignal(signal.SIGINT) is before


def test_kill_9_of_the_holder_frees_the_folder(tmp_path):
    run = tmp_path / "run"
    proc = start_trainer(run, "--no-tensorboard")
    try:
        wait_for(lambda: (run / "config.json").exists(), proc)
        with pytest.raises(RunError, match="already running"):
            lock_run_dir(run)
        proc.kill()  # SIGKILL: no handler, no cleanup
        proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.communicate()
    with lock_run_dir(run) as lock:  # the kernel released the lock with the process
        assert lock.run_dir == run


def test_lock_is_released_and_retaken_in_one_process(tmp_path):
    with lock_run_dir(tmp_path / "r"):
        with pytest.raises(RunError) as e:
            lock_run_dir(tmp_path / "r")
        assert f"pid {os.getpid()}" in str(e.value) and "\n" not in str(e.value)
    lock_run_dir(tmp_path / "r").release()


def test_config_json_is_written_before_the_first_env_step(tmp_path, monkeypatch):
    import trainer.loop as loop

    seen = []

    def no_envs(*a, **k):
        seen.append(json.loads((tmp_path / "config.json").read_text())["algo"])
        raise OSError(errno.EIO, "stop here")

    monkeypatch.setattr(loop, "make_vec_env", no_envs)
    assert trainer_main(["train", "--run-dir", str(tmp_path), *TINY]) == 2
    assert seen == ["rnd"]


# ---- full disk -------------------------------------------------------------------------------------------


def _disk_full_after(monkeypatch, n_ok: int, where: str) -> None:
    """Path.write_bytes (how checkpoints and resume states reach the disk) raises ENOSPC after ``n_ok``
    writes under a folder named ``where``, after writing half its bytes, as a filling disk does."""
    real = pathlib.Path.write_bytes
    count = [0]

    def write_bytes(self, data):
        if where in self.parts:
            count[0] += 1
            if count[0] > n_ok:
                real(self, bytes(memoryview(data)[: len(memoryview(data)) // 2]))
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", write_bytes)


def test_full_disk_while_checkpointing_keeps_the_earlier_checkpoint_resumable(tmp_path, monkeypatch, capsys):
    args = ["train", "--run-dir", str(tmp_path), *TINY, "--total-steps", "96", "--checkpoint-every", "32",
            "--no-tensorboard", "--keep-checkpoints", "5"]  # fmt: skip
    # the first checkpoint (state, step file, best) fits; the second one's resume state does not
    _disk_full_after(monkeypatch, 3, "checkpoints")
    assert trainer_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no space left on device" in err, err
    assert "000000000064.state.pt" in err and ".tmp" not in err and "--resume" in err
    ckpt_dir = tmp_path / "checkpoints"
    assert sorted(p.name for p in ckpt_dir.iterdir()) == [
        "000000000032.safetensors", "000000000032.state.pt", "best.safetensors",
    ]  # fmt: skip
    monkeypatch.undo()
    assert (
        trainer_main(["train", "--run-dir", str(tmp_path), "--resume", "--device", "cpu", "--no-progress"])
        == 0
    )
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["update"] for r in rows] == [1, 2, 3] and rows[-1]["global_step"] == 96


def test_full_disk_while_writing_a_metrics_row(tmp_path, monkeypatch, capsys):
    import trainer.metrics as metrics

    real_write = metrics.MetricsWriter.write

    def write(self, row, scalars):
        if row["update"] == 2:  # half a row reaches the disk, then it is full
            self._f.write(json.dumps(row)[:20])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(self, row, scalars)

    monkeypatch.setattr(metrics.MetricsWriter, "write", write)
    args = ["train", "--run-dir", str(tmp_path), *TINY, "--total-steps", "96", "--checkpoint-every", "32",
            "--no-tensorboard"]  # fmt: skip
    assert trainer_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no space left on device" in err and str(tmp_path) in err, err
    monkeypatch.undo()
    assert [int(p.stem) for p in list_checkpoints(tmp_path / "checkpoints")] == [32]
    assert (
        trainer_main(["train", "--run-dir", str(tmp_path), "--resume", "--device", "cpu", "--no-progress"])
        == 0
    )
    assert [r["update"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2, 3]


def _disk_full_text(monkeypatch):
    real = pathlib.Path.write_text

    def write_text(self, *a, **k):
        real(self, "{")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pathlib.Path, "write_text", write_text)


DEMO = ROOT / "snd_player" / "assets" / "demo.safetensors"


def test_full_disk_while_writing_an_eval_report_keeps_the_old_one(tmp_path, monkeypatch, capsys):
    from snd_player.cli import eval as player_eval

    out = tmp_path / "report.json"
    out.write_text('{"old": true}')
    _disk_full_text(monkeypatch)
    rc = player_eval.main(
        [str(DEMO), "--episodes", "1", "--max-steps", "3", "--out", str(out), "--no-progress"]
    )
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert (
        len(err.splitlines()) == 1
        and "No space left on device" in err
        and str(out) in err
        and ".tmp" not in err
    )
    assert out.read_text() == '{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_full_disk_while_saving_an_analyze_figure(tmp_path, monkeypatch, capsys):
    from matplotlib.figure import Figure

    from trainer import analyze

    def savefig(self, fname, **k):
        Path(fname).write_bytes(b"\x89PNG")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Figure, "savefig", savefig)
    out = tmp_path / "f.png"
    rc = analyze.main([str(DEMO), "--out", str(out), "--max-steps", "3", "--method", "pca", "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert (
        len(err.splitlines()) == 1
        and "No space left on device" in err
        and str(out) in err
        and ".tmp" not in err
    )
    assert list(tmp_path.iterdir()) == []


def test_full_disk_while_recording_a_video(tmp_path, monkeypatch, capsys):
    from snd_player.cli import record
    from snd_player.media.video_writers import _Mp4Writer

    def write(self, frame, fmt):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / ".v.mp4.x.part.mp4"))

    monkeypatch.setattr(_Mp4Writer, "write", write)
    out = tmp_path / "v.mp4"
    rc = record.main([str(DEMO), "--frames", "3", "--out", str(out), "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert (
        len(err.splitlines()) == 1
        and "no space left on device" in err
        and str(out) in err
        and ".part" not in err
    )
    assert list(tmp_path.iterdir()) == []
