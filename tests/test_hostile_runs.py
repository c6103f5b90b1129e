"""Every file of a run folder read like a checkpoint (issue 26), and a resume that keeps every readable metric
row up to its checkpoint (issue 29, item 1).

The hostile-input corpus is the table ``HOSTILE``: one line per kind of damage (what to put where, and what the
one-line refusal or warning must say); every reader of run files (``trainer.runfiles``) is run over it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.test_resume import ENV, RESUME, TINY, trainer, updates
from tests.test_resume import tb_steps as tb


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run (test_resume's): updates 1 and 2, checkpoints at steps 32 and 64, TensorBoard on."""
    run = tmp_path_factory.mktemp("finished") / "run"
    out = trainer(run, *TINY)
    assert out.returncode == 0, out.stderr
    return run


# ---- issue 29, item 1: one corrupt row loses nothing ---------------------------------------------------------
def test_resume_keeps_readable_rows_before_its_checkpoint_and_sets_the_bad_line_aside(finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    metrics = run / "metrics.jsonl"
    lines = metrics.read_bytes().splitlines(keepends=True)  # updates 1 and 2; the checkpoint is at update 2
    after = json.loads(lines[1])
    after.update(update=3, global_step=96)  # a row past the checkpoint (a killed session's): redone once
    bad = b'{"update": 2, "global_st\xde\xad torn by an editor\n'
    metrics.write_bytes(lines[0] + bad + lines[1] + (json.dumps(after) + "\n").encode())
    out = trainer(run, *RESUME, "--total-steps", "96")
    assert out.returncode == 0, out.stderr
    # rows 1 and 2 were readable and before the checkpoint: kept; 3 was after it: written again, once
    assert updates(run) == [1, 2, 3]
    assert tb(run) == [32, 64, 96]
    warning = [line for line in out.stderr.splitlines() if "unreadable" in line]
    assert len(warning) == 1, out.stderr
    assert str(metrics) in warning[0] and "line 2" in warning[0] and "1 unreadable row" in warning[0]
    (aside,) = run.glob("old-*")
    assert str(aside) in warning[0]
    assert bad in (aside / "metrics.jsonl").read_bytes().splitlines(keepends=True)


# ---- issue 26, item 1: the hostile-input corpus ---------------------------------------------------------------
# A metrics line and why the reader skips it; the next kind of bad row is one line here.
BAD_ROWS: list[tuple[str, bytes, str]] = [
    ("not JSON", b'{"update": 2, "global_st', "not valid JSON"),
    ("binary garbage", b"\xff\xde\xad\xbe", "not UTF-8 text (byte 0xff at column 1)"),
    ("a JSON list", b"[1, 2, 3]", "a list, not an object"),
    ("update null", b'{"update": null, "global_step": 64}', "'update' is null, expected a whole number"),
    ("update a string", b'{"update": "2", "global_step": 64}', "'update' is a string"),
    ("update a boolean", b'{"update": true, "global_step": 64}', "'update' is a boolean"),
    ("update negative", b'{"update": -2, "global_step": 64}', "expected a whole number >= 0"),
    ("global_step missing", b'{"update": 2}', "'global_step' is missing"),
    ("global_step NaN", b'{"update": 2, "global_step": NaN}', "'global_step' is nan"),
    ("global_step a float", b'{"update": 2, "global_step": 64.5}', "'global_step' is a number"),
    ("score infinite", b'{"update": 2, "global_step": 64, "score_mean": Infinity}', "'score_mean' is inf"),
    ("rooms not a list", b'{"update": 2, "global_step": 64, "rooms": 5}', "'rooms' is a whole number"),
    ("a nested object", b'{"update": 2, "global_step": 64, "loss": {"a": 1}}', "'loss' is an object"),
    ("nested 100000 deep", b'{"update": 2, "global_step": 64, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "nested deeper than 16 levels"),  # fmt: skip
    ("nested 17 deep", b'{"update": 2, "global_step": 64, "x": ' + b"[" * 16 + b"]" * 16 + b"}",
     "nested deeper than 16 levels"),  # fmt: skip
]


@pytest.mark.parametrize("line,why", [r[1:] for r in BAD_ROWS], ids=[r[0] for r in BAD_ROWS])
def test_every_reader_skips_a_bad_row_and_says_which_line(tmp_path, line, why):
    from trainer.metrics import read_metrics
    from trainer.runfiles import read_metric_rows
    from trainer.runs import MetricsTail, Run

    good = [{"update": 1, "global_step": 32, "score_mean": None, "rooms": [[0, 1]]},
            {"update": 3, "global_step": 96, "score_mean": 2.5, "rooms": []}]  # fmt: skip
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(json.dumps(good[0]).encode() + b"\n" + line + b"\n" + json.dumps(good[1]).encode() + b"\n")
    read = read_metric_rows(path)
    assert read.rows == good and len(read.bad) == 1
    assert read.bad[0][0] == 2 and why in read.bad[0][1]
    assert read.warning() == f"{path}: 1 unreadable row skipped (line 2: {read.bad[0][1]})"
    assert read_metrics(path) == good and Run(tmp_path).metrics() == good
    assert MetricsTail(path).poll() == (good, False)  # the player's --follow reader


def test_the_warning_counts_every_bad_row_and_names_their_lines(tmp_path):
    from trainer.runfiles import read_metric_rows

    path = tmp_path / "metrics.jsonl"
    ok = b'{"update": 1, "global_step": 32}\n'
    path.write_bytes(ok + b"x\n" + ok + b"[]\n\n" + b"null\n" + b'{"update": 9')  # blank: nothing; torn: not bad
    read = read_metric_rows(path)
    assert len(read.rows) == 2 and read.torn
    assert [n for n, _ in read.bad] == [2, 4, 6]
    assert read.warning().startswith(f"{path}: 3 unreadable rows skipped (lines 2, 4, 6; line 2: not valid JSON")


def _valid_config(run: Path) -> None:
    from trainer.config import TrainConfig, to_dict

    cfg = TrainConfig(algo="ppo", encoder="nature", num_envs=2, run_dir=run)
    (run / "config.json").write_text(json.dumps(to_dict(cfg)))


def _new(run: Path, name: str) -> Path:
    """``run / name``, with what was there (the valid config.json of a resume case) removed."""
    (run / name).unlink(missing_ok=True)
    return run / name


def _fifo(name: str):
    return lambda run: os.mkfifo(_new(run, name))


def _dev_zero(name: str):
    return lambda run: _new(run, name).symlink_to("/dev/zero")


def _bytes(name: str, data: bytes):
    return lambda run: _new(run, name).write_bytes(data)


def _sparse(name: str, size: int):
    def make(run: Path) -> None:
        with open(_new(run, name), "wb") as f:
            f.truncate(size)

    return make


def _folder(name: str):
    return lambda run: _new(run, name).mkdir()


# (id, what to put in the run folder, how the trainer is started, what its one line must say)
# "train": a fresh start on the folder; "resume": --resume with a valid config.json (unless the damage
# replaces it). Every case must end within the timeout, exit 2 and print one line naming the file.
HOSTILE: list[tuple[str, Any, str, str]] = [
    ("metrics FIFO, fresh start", _fifo("metrics.jsonl"), "train", "metrics.jsonl: is a FIFO, not a regular file"),
    ("metrics FIFO, resume", _fifo("metrics.jsonl"), "resume", "metrics.jsonl: is a FIFO, not a regular file"),
    ("config FIFO, resume", _fifo("config.json"), "resume", "config.json: is a FIFO, not a regular file"),
    ("metrics /dev/zero, fresh start", _dev_zero("metrics.jsonl"), "train", "metrics.jsonl: is a device"),
    ("config /dev/zero, resume", _dev_zero("config.json"), "resume", "config.json: is a device"),
    ("metrics a folder", _folder("metrics.jsonl"), "train", "metrics.jsonl: is a folder, not a regular file"),
    ("metrics over the cap", _sparse("metrics.jsonl", (1 << 30) + 1), "train",
     "metrics.jsonl: 1,073,741,825 bytes, more than the 1,073,741,824 expected"),  # fmt: skip
    ("config over the cap", _sparse("config.json", 2 << 20), "resume",
     "config.json: 2,097,152 bytes, more than the 1,048,576 expected"),  # fmt: skip
    ("config binary", _bytes("config.json", b'{"algo":\n "\xffppo"}'), "resume",
     "config.json: not UTF-8 text (line 2)"),  # fmt: skip
    ("config nested deep", _bytes("config.json", b"[" * 100_000 + b"]" * 100_000), "resume",
     "config.json: JSON nested deeper than 16 levels"),  # fmt: skip
    ("config torn", _bytes("config.json", b'{"algo": "ppo",\n "ppo": '), "resume",
     "config.json: not valid JSON (Expecting value at line 2, column 9)"),  # fmt: skip
    ("config a list", _bytes("config.json", b"[1]"), "resume", "expected a JSON object, found list"),
    ("tb a file", _bytes("tb", b"x"), "train", "tb: is a file, expected the folder of TensorBoard's event files"),
]

_LIMITED = (
    "import resource, sys; resource.setrlimit(resource.RLIMIT_DATA, (3 << 30, 3 << 30)); "
    "from trainer.cli import main; sys.exit(main(sys.argv[1:]))"
)  # a /dev/zero read on today's code ends in MemoryError at 3 GiB rather than taking the machine's memory


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory) -> dict[str, tuple[int | None, str]]:
    """Every HOSTILE case run at once, each in its own trainer process with a timeout: (exit status or None
    for a timeout, stderr)."""
    procs = {}
    for name, damage, how, _ in HOSTILE:
        run = tmp_path_factory.mktemp("hostile") / "run"
        run.mkdir()
        if how == "resume":
            _valid_config(run)
        damage(run)
        args = ["train", "--run-dir", str(run), *TINY] + (["--resume"] if how == "resume" else [])
        procs[name] = subprocess.Popen(
            [sys.executable, "-c", _LIMITED, *args], env=ENV, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
            text=True, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 180
    out = {}
    for name, p in procs.items():
        try:
            _, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            out[name] = (p.returncode, err)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            out[name] = (None, "")
    return out


@pytest.mark.parametrize("name,expected", [(r[0], r[3]) for r in HOSTILE], ids=[r[0] for r in HOSTILE])
def test_a_hostile_run_folder_is_one_line_and_exit_2(hostile_results, name, expected):
    rc, err = hostile_results[name]
    assert rc is not None, f"{name}: still running after 180 s (a hang)"
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("trainer: error: ") and expected in err, err


# ---- issue 26, item 3: --restart and a fresh start touch only runs -------------------------------------------
def _project(folder: Path) -> dict[str, bytes]:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "main.py").write_text("print('mine')\n")
    (folder / "README.md").write_text("# my project\n")
    (folder / "tb.txt").write_text("notes\n")
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("flag", ["", "--restart"])
def test_a_folder_that_is_not_a_run_is_refused_and_left_as_it_was(tmp_path, flag):
    before = _project(tmp_path)
    out = trainer(tmp_path, *TINY, *([flag] if flag else []))
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1, out.stderr
    prefix = "trainer: error: --restart: " if flag else "trainer: error: "
    assert out.stderr.startswith(
        f"{prefix}{tmp_path} is not a training run and not empty (it holds README.md, src, tb.txt); "
        f"pick a new or empty --run-dir, e.g. --run-dir {tmp_path / 'run'}"
    ), out.stderr
    assert _files(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "src", "tb.txt"]


def test_restart_moves_only_the_runs_own_files(tmp_path):
    from trainer.resume import set_aside_everything

    run = tmp_path
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "000000000032.safetensors").write_bytes(b"m")
    (run / "tb").mkdir()
    for name in ("metrics.jsonl", "config.json", "notes.txt", ".lock", ".envrc"):
        (run / name).write_text(name)
    (run / "old-20000101-000000").mkdir()
    aside = set_aside_everything(run)
    assert sorted(p.name for p in aside.iterdir()) == ["checkpoints", "config.json", "metrics.jsonl", "tb"]
    assert sorted(p.name for p in run.iterdir()) == sorted(
        [".envrc", ".lock", "notes.txt", "old-20000101-000000", aside.name]
    )


