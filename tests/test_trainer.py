"""End-to-end trainer tests on the CPU: smoke runs for every algo, determinism, checkpoints, resume."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from trainer.agent import load_agent
from trainer.checkpoint import CheckpointError, list_checkpoints
from trainer.cli import main as trainer_main
from trainer.config import TrainConfig
from trainer.loop import train
from trainer.metrics import read_metrics

ALGOS = ["ppo", "rnd", "snd-v", "snd-std", "snd-vic"]


def tiny(run_dir: Path, env: str = "ALE/MontezumaRevenge-v5", algo: str = "snd-v", **kw) -> TrainConfig:
    """Two updates of 2 envs x 16 steps, envs stepped in-process."""
    cfg = TrainConfig(
        env=env, algo=algo, run_dir=run_dir, num_envs=2, total_steps=64, device="cpu", seed=3, num_workers=0,
        obs_norm_init_steps=2, tensorboard=False, progress=False, checkpoint_every=32, **kw,
    )  # fmt: skip
    return dataclasses.replace(cfg, ppo=dataclasses.replace(cfg.ppo, rollout_steps=16, minibatch_size=16))


DROP = {"wall_time_s", "steps_per_s"}


def strip(rows):
    return [{k: v for k, v in r.items() if k not in DROP} for r in rows]


@pytest.mark.parametrize("algo", ALGOS)
def test_smoke_montezuma(tmp_path, algo):
    rows = train(tiny(tmp_path, algo=algo))
    assert [r["global_step"] for r in rows] == [32, 64]
    for r in rows:
        assert np.isfinite(r["loss_policy"]) and np.isfinite(r["loss_value_ext"])
        assert r["rooms_total"] >= 1  # Montezuma's rooms come from RAM, the start room at least
        if algo != "ppo":
            assert 0.0 <= r["r_int_mean"] <= 1.0 and np.isfinite(r["loss_predictor"])
    assert len(read_metrics(tmp_path / "metrics.jsonl")) == 2
    assert (tmp_path / "config.json").exists()
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")] == [
        "000000000032.safetensors",
        "000000000064.safetensors",
    ]
    assert (tmp_path / "checkpoints" / "best.safetensors").exists()


@pytest.mark.usefixtures("needs_procgen")
@pytest.mark.parametrize("algo", ALGOS)
def test_smoke_procgen(tmp_path, algo):
    rows = train(tiny(tmp_path, env="procgen:coinrun", algo=algo))
    assert len(rows) == 2 and all(np.isfinite(r["loss_policy"]) for r in rows)
    assert rows[-1]["rooms_total"] is None  # Procgen has no rooms


def test_same_seed_same_metrics(tmp_path):
    a = strip(train(tiny(tmp_path / "a", algo="snd-v")))
    b = strip(train(tiny(tmp_path / "b", algo="snd-v")))
    assert a == b


def test_checkpoint_round_trip_gives_identical_actions_and_values(tmp_path):
    train(tiny(tmp_path, algo="rnd"))
    ckpt = list_checkpoints(tmp_path / "checkpoints")[-1]
    a1, a2 = load_agent(ckpt), load_agent(ckpt)
    obs = np.random.default_rng(0).integers(0, 256, size=(3, *a1.spec.obs_shape), dtype=np.uint8)
    o1, o2 = a1.act(obs, greedy=True), a2.act(obs, greedy=True)
    assert np.array_equal(o1.action, o2.action) and np.array_equal(o1.v_ext, o2.v_ext)
    assert np.array_equal(a1.intrinsic(obs).reward, a2.intrinsic(obs).reward)
    assert a1.meta["global_step"] == 64 and a1.meta["algo"] == "rnd"
    # the saved policy is the trained one, not a fresh initialisation
    fresh = dataclasses.replace(tiny(tmp_path), algo="rnd").resolved()
    from trainer.agent import build_agent

    f = build_agent(fresh, torch.device("cpu"))
    assert not np.array_equal(f.act(obs, greedy=True).probs, o1.probs)


def test_resume_after_interruption_continues_without_gaps(tmp_path):
    cfg = tiny(tmp_path, algo="snd-v")
    # first session stops after one update (as if killed right after its checkpoint)
    train(cfg, max_updates=1)
    # a torn row from a crash after the checkpoint must not survive
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"update": 2, "global_step": 64, "torn"')
    rows = train(dataclasses.replace(cfg, resume=True))
    assert [r["update"] for r in rows] == [2]
    all_rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["update"] for r in all_rows] == [1, 2]
    assert [r["global_step"] for r in all_rows] == [32, 64]


def test_fresh_run_refuses_a_folder_with_checkpoints(tmp_path, capsys):
    train(tiny(tmp_path, algo="ppo"))
    rc = trainer_main(["train", "--run-dir", str(tmp_path), "--algo", "ppo", "--device", "cpu"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert "--resume" in err and len(err.splitlines()) == 1


def test_corrupt_and_foreign_checkpoints_give_one_line(tmp_path):
    train(tiny(tmp_path, algo="ppo"))
    ckpt = list_checkpoints(tmp_path / "checkpoints")[-1]
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(ckpt.read_bytes()[:-100])
    with pytest.raises(CheckpointError) as e:
        load_agent(bad)
    assert "\n" not in str(e.value) and "truncated" in str(e.value)
    text = tmp_path / "notes.safetensors"
    text.write_text("hello, this is not a checkpoint at all")
    with pytest.raises(CheckpointError):
        load_agent(text)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--env", "ALE/Montezuma-v5"], "Montezuma"),
        (["--env", "procgen:coinrunn"], "coinrun"),
        (["--device", "cuda"], "CUDA"),
        (["--num-envs", "0"], "num-envs"),
    ],
)
def test_bad_input_gives_one_line(tmp_path, capsys, args, needle):
    if args[:2] == ["--device", "cuda"] and torch.cuda.is_available():
        pytest.skip("CUDA is present")
    rc = trainer_main(["train", "--run-dir", str(tmp_path / "r"), "--no-progress", *args])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and needle in err and len(err.splitlines()) == 1, err


def test_kill_9_then_resume(tmp_path):
    """A real process killed with SIGKILL mid-run resumes from its last complete checkpoint."""
    run = tmp_path / "run"
    args = [sys.executable, "-m", "trainer.cli", "train", "--run-dir", str(run), "--algo", "rnd",
            "--num-envs", "2", "--ppo.rollout-steps", "16", "--ppo.minibatch-size", "16", "--total-steps", "100k",
            "--checkpoint-every", "32", "--obs-norm-init-steps", "2", "--num-workers", "0", "--device", "cpu",
            "--no-tensorboard", "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list_checkpoints(run / "checkpoints")) < 2:
        time.sleep(0.2)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    before = read_metrics(run / "metrics.jsonl")
    assert len(before) >= 2
    last_ckpt = int(list_checkpoints(run / "checkpoints")[-1].stem)
    target = last_ckpt + 64
    rc = subprocess.run([*args, "--resume", "--total-steps", str(target)], env=env,
                        capture_output=True, text=True, timeout=300)  # fmt: skip
    assert rc.returncode == 0, rc.stderr
    rows = read_metrics(run / "metrics.jsonl")
    updates = [r["update"] for r in rows]
    assert updates == list(range(1, len(rows) + 1))  # none duplicated, none missing
    assert rows[-1]["global_step"] == target
    assert json.loads((run / "config.json").read_text())["algo"] == "rnd"


# bf16 "on" with RND: on an AVX2 CPU oneDNN emulates bf16, and SND-V's target training took 81 s of CI there
@pytest.mark.parametrize("amp, algo", [("on", "rnd"), ("off", "snd-v")])
def test_bench_prints_env_and_training_rates_as_json(capsys, amp, algo):
    rc = trainer_main(
        ["bench", "--algo", algo, "--num-envs", "2", "--rollout-steps", "16", "--updates", "1",
         "--num-workers", "0", "--device", "cpu", "--amp", amp, "--encoder", "nature", "--json"]
    )  # fmt: skip
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["algo"] == algo and res["num_envs"] == 2 and res["device"] == "cpu" and res["encoder"] == "nature"
    # training includes the env steps, so it cannot be faster than the env alone
    assert 0 < res["train_steps_per_s"] <= res["collect_steps_per_s"]
    assert res["env_steps_per_s"] > 0 and res["update_s_per_rollout"] > 0
    # the float32 reward pass is timed whatever the training precision; its bf16 twin only under bf16
    assert res["amp"] is (amp == "on") and res["reward_fp32_s_per_rollout"] > 0
    assert (res["reward_amp_s_per_rollout"] is None) is (amp == "off")
