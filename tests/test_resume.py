"""--resume never destroys a run, and metrics.jsonl and TensorBoard hold each update exactly once (issue 15,
items 1-4; issue 14, items 5-6). The folder-level tests run real trainer processes on a finished two-checkpoint
run, damaged the way a kill -9, a full disk or a stranger would leave it."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import ckpt_path as ckpt  # noqa: E402
from trainer.agent import build_agent, load_agent, save_agent
from trainer.cli import main as trainer_main
from trainer.config import TrainConfig
from trainer.metrics import read_metrics, truncate_metrics
from trainer.resume import ResumeError, read_resume_state, remove_stale_temps, set_aside_everything

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
# the reproduction, smaller: two updates of 2 envs x 16 steps, a checkpoint after each
TINY = ["--algo", "ppo", "--encoder", "nature", "--num-envs", "2", "--ppo.rollout-steps", "16",
        "--ppo.minibatch-size", "32", "--checkpoint-every", "32", "--total-steps", "64", "--num-workers", "0",
        "--device", "cpu", "--no-progress", "--seed", "3"]  # fmt: skip
RESUME = ["--resume", "--device", "cpu", "--no-progress"]


def trainer(run: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "trainer.cli", "train", "--run-dir", str(run), *args]
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)


def tb_steps(run: Path, tag: str = "loss_policy") -> list[int]:
    """The steps TensorBoard shows for ``tag``, read back the way TensorBoard reads them (purges applied)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    return [e.step for e in acc.Scalars(tag)] if tag in acc.Tags()["scalars"] else []


def updates(run: Path) -> list[int]:
    return [r["update"] for r in read_metrics(run / "metrics.jsonl")]


def snapshot(run: Path) -> dict[str, str]:
    """Every file under ``run`` with the sha256 of its bytes."""
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in run.rglob("*")
        if p.is_file() and p.name != ".lock"  # the folder lock: the holder's pid, rewritten by every trainer
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished run: updates 1 and 2, checkpoints at steps 32 and 64, TensorBoard on."""
    run = tmp_path_factory.mktemp("finished") / "run"
    out = trainer(run, *TINY)
    assert out.returncode == 0, out.stderr
    assert updates(run) == [1, 2] and tb_steps(run) == [32, 64]
    return run


@pytest.fixture
def run(finished, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(finished, dst)
    return dst


class _RunsCode:
    """A pickle that would create a file if it were ever unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# ---- item 1: no resume state loads -> one line, nothing changed ------------------------------------------
def _delete_states(run: Path) -> list[str]:
    for step in (32, 64):
        ckpt(run, step, ".state.pt").unlink()
    return ["step 64: 000000000064.state.pt missing", "step 32: 000000000032.state.pt missing"]


def _mixed_damage(run: Path) -> list[str]:
    ckpt(run, 64, ".state.pt").write_bytes(ckpt(run, 64, ".state.pt").read_bytes()[:300])  # truncated
    model = ckpt(run, 32)
    model.write_bytes(model.read_bytes()[:-1000])  # truncated model beside an intact state
    # a stranger's file with a huge header, newer than everything
    ckpt(run, 96).write_bytes((10**15).to_bytes(8, "little") + b"{}")
    ckpt(run, 96, ".state.pt").write_bytes(ckpt(run, 32, ".state.pt").read_bytes())
    # another run's agent, with a resume state that fits it
    foreign = build_agent(TrainConfig(algo="rnd", encoder="nature", seed=9).resolved(), torch.device("cpu"))
    save_agent(foreign, ckpt(run, 128), 128)
    state = torch.load(ckpt(run, 32, ".state.pt"), weights_only=True)
    torch.save({**state, "global_step": 128}, ckpt(run, 128, ".state.pt"))
    return [
        "step 128: 000000000128.safetensors: a rnd nature-encoder agent for ALE/MontezumaRevenge-v5, but this run "
        "trains ppo with the nature encoder on ALE/MontezumaRevenge-v5",
        "step 96: 000000000096.state.pt: holds the state of step 32, not of step 96",
        "step 64: 000000000064.state.pt: not a snd resume file (truncated or corrupt)",
        "step 32: 000000000032.safetensors: truncated",
    ]


@pytest.mark.parametrize("damage", [_delete_states, _mixed_damage])
def test_resume_refuses_in_one_line_and_changes_nothing(run, damage):
    reasons = damage(run)
    before = snapshot(run)
    out = trainer(run, *RESUME)
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("trainer: error: --resume: no checkpoint in") and "--restart" in lines[0]
    for reason in reasons:
        assert reason in lines[0]
    assert snapshot(run) == before  # the trained checkpoints and the metrics are untouched


# ---- item 4: a pickle as a resume file -> fall back, no code runs ------------------------------------------
def test_a_pickled_resume_file_is_passed_over_and_its_model_set_aside(run, tmp_path):
    marker = tmp_path / "code-ran"
    ckpt(run, 64, ".state.pt").write_bytes(pickle.dumps({"optimizer": _RunsCode(marker)}))
    newest = ckpt(run, 64).read_bytes()
    out = trainer(run, *RESUME)
    assert out.returncode == 0, out.stderr
    assert not marker.exists()
    assert "weights_only" not in out.stderr and "Traceback" not in out.stderr
    assert (
        "continuing from step 32, passing over step 64: 000000000064.state.pt: not a snd resume file"
        in out.stderr
    )
    # the resumed run redid update 2: each update once in both logs
    assert updates(run) == [1, 2]
    assert tb_steps(run) == [32, 64]
    assert load_agent(ckpt(run, 64)).meta["global_step"] == 64
    # the model it passed over is kept, byte for byte, with the metrics as they were
    (aside,) = run.glob("old-*")
    assert (aside / "checkpoints" / "000000000064.safetensors").read_bytes() == newest
    assert [r["update"] for r in read_metrics(aside / "metrics.jsonl")] == [1, 2]