# ---- issue 26, item 2: every number on a command line parsed and range-checked -------------------------------
# (arguments, what the one line says). "--env ALE/NoSuchGame-v5" guards every case: even a value today's code
# took would not start a training.
BAD_NUMBERS: list[tuple[list[str], str]] = [
    (["--total-steps", "1e400"], "--total-steps: invalid step count '1e400'; expected at most 1e+15 steps"),
    (["--total-steps", "1e30"], "--total-steps: invalid step count '1e30'; expected at most 1e+15 steps"),
    (["--total-steps", "nan"], "--total-steps: invalid step count 'nan'"),
    (["--checkpoint-every", "inf"], "--checkpoint-every: invalid step count 'inf'"),
    (["--total-steps", "²²"], "--total-steps '²²': expected a number written with the digits 0-9"),
    (["--num-envs", "٣"], "--num-envs '٣': expected a number written with the digits 0-9"),
    (["--checkpoint-every=²²"], "--checkpoint-every '²²': expected a number written with the digits 0-9"),
    (["--num-envs", "1e400"], "--num-envs '1e400': expected a whole number"),
    (["--num-envs", "99999999999999999999"], "--num-envs 99999999999999999999: expected a whole number in [1, 65536]"),
    (["--seed", str(2**70)], f"--seed {2**70}: expected a whole number in [0, 2147483647]"),
    (["--max-minutes", "1e400"], "--max-minutes inf: expected a number in (0, 10000000]"),
    (["--checkpoint-minutes", "nan"], "--checkpoint-minutes nan: expected a number in [0, 10000000]"),
    (["--ppo.rollout-steps", "100000000"], "--ppo.rollout-steps 100000000: expected a whole number in [2, 10000000]"),
    (["--ppo.lr", "abc"], "--ppo.lr 'abc': expected a number"),
]


