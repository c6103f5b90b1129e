"""``trainer sweep``: the grid, its folder names and commands, SLURM options through submitit, and a grid
of three tiny runs on submitit's local executor that is killed mid-way and re-submitted."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer import sweep as sw
from trainer.metrics import read_metrics

TINY = [
    "--num-envs", "2", "--encoder", "nature", "--device", "cpu", "--num-workers", "0",
    "--ppo.rollout-steps", "16", "--ppo.minibatch-size", "32", "--checkpoint-every", "32",
    "--total-steps", "96", "--obs-norm-init-steps", "4", "--no-tensorboard",
]  # fmt: skip  3 updates of 32 steps, a checkpoint after each


def _cli(*args: str) -> subprocess.CompletedProcess:
    """``trainer sweep ARGS`` in its own process group, which is killed whatever happens (its local jobs too)."""
    proc = subprocess.Popen([sys.executable, "-m", "trainer.cli", "sweep", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        out, err = proc.communicate()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_cells_names_and_commands(tmp_path: Path) -> None:
    fixed, axes = sw.split_train_options(["--num-envs", "8", "--ppo.lr", "1e-4,3e-4", "--no-tensorboard"])
    assert fixed == ["--num-envs", "8", "--no-tensorboard"] and axes == [("--ppo.lr", ["1e-4", "3e-4"])]
    cells = sw.make_cells(["snd-v", "rnd"], ["montezuma", "procgen:caveflyer"], [3, 4], axes)
    assert len(cells) == 2 * 2 * 2 * 2
    assert cells[0].name == "snd-v/montezuma/lr-1e-4/seed-3"
    assert cells[-1].name == "rnd/procgen-caveflyer/lr-3e-4/seed-4"
    argv = cells[0].train_argv(tmp_path, fixed, sw.max_minutes_for(240))
    assert argv == [
        "--algo", "snd-v", "--env", "ALE/MontezumaRevenge-v5", "--seed", "3",
        "--run-dir", str(tmp_path / "snd-v/montezuma/lr-1e-4/seed-3"), "--ppo.lr", "1e-4",
        "--num-envs", "8", "--no-tensorboard", "--max-minutes", "228",
    ]  # fmt: skip  240 - 5 % = 228: the trainer saves before the scheduler's wall clock
    # a --max-minutes of the user's wins over the one made from --time-min
    assert cells[0].train_argv(tmp_path, ["--max-minutes", "5"], 227.0).count("--max-minutes") == 1
    assert (sw.max_minutes_for(10), sw.max_minutes_for(4)) == (7.5, 2)  # 2.5 min at least, half at most
    assert sw.parse_seeds("1-3,7,2") == [1, 2, 3, 7]
    assert sw.game_of("ALE/Breakout-v5") == ("breakout", "ALE/Breakout-v5")
    assert sw.game_name_of_env("ALE/MontezumaRevenge-v5") == "montezuma"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--algos", "snd-x", "--games", "montezuma", "--seeds", "1"], "unknown algo 'snd-x'"),
        (["--algos", "rnd", "--games", "pong", "--seeds", "1"], "unknown game 'pong'"),
        (["--algos", "rnd", "--games", "montezuma", "--seeds", "3-1"], "--seeds '3-1'"),
        (["--algos", "rnd", "--games", "montezuma", "--seeds", "1", "--", "--seed", "4"], "--seed: the sweep sets it"),
        (["--resume"], "sweep.json: not found"),
        (["--algos", "rnd", "--games", "montezuma", "--seeds", "1", "--", "--num-env", "3"], "Unrecognized options: --num-env, 3"),
        (["--algos", "rnd", "--games", "montezuma", "--seeds", "1", "--", "--num-envs", "0"], "train options: --num-envs 0"),
        (["--algos", "rnd", "--games", "montezuma", "--seeds", "1", "--max-parallel", "0"], "--max-parallel 0"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, capsys, args: list[str], said: str) -> None:
    out = tmp_path / "sw"
    r = sw.main(["--out", str(out), *args])
    assert r == 2 and not out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0], err


def test_bad_input_message(tmp_path: Path, capsys) -> None:
    assert sw.main(["--out", str(tmp_path / "sw"), "--algos", "rnd", "--games", "pong", "--seeds", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown game 'pong'" in err[0] and err[0].startswith("trainer: error:")


def test_dry_run_prints_cells_and_commands_and_writes_nothing(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sw"
    rc = sw.main(["--out", str(out), "--algos", "ppo,rnd", "--games", "montezuma", "--seeds", "1,2",
                  "--time-min", "60", "--dry-run", "--", "--num-envs", "4"])  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 0 and not out.exists()
    assert "4 cells" in text and "4 to run" in text
    for name in ("ppo/montezuma/seed-1", "ppo/montezuma/seed-2", "rnd/montezuma/seed-1", "rnd/montezuma/seed-2"):
        assert f"{name}: not started" in text
        assert f"--run-dir {out / name} --num-envs 4 --max-minutes 57" in text  # 60 - 5 %


def test_slurm_options_reach_sbatch(tmp_path: Path, monkeypatch) -> None:
    """The SLURM options go through submitit into the #SBATCH lines of one job array; sbatch and srun are fakes
    here (sbatch keeps the script it is given and answers as SLURM does)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\ncp "$1" {tmp_path}/sbatch.sh\necho "Submitted batch job 42"\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "sw"
    rc = sw.main(["--out", str(out), "--algos", "ppo,rnd", "--games", "montezuma", "--seeds", "1-3",
                  "--executor", "slurm", "--max-parallel", "4", "--time-min", "240", "--slurm-partition", "gpu",
                  "--gpus-per-run", "1", "--cpus-per-run", "8", "--mem-gb", "32", "--slurm-account", "lab",
                  "--slurm-setup", "module load cuda", "--slurm", "exclude=node3", "--", "--num-envs", "32"])  # fmt: skip
    assert rc == 0
    text = (tmp_path / "sbatch.sh").read_text()
    for line in ("--partition=gpu", "--gpus-per-node=1", "--cpus-per-task=8", "--mem=32GB", "--account=lab",
                 "--time=240", "--exclude=node3", "--array=0-5%4", "--job-name=snd-sweep"):  # fmt: skip
        assert f"#SBATCH {line}\n" in text, line
    assert "module load cuda" in text
    doc = json.loads((out / "sweep.json").read_text())
    assert doc["submissions"][0]["jobs"] == [f"42_{i}" for i in range(6)]
    assert doc["cells"][0]["argv"][-2:] == ["--max-minutes", "228"]
    assert doc["slurm"]["partition"] == "gpu" and doc["time_min"] == 240


