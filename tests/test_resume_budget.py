"""Resume across devices (generator states) and the --max-minutes wall-clock budget (issue 9, items 6-7)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from trainer.checkpoint import list_checkpoints
from trainer.cli import main as trainer_main
from trainer.config import TrainConfig
from trainer.loop import Trainer, restore_generator, save_generator, train
from trainer.metrics import read_metrics

TINY = ["--num-envs", "2", "--ppo.rollout-steps", "16", "--ppo.minibatch-size", "16", "--total-steps", "64",
        "--checkpoint-every", "1000", "--obs-norm-init-steps", "2", "--num-workers", "0", "--device", "cpu",
        "--no-tensorboard", "--no-progress", "--seed", "3", "--encoder", "nature"]  # fmt: skip


def tiny(run_dir: Path) -> TrainConfig:
    cfg = TrainConfig(
        algo="snd-v", run_dir=run_dir, num_envs=2, total_steps=64, device="cpu", seed=3, num_workers=0,
        obs_norm_init_steps=2, tensorboard=False, progress=False, checkpoint_every=32, encoder="nature",
    )  # fmt: skip
    return dataclasses.replace(cfg, ppo=dataclasses.replace(cfg.ppo, rollout_steps=16, minibatch_size=16))


def _as_if_saved_on_cuda(state_path: Path, old_format: bool) -> None:
    """Rewrite a CPU run's resume state the way a CUDA run writes it: CUDA generator states (16 bytes:
    seed and philox offset) tagged 'cuda', or, for files written before the device was recorded, empty."""
    state = torch.load(state_path, weights_only=True)
    for key in ("sample_gen", "motivation_gen"):
        cuda_state = torch.zeros(16, dtype=torch.uint8)
        state[key] = torch.zeros(0) if old_format else {"device": "cuda", "state": cuda_state}
    torch.save(state, state_path)


def test_a_cuda_run_resumes_on_the_cpu_with_one_warning(tmp_path, capsys):
    """Today's CUDA state file (the pre-issue-9 one, with empty states, crashed set_state the same way;
    restore_generator's test covers its format)."""
    run = tmp_path / "run"
    train(tiny(run), max_updates=1)
    [ckpt] = list_checkpoints(run / "checkpoints")
    _as_if_saved_on_cuda(ckpt.with_suffix(".state.pt"), old_format=False)
    capsys.readouterr()
    rows = train(dataclasses.replace(tiny(run), resume=True))
    assert [r["update"] for r in rows] == [2]
    warning = [line for line in capsys.readouterr().err.splitlines() if "re-seeded" in line]
    assert len(warning) == 1 and "cpu" in warning[0]
    assert [r["global_step"] for r in read_metrics(run / "metrics.jsonl")] == [32, 64]


def test_same_device_resume_restores_the_generators_exactly(tmp_path, capsys):
    train(tiny(tmp_path), max_updates=1)
    [ckpt] = list_checkpoints(tmp_path / "checkpoints")
    saved = torch.load(ckpt.with_suffix(".state.pt"), weights_only=True)
    tr = Trainer(dataclasses.replace(tiny(tmp_path), resume=True), resume=True)
    try:
        assert torch.equal(tr.sample_gen.get_state(), saved["sample_gen"]["state"])
        assert torch.equal(tr.motivation.generator.get_state(), saved["motivation_gen"]["state"])
    finally:
        tr.close()
    assert "re-seeded" not in capsys.readouterr().err


class FakeCudaGenerator:
    """What the CPU-to-CUDA direction sees: a generator on a CUDA device (no CUDA here to make one)."""

    device = torch.device("cuda", 0)

    def __init__(self) -> None:
        self.seeded: int | None = None

    def set_state(self, state: torch.Tensor) -> None:
        raise AssertionError("a CPU state must not be loaded into a CUDA generator")

    def manual_seed(self, seed: int) -> FakeCudaGenerator:
        self.seeded = seed
        return self


def test_generator_states_restore_only_on_the_same_device_type():
    cpu = torch.Generator().manual_seed(5)
    saved = save_generator(cpu)
    assert saved["device"] == "cpu"
    expected = torch.rand(3, generator=cpu)
    again = torch.Generator().manual_seed(99)
    assert restore_generator(again, saved, reseed=7)
    assert torch.equal(torch.rand(3, generator=again), expected)
    # CPU -> CUDA: re-seeded, never handed a state of the other layout
    fake = FakeCudaGenerator()
    assert not restore_generator(fake, saved, reseed=7) and fake.seeded == 7
    assert not restore_generator(FakeCudaGenerator(), saved["state"], reseed=7)  # pre-issue-9 CPU file
    # CUDA -> CPU, both file formats
    cuda_saved = {"device": "cuda", "state": torch.zeros(16, dtype=torch.uint8)}
    for s in (cuda_saved, torch.zeros(0)):
        g = torch.Generator()
        assert not restore_generator(g, s, reseed=11)
        assert torch.equal(
            torch.rand(3, generator=g), torch.rand(3, generator=torch.Generator().manual_seed(11))
        )


def test_max_minutes_stops_after_the_update_checkpoints_and_resume_continues(tmp_path, capsys):
    run = tmp_path / "run"
    # a budget any update crosses: the run stops after its first update, not before it
    rc = trainer_main(["train", "--run-dir", str(run), "--algo", "snd-v", *TINY, "--max-minutes", "1e-6"])
    assert rc == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--max-minutes" in err[0] and "--resume" in err[0], err
    assert [r["global_step"] for r in read_metrics(run / "metrics.jsonl")] == [32]
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["000000000032.safetensors"]
    assert (run / "checkpoints" / "000000000032.state.pt").exists()
    rc = trainer_main(["train", "--run-dir", str(run), *TINY, "--resume"])
    assert rc == 0
    assert [r["global_step"] for r in read_metrics(run / "metrics.jsonl")] == [32, 64]
    # a budget not reached changes nothing
    rows = train(dataclasses.replace(tiny(tmp_path / "long"), max_minutes=60.0))
    assert [r["global_step"] for r in rows] == [32, 64]


def test_max_minutes_must_be_positive(tmp_path, capsys):
    rc = trainer_main(["train", "--run-dir", str(tmp_path / "r"), *TINY, "--max-minutes", "0"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "--max-minutes" in err and len(err.splitlines()) == 1