@pytest.mark.parametrize("args,expected", BAD_NUMBERS, ids=[" ".join(a) for a, _ in BAD_NUMBERS])
def test_a_bad_number_on_the_trainer_command_line_is_one_line(tmp_path, capsys, args, expected):
    from trainer.cli import main

    rc = main(["train", "--run-dir", str(tmp_path / "r"), "--env", "ALE/NoSuchGame-v5", "--device", "cpu", *args])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith(f"trainer: error: {expected}"), err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("value", [str(2**70), "-1", "٣", "1e400", "nan"])
def test_a_bad_seed_for_compare_is_one_argparse_error(tmp_path, capsys, value):
    from snd_player.cli.compare import build_parser

    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["a", "b", "--seed", value])
    assert e.value.code == 2
    assert f"argument --seed: {value!r}: expected a whole number in [0, 2147483647]" in capsys.readouterr().err


@pytest.mark.parametrize("which", ["٣", "²²", "1e400", "9" * 40])
def test_checkpoint_by_step_takes_digits_0_to_9_only(tmp_path, which):
    from trainer.runs import RunError, resolve_target

    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "000000000003.safetensors").write_bytes(b"m")
    with pytest.raises(RunError, match=r"expected best, latest or a step number \(digits 0-9\)"):
        resolve_target(tmp_path, which)
