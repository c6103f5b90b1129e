"""--track: W&B logging, wired through a fake ``wandb`` module (what is logged, at which step, on resume),
once for real in wandb's offline mode (wandb is in the test extra), and the one line when it is missing."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from tests.conftest import train_tiny_run

TINY = ["--algo", "ppo", "--encoder", "nature", "--num-envs", "2", "--ppo.rollout-steps", "16",
        "--ppo.minibatch-size", "16", "--checkpoint-every", "32", "--total-steps", "64", "--num-workers", "0",
        "--device", "cpu", "--no-progress", "--no-tensorboard", "--obs-norm-init-steps", "2"]  # fmt: skip


class FakeRun:
    def __init__(self, **kw) -> None:
        self.init = kw
        self.logged: list[tuple[int, dict]] = []
        self.finished = False

    def log(self, data: dict, step: int) -> None:
        self.logged.append((step, data))

    def finish(self) -> None:
        self.finished = True


@pytest.fixture
def fake_wandb(monkeypatch) -> list[FakeRun]:
    runs: list[FakeRun] = []
    mod = types.ModuleType("wandb")
    mod.init = lambda **kw: runs.append(FakeRun(**kw)) or runs[-1]
    monkeypatch.setitem(sys.modules, "wandb", mod)
    return runs


def test_track_logs_every_update_to_one_wandb_run_kept_on_resume(fake_wandb, tmp_path: Path) -> None:
    from trainer.cli import main

    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "--track", "--wandb-project", "p", *TINY]) == 0
    (w,) = fake_wandb
    assert [s for s, _ in w.logged] == [32, 64] and w.finished
    assert {"r_int_mean", "loss_policy", "steps_per_s"} <= set(w.logged[0][1])  # score_mean: no episode ended
    assert all(isinstance(v, (int, float)) for _, d in w.logged for v in d.values())  # no None/NaN/lists
    assert (w.init["project"], w.init["dir"], w.init["resume"]) == ("p", str(run), "allow")
    assert w.init["config"]["algo"] == "ppo" and w.init["config"]["track"] is True
    assert (run / "wandb-id").read_text().strip() == w.init["id"]
    # a resumed run continues the same W&B run (its --track comes from the run's config)
    assert main(["train", "--run-dir", str(run), "--resume", "--total-steps", "96", "--device", "cpu", "--no-progress"]) == 0
    assert fake_wandb[1].init["id"] == w.init["id"] and [s for s, _ in fake_wandb[1].logged] == [96]


def test_track_without_wandb_is_one_line_and_no_folder(monkeypatch, tmp_path: Path, capsys) -> None:
    from trainer.cli import main

    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb -> ImportError
    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "--track", *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--track needs wandb" in err[0] and "pip install 'snd[wandb]'" in err[0]
    assert not run.exists()


def test_no_track_never_imports_wandb(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)
    train_tiny_run(tmp_path / "run", algo="ppo", updates=1)  # would raise on an import of wandb
    assert not (tmp_path / "run" / "wandb-id").exists()


def test_track_in_wandb_offline_mode(monkeypatch, tmp_path: Path) -> None:
    """The real wandb, offline: the run's W&B files sit in the run folder under the id kept in wandb-id, and
    its record file holds the logged scalars (wandb 0.17+ has no Python reader of it, hence the bytes)."""
    pytest.importorskip("wandb", reason="wandb is in the test extra: pip install -e '.[test]'")
    from trainer.cli import main

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "--track", *TINY]) == 0
    run_id = (run / "wandb-id").read_text().strip()
    (record,) = run.glob(f"wandb/offline-run-*-{run_id}/run-{run_id}.wandb")
    data = record.read_bytes()
    assert b"r_int_mean" in data and b"loss_policy" in data and b"steps_per_s" in data