def test_a_job_continues_what_its_folder_holds(tmp_path: Path) -> None:
    """--resume from a complete step checkpoint; --restart when the run was killed while writing its first one
    (the trainer refuses --resume there, and the cell would never finish); nothing for a new folder."""
    run = tmp_path / "run"
    assert sw.continuation(run) == []
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    assert sw.continuation(run) == ["--resume"]  # config only: the trainer starts it from step 0
    (run / "metrics.jsonl").write_text('{"update": 1, "global_step": 32}\n')
    (run / "checkpoints/000000000032.state.pt").write_bytes(b"x")  # the resume state goes first ...
    assert sw.continuation(run) == ["--restart"]  # ... and the kill came before the model file
    (run / "checkpoints/000000000032.safetensors").write_bytes(b"x")
    assert sw.continuation(run) == ["--resume"]


def _steps(run: Path) -> list[int]:
    return [r["global_step"] for r in read_metrics(run / "metrics.jsonl")]


@pytest.mark.timeout(1200)  # up to six tiny trainer start-ups, two at a time, on a 2-core CI machine
def test_local_grid_killed_and_resubmitted_finishes_every_cell_once(tmp_path: Path) -> None:
    """3 seeds of tiny runs, two at a time; the whole sweep (driver and jobs) is killed with SIGKILL once a
    cell has its first checkpoint; --resume re-submits only the unfinished cells, each continues its own run
    (its first rows kept, no restart), and the finished ones are not touched. (Was 2 algos x 2 seeds: 181 s
    of CI on 2 cores for the same paths; the grid's algo axis is covered by the Slurm script test.)"""
    out = tmp_path / "sw"
    grid = ["--out", str(out), "--algos", "ppo", "--games", "montezuma", "--seeds", "1,2,3", "--max-parallel", "2"]
    names = ["ppo/montezuma/seed-1", "ppo/montezuma/seed-2", "ppo/montezuma/seed-3"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "trainer.cli", "sweep", *grid, "--", *TINY],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 500
        while time.monotonic() < deadline and proc.poll() is None:
            if any(list((out / n / "checkpoints").glob("0*.safetensors")) for n in names):  # written last
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and every job of it, as a lost node would
        proc.wait()
    before = {n: sw.cell_state(out, n) for n in names}
    unfinished = [n for n in names if not before[n].finished]
    assert unfinished, "the kill came after every cell had finished; nothing was re-submitted"
    killed = [n for n in unfinished if before[n].step > 0]
    first_rows = {n: read_metrics(out / n / "metrics.jsonl")[0] for n in killed}
    finished_bytes = {n: (out / n / "metrics.jsonl").read_bytes() for n in names if before[n].finished}

    r = _cli("--out", str(out), "--resume")
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads((out / "sweep.json").read_text())
    assert [s["cells"] for s in doc["submissions"]] == [names, unfinished]
    for n in names:
        assert sw.cell_state(out, n).finished and sw.cell_state(out, n).step == 96
        assert _steps(out / n) == [32, 64, 96]  # each update once: nothing lost, nothing twice
    for n, row in first_rows.items():  # a cell with a checkpoint continued it, never set aside and restarted
        assert read_metrics(out / n / "metrics.jsonl")[0] == row and not list((out / n).glob("old-*"))
    for n, data in finished_bytes.items():
        assert (out / n / "metrics.jsonl").read_bytes() == data

    again = _cli("--out", str(out), "--resume")
    assert again.returncode == 0 and "nothing to submit" in again.stdout
    assert len(json.loads((out / "sweep.json").read_text())["submissions"]) == 2


@pytest.mark.timeout(900)
def test_sigterm_to_the_driver_stops_its_running_cell_with_a_checkpoint(tmp_path: Path) -> None:
    """A local sweep stopped with SIGTERM (or Ctrl-C) stops the run it started: the trainer writes a checkpoint
    and exits, the driver waits for it and exits 130, and nothing holds the run folder afterwards."""
    from trainer.runs import lock_run_dir

    out = tmp_path / "sw"
    name = "ppo/montezuma/seed-1"
    long = [a if a != "96" else "100000" for a in TINY]  # the cell would run for a long time
    proc = subprocess.Popen(
        [sys.executable, "-m", "trainer.cli", "sweep", "--out", str(out), "--algos", "ppo", "--games", "montezuma",
         "--seeds", "1", "--", *long],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 500
        while time.monotonic() < deadline and proc.poll() is None:
            if read_metrics(out / name / "metrics.jsonl"):  # the trainer is in its loop
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=300)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and "interrupted" in err and "--resume" in err
    st = sw.cell_state(out, name)
    assert st.started and not st.finished and st.step >= 32  # stopped, with a checkpoint past the first update
    assert st.step == _steps(out / name)[-1]  # the checkpoint of the last update it finished
    with lock_run_dir(out / name):  # no trainer left running in the folder
        pass
