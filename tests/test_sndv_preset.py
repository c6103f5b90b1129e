"""SND-V follows the code behind its paper number (michalnand RLAgents; snd-spec §1.1, §2.2, §4.2): 1-30
random no-ops at reset on Montezuma's Revenge and a ReLU between the trunk and the critic. Other algorithms
keep Iskandor's choices; configs saved before these fields existed keep the old behaviour (issue 9)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from pathlib import Path

import pytest
import torch
import tyro

from models.actor_critic import ActorCritic
from tests.test_sticky_actions import RecordingALE
from trainer.agent import load_agent
from trainer.config import TrainConfig, from_dict, to_dict
from trainer.envs import AtariEnv, EnvConfig, make_env


@pytest.mark.parametrize(
    "algo, env, noops, relu",
    [("snd-v", "ALE/MontezumaRevenge-v5", 30, True), ("snd-v", "ALE/Gravitar-v5", 30, True),
     ("snd-v", "ALE/Solaris-v5", 0, True), ("snd-v", "procgen:climber", 0, True),
     ("rnd", "ALE/MontezumaRevenge-v5", 0, False), ("snd-std", "ALE/MontezumaRevenge-v5", 0, False),
     ("ppo", "ALE/MontezumaRevenge-v5", 0, False)],
)  # fmt: skip
def test_preset_values_per_algo(algo: str, env: str, noops: int, relu: bool) -> None:
    cfg = TrainConfig(algo=algo, env=env).resolved()
    assert cfg.env_cfg.noop_max == noops and cfg.critic_relu is relu
    # the user's explicit choice wins
    explicit = TrainConfig(algo=algo, env=env, critic_relu=not relu, env_cfg=EnvConfig(noop_max=7)).resolved()
    assert explicit.env_cfg.noop_max == 7 and explicit.critic_relu is (not relu)


def test_help_documents_the_choices_with_their_source() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        tyro.cli(TrainConfig, args=["--help"])
    text = " ".join(out.getvalue().split())
    for flag in ("--critic-relu", "--env-cfg.noop-max", "--env-cfg.sticky-per-frame"):
        assert flag in text
    assert "model_ppo.py" in text and "WrapperMontezuma.py" in text


def test_reset_plays_1_to_30_noops() -> None:
    env = make_env(EnvConfig(noop_max=30), 0)
    assert isinstance(env, AtariEnv)
    rec = RecordingALE(env.core.ale)
    env.core.ale = rec
    counts = []
    for _ in range(40):
        rec.frames.clear()
        env.reset()
        counts.append(len(rec.frames))
        assert set(rec.frames) <= {env.core.action_set[0]}, "no-ops only"
    assert min(counts) >= 1 and max(counts) <= 30 and len(set(counts)) > 10


def test_critic_reads_the_trunk_after_a_relu_only_when_asked() -> None:
    torch.manual_seed(0)
    plain = ActorCritic((4, 96, 96), 18)
    relu = ActorCritic((4, 96, 96), 18, critic_relu=True)
    assert plain.state_dict().keys() == relu.state_dict().keys(), "same checkpoint layout"
    relu.load_state_dict(plain.state_dict())
    obs = torch.rand(3, 4, 96, 96)
    (lp, vp, _), (lr, vr, _) = plain(obs), relu(obs)
    torch.testing.assert_close(lp, lr)  # the actor is untouched
    z = plain.encode(obs)
    torch.testing.assert_close(vr, relu.value_ext(relu.critic(z.relu())).squeeze(-1))
    torch.testing.assert_close(vp, plain.value_ext(plain.critic(z)).squeeze(-1))
    assert (z < 0).any() and not torch.allclose(vp, vr), "the trunk output has negative parts to cut"


def test_old_checkpoints_keep_the_old_behaviour(legacy_demo: Path) -> None:
    old = to_dict(TrainConfig(algo="snd-v").resolved())
    del old["critic_relu"]
    assert from_dict(old).critic_relu is False
    demo = load_agent(legacy_demo)  # the first demo's format: SND-V, saved before these fields existed
    assert demo.config.critic_relu is False and demo.config.env_cfg.sticky_per_frame is False
    assert isinstance(demo.policy.critic_in, torch.nn.Identity)
    assert demo.config.env_cfg.noop_max == 0
    fresh = dataclasses.replace(demo.config, critic_relu=None)
    assert fresh.resolved().critic_relu is True, "a new SND-V run gets michalnand's critic"
