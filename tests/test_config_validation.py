"""Every config value is checked before anything is allocated or started: one line per bad value, exit 2."""

from __future__ import annotations

import dataclasses

import pytest

from trainer.cli import main as trainer_main
from trainer.config import ConfigError, TrainConfig, apply_preset, config_problems
from trainer.loop import train

# small enough that on a build without the checks the run would finish quickly (and the test fail)
BASE = ["--num-envs", "2", "--ppo.rollout-steps", "8", "--ppo.minibatch-size", "8", "--total-steps", "16",
        "--device", "cpu", "--num-workers", "0", "--no-tensorboard", "--no-progress", "--obs-norm-init-steps", "1",
        "--algo", "ppo"]  # fmt: skip


@pytest.mark.parametrize(
    "args, line",
    [
        (["--seed", "-1"], "--seed -1: expected a whole number in [0, 2147483647]"),
        (["--seed", str(2**31)], "--seed 2147483648: expected a whole number in [0, 2147483647]"),
        (["--env-cfg.frame-size", "20000"], "--env-cfg.frame-size 20000: expected a whole number in [16, 256]"),
        (["--env-cfg.frame-stack", "1000000"], "--env-cfg.frame-stack 1000000: expected a whole number in [1, 16]"),
        (["--ppo.epochs", "0"], "--ppo.epochs 0: expected a whole number in [1, 10000000]"),
        (["--ppo.gamma-ext", "2"], "--ppo.gamma-ext 2.0: expected a number in [0, 1]"),
        (["--ppo.gamma-baseline", "-0.1"], "--ppo.gamma-baseline -0.1: expected a number in [0, 1]"),
        (["--ppo.gae-lambda", "1.01"], "--ppo.gae-lambda 1.01: expected a number in [0, 1]"),
        (["--ppo.lr", "nan"], "--ppo.lr nan: expected a number > 0"),
        (["--ppo.clip-eps", "0"], "--ppo.clip-eps 0.0: expected a number > 0"),
        (["--ppo.minibatch-size", "17"],
         "--ppo.minibatch-size 17: larger than the batch, --ppo.rollout-steps x --num-envs = 16"),
        (["--keep-checkpoints", "-1"], "--keep-checkpoints -1: expected a whole number in [0, 10000000]"),
        (["--env-cfg.sticky-action-prob", "1.5"], "--env-cfg.sticky-action-prob 1.5: expected a number in [0, 1]"),
        (["--motivation.eta", "-1"], "--motivation.eta -1.0: expected a number >= 0"),
    ],
)  # fmt: skip
def test_bad_value_one_line_exit_2_nothing_written(tmp_path, capsys, args, line):
    run = tmp_path / "run"
    rc = trainer_main(["train", "--run-dir", str(run), *BASE, *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert err == f"trainer: error: {line}\n"
    assert not run.exists()  # checked before the run folder (or an env, or a network) was made


def test_each_bad_value_gets_its_own_line(tmp_path, capsys):
    run = tmp_path / "run"
    rc = trainer_main(["train", "--run-dir", str(run), *BASE, "--seed", "-1", "--ppo.epochs", "0",
                       "--ppo.gamma-int", "3"])  # fmt: skip
    lines = capsys.readouterr().err.splitlines()
    assert rc == 2 and len(lines) == 3
    assert [ln.split()[2] for ln in lines] == ["--seed", "--ppo.gamma-int", "--ppo.epochs"]
    assert not run.exists()


def test_a_bad_batch_is_not_also_reported_as_smaller_than_the_minibatch(tmp_path, capsys):
    rc = trainer_main(["train", "--run-dir", str(tmp_path / "run"), *BASE, "--num-envs", "0"])
    assert rc == 2 and capsys.readouterr().err == "trainer: error: --num-envs 0: expected a whole number in [1, 65536]\n"


def test_library_callers_get_the_same_check(tmp_path):
    cfg = TrainConfig(run_dir=tmp_path / "run", seed=-5, device="cpu")
    with pytest.raises(ConfigError) as e:
        train(cfg)
    assert e.value.problems == ["--seed -5: expected a whole number in [0, 2147483647]"]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("env", ["ALE/MontezumaRevenge-v5", "procgen:caveflyer"])
@pytest.mark.parametrize("encoder", ["paper", "nature"])
def test_defaults_and_presets_are_valid(env, encoder):
    cfg = TrainConfig(env=env, encoder=encoder)
    assert config_problems(cfg) == []
    assert config_problems(apply_preset(cfg, "paper")) == []
    assert config_problems(cfg.resolved()) == []
    # the edges of each range are accepted
    edge = dataclasses.replace(
        cfg,
        seed=2**31 - 1,
        ppo=dataclasses.replace(cfg.ppo, gamma_ext=1.0, gae_lambda=0.0, minibatch_size=32 * 128),
    )
    assert config_problems(edge) == []