# ---- item 2: a crash before the first checkpoint ------------------------------------------------------------
def test_crash_before_the_first_checkpoint_refuses_then_restart_logs_each_update_once(run):
    # as a kill -9 during the first checkpoint write leaves it: one metric row, no checkpoint, a temp file
    shutil.rmtree(run / "checkpoints")
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / ".000000000032.state.pt.k3j2h1g0.tmp").write_bytes(b"half")
    truncate_metrics(run / "metrics.jsonl", 1)
    before = snapshot(run)
    for args in (TINY, RESUME):
        out = trainer(run, *args)
        assert out.returncode == 2
        assert len(out.stderr.splitlines()) == 1 and "--restart" in out.stderr, out.stderr
        assert "1 metric rows of a run stopped before its first checkpoint" in out.stderr
        assert snapshot(run) == before
    out = trainer(run, *TINY, "--restart")
    assert out.returncode == 0, out.stderr
    assert updates(run) == [1, 2]
    assert tb_steps(run) == [32, 64]
    (aside,) = run.glob("old-*")
    assert updates(aside) == [1] and (aside / "tb").is_dir() and (aside / "config.json").exists()
    assert f"the old contents of {run} are in {aside}" in out.stderr


# ---- item 3: a resume with nothing to do ------------------------------------------------------------------------
def test_a_do_nothing_resume_keeps_tensorboards_last_point(run):
    def files():  # TensorBoard's folder gets the (empty) events file of the new session
        return {k: v for k, v in snapshot(run).items() if not k.startswith("tb/")}

    before = files()
    out = trainer(run, *RESUME)
    assert out.returncode == 0, out.stderr
    assert tb_steps(run) == [32, 64]
    assert "is already at step 64 of 64; nothing to do" in out.stderr
    assert updates(run) == [1, 2]
    assert files() == before


# ---- issue 14, items 5 and 6: stale temp files, the checkpoint's own TensorBoard point -------------------------
def test_resume_after_a_kill_keeps_the_checkpoint_step_and_removes_our_temp_files(run):
    # killed while writing checkpoint 64: its resume state was written (it goes first), the model was not
    ckpt(run, 64).unlink()
    ours = [
        run / "checkpoints" / ".000000000064.safetensors.ab12cd_4.tmp",
        run / "checkpoints" / ".best.safetensors.zzzzzzzz.tmp",
        run / ".config.json.0a1b2c3d.tmp",
    ]
    theirs = [run / "checkpoints" / ".000000000064.safetensors.notours", run / "notes.tmp"]
    for p in ours + theirs:
        p.write_bytes(b"x")
    out = trainer(run, *RESUME)
    assert out.returncode == 0, out.stderr
    assert updates(run) == [1, 2]
    assert tb_steps(run) == [32, 64]  # 32 is the checkpoint's own update: kept, once
    assert not any(p.exists() for p in ours)
    assert all(p.exists() for p in theirs)
    assert not list(run.glob("old-*"))  # a lone resume state is no work of anyone's: nothing to set aside


# ---- the pieces, in-process -----------------------------------------------------------------------------------
def test_read_resume_state_rejects_non_tensor_pickles_without_loading_them(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "000000000032.state.pt"
    torch.save({"global_step": 32, "optimizer": _RunsCode(marker)}, path)
    with pytest.raises(ResumeError) as e:
        read_resume_state(path, 32)
    assert (
        str(e.value)
        == "000000000032.state.pt: not a snd resume file (it holds Python objects other than tensors)"
    )
    assert not marker.exists()
    torch.save([1, 2], path)
    with pytest.raises(ResumeError, match="expected a dictionary, found list"):
        read_resume_state(path, 32)
    torch.save({"global_step": 32}, path)
    with pytest.raises(ResumeError, match="'update' missing or of the wrong type"):
        read_resume_state(path, 32)


def test_restart_moves_everything_but_hidden_entries_and_earlier_asides(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "000000000032.safetensors").write_bytes(b"m")
    (run / "metrics.jsonl").write_text("{}\n")
    (run / ".lock").write_text("")
    (run / "old-20000101-000000").mkdir()
    (run / ".config.json.abcdefgh.tmp").write_text("")
    aside = set_aside_everything(run)
    assert sorted(p.name for p in run.iterdir()) == sorted([".lock", aside.name, "old-20000101-000000"])
    assert (aside / "checkpoints" / "000000000032.safetensors").read_bytes() == b"m"
    assert (aside / "metrics.jsonl").read_text() == "{}\n"
    assert set_aside_everything(run) is None  # nothing left to move: no empty old-* folder
    assert remove_stale_temps(tmp_path / "missing") == []


def test_resume_and_restart_together_is_one_line(tmp_path, capsys):
    rc = trainer_main(["train", "--run-dir", str(tmp_path / "r"), "--resume", "--restart", "--device", "cpu"])
    err = capsys.readouterr().err
    assert (
        rc == 2
        and err.startswith("trainer: error: --resume and --restart: pick one")
        and err.count("\n") == 1
    )
    assert not (tmp_path / "r").exists()


def test_an_unreadable_config_json_is_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text('{"algo": "ppo", "ppo": ')  # torn
    rc = trainer_main(["train", "--run-dir", str(run), "--resume", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    # the reader of run files (trainer.runfiles) names the file, the line and the column
    assert err.startswith(
        f"trainer: error: --resume: {run / 'config.json'}: not valid JSON (Expecting value at line 1, column 24)"
    )
