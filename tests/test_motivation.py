"""The motivation interface: rewards, updates, checkpoints and determinism for RND and the SND variants."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from safetensors.torch import load, save

from trainer.motivation import Motivation, make_motivation
from trainer.motivation_config import MOTIVATION_ALGOS, MotivationConfig, game_name, paper_eta

CPU = torch.device("cpu")
# small frames keep these tests fast (the networks size themselves by a dummy forward); the paper's
# 96x96 Atari and 64x64 Procgen sizes are covered by tests/test_models.py
ATARI, PROCGEN = (4, 32, 32), (6, 32, 32)
SMALL = ATARI



def build(algo: str, shape=ATARI, procgen: bool = False, seed: int = 0, **cfg) -> Motivation:
    m = make_motivation(algo, shape, procgen, MotivationConfig(**cfg), CPU, seed)
    assert m is not None
    return m


def frames(shape, *lead: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (*lead, *shape), generator=gen, dtype=torch.uint8)


def test_make_motivation_ppo_is_none_and_unknown_algo_fails() -> None:
    assert make_motivation("ppo", ATARI, False, MotivationConfig(), CPU, 0) is None
    with pytest.raises(ValueError, match="snd-vic"):
        make_motivation("icm", ATARI, False, MotivationConfig(), CPU, 0)


def test_config_validation_names_the_flag() -> None:
    with pytest.raises(ValueError, match="--motivation.predictor-keep-prob"):
        MotivationConfig(predictor_keep_prob=0.0)
    with pytest.raises(ValueError, match="--motivation.minibatch-size"):
        MotivationConfig(minibatch_size=1)


def test_paper_eta() -> None:
    assert paper_eta("rnd", "ALE/Venture-v5", False) == 1.0
    # the runs behind the paper's Procgen SND-V numbers (snd-spec §1.1); other games variant 0
    assert paper_eta("snd-v", "procgen:caveflyer", True) == 2.0
    for game in ("coinrun", "jumper"):
        assert paper_eta("snd-v", f"procgen:{game}", True) == 1.0
    # climber's cnd_0 and cnd_1 configs are identical, both int_reward_coeff 0.5 (issue 22; was 1.0)
    assert paper_eta("snd-v", "procgen:climber", True) == 0.5
    assert paper_eta("snd-v", "procgen:heist", True) == 0.5
    assert paper_eta("snd-v", "ALE/MontezumaRevenge-v5", False) == 0.5
    assert paper_eta("snd-vic", "ALE/Gravitar-v5", False) == 0.25
    assert paper_eta("snd-vic", "procgen:jumper", True) == 0.5
    expected = {"ALE/MontezumaRevenge-v5": 1.0, "VentureNoFrameskip-v4": 0.25, "ALE/PrivateEye-v5": 0.5,
                "ALE/Solaris-v5": 0.5, "procgen:caveflyer": 0.5, "procgen:coinrun": 0.25,
                "procgen-climber-v0": 1.0, "ALE/Breakout-v5": 1.0}  # fmt: skip
    for env, eta in expected.items():
        assert paper_eta("snd-std", env, env.startswith("procgen")) == eta, env
    assert game_name("ALE/MontezumaRevenge-v5") == game_name("MontezumaRevengeNoFrameskip-v4")


def test_eta_resolution() -> None:
    assert build("snd-vic", SMALL).eta == 0.25
    assert build("snd-vic", SMALL, eta=2.0).eta == 2.0
    m = make_motivation("snd-std", SMALL, False, MotivationConfig(), CPU, 0, env_id="ALE/Venture-v5")
    assert m is not None and m.eta == 0.25


def test_paper_defaults_per_algo() -> None:
    sndv = build("snd-v", SMALL)
    assert sndv.schedule == "michalnand" and set(sndv.optimizers) == {"predictor", "target"}
    assert sndv.has_normaliser and sndv.keep_prob == 0.25
    sndv_procgen = build("snd-v", PROCGEN, procgen=True)
    assert sndv_procgen.in_channels == 3
    assert not sndv_procgen.has_normaliser and sndv_procgen.keep_prob == 1.0
    rnd = build("rnd", SMALL)
    assert rnd.schedule == "iskandor" and rnd.has_normaliser and rnd.keep_prob == 0.25
    for algo in ("snd-std", "snd-vic"):
        m = build(algo, SMALL)
        assert m.schedule == "iskandor" and set(m.optimizers) == {"motivation"} and not m.has_normaliser
        assert m.keep_prob == 1.0 and m.feature_dim == 512


def test_minibatch_schedules() -> None:
    isk = build("rnd", SMALL)
    slices = isk.minibatches(16384)
    assert len(slices) == 32 and all(s.stop - s.start == 512 for s in slices)
    assert slices[0].start == 0 and slices[-1].stop == 16384
    assert len(isk.minibatches(4)) == 1 and isk.minibatches(4)[0] == slice(0, 4)
    mich = build("snd-v", SMALL)
    sets = mich.minibatches(16384)
    assert len(sets) == 128 and all(s.shape == (512,) for s in sets)  # 4 epochs x 32
    assert [s.shape for s in mich.minibatches(4)] == [(4,)] * 4


@pytest.mark.parametrize("algo", MOTIVATION_ALGOS)
@pytest.mark.parametrize(("shape", "procgen"), [(ATARI, False), (PROCGEN, True)])
def test_update_runs_on_a_tiny_rollout(algo: str, shape, procgen: bool) -> None:
    m = build(algo, shape, procgen)
    seq = frames(shape, 3, 2)  # (T+1, N, C, H, W)
    for t in range(3):
        m.observe(seq[t])
    reward, err = m.reward(seq[0])
    assert reward.shape == err.shape == (2,) and reward.dtype == err.dtype == torch.float32
    assert torch.all((reward >= 0) & (reward <= 1))
    assert torch.allclose(reward, (m.eta * err).clamp(0, 1))
    assert m.features(seq[0]).shape == (2, m.feature_dim)
    losses = m.update(seq)
    assert "loss_predictor" in losses and (algo == "rnd") != ("loss_target" in losses)
    assert all(math.isfinite(v) for v in losses.values()), losses


def test_rnd_target_is_frozen_and_the_predictor_learns() -> None:
    m = build("rnd", SMALL)
    target_before = {k: v.clone() for k, v in m.target.state_dict().items()}
    predictor_before = {k: v.clone() for k, v in m.predictor.state_dict().items()}
    assert not any(p.requires_grad for p in m.target.parameters())
    m.update(frames(SMALL, 3, 2))
    assert all(torch.equal(v, m.target.state_dict()[k]) for k, v in target_before.items())
    assert not all(torch.equal(v, m.predictor.state_dict()[k]) for k, v in predictor_before.items())


@pytest.mark.parametrize("algo", ["rnd", "snd-v"])
def test_reward_falls_on_a_trained_state_but_not_on_a_new_one(algo: str) -> None:
    # eta small enough that the reward is not clipped at 1; keep-prob 1 and lr 1e-3 to learn fast
    m = build(algo, SMALL, eta=1e-4, lr=1e-3, predictor_keep_prob=1.0, sndv_pairs=8)
    for i in range(4):  # varied input statistics, so RND's mean subtraction does not erase the states
        m.observe(frames(SMALL, 8, seed=10 + i))
    seen = frames(SMALL, 1, seed=1)
    unseen = torch.zeros(1, *SMALL, dtype=torch.uint8)
    unseen[..., ::8, :] = 255  # bright stripes: nothing like uniform noise
    r_seen_before, _ = m.reward(seen)
    for _ in range(10):
        m.update(seen.expand(3, 2, *SMALL).contiguous())
    r_seen, _ = m.reward(seen)
    r_unseen, _ = m.reward(unseen)
    assert r_seen < 0.2 * r_seen_before
    assert r_unseen > 10 * r_seen


def test_only_the_newest_frame_is_read() -> None:
    atari = build("snd-vic", SMALL)
    obs = frames(SMALL, 2)
    older = obs.clone()
    older[:, 1:] = 0  # older frames of the stack
    assert torch.equal(atari.reward(obs)[1], atari.reward(older)[1])
    procgen = build("snd-vic", PROCGEN, procgen=True)
    obs = frames(PROCGEN, 2)
    older, newest = obs.clone(), obs.clone()
    older[:, 3:] = 0
    newest[:, 2] = 0
    assert torch.equal(procgen.reward(obs)[1], procgen.reward(older)[1])
    assert not torch.equal(procgen.reward(obs)[1], procgen.reward(newest)[1])


@pytest.mark.parametrize("algo", MOTIVATION_ALGOS)
def test_state_dict_round_trip_through_safetensors(algo: str) -> None:
    m = build(algo, SMALL, seed=0)
    seq = frames(SMALL, 3, 2)
    m.observe(seq[0])
    m.update(seq)
    sd = load(save(m.state_dict()))  # flat and tensor-only, as a checkpoint stores it
    assert any(k.startswith("target.") for k in sd)
    assert m.has_normaliser == any(k.startswith("normaliser.") for k in sd)
    fresh = build(algo, SMALL, seed=1)
    assert not torch.equal(fresh.features(seq[1]), m.features(seq[1]))
    fresh.load_state_dict(sd)
    for a, b in zip(m.reward(seq[1]), fresh.reward(seq[1])):
        assert torch.equal(a, b)
    assert torch.equal(m.features(seq[1]), fresh.features(seq[1]))


@pytest.mark.parametrize("algo", MOTIVATION_ALGOS)
def test_same_seed_same_losses(algo: str) -> None:
    seq = frames(SMALL, 3, 2)
    cfg = {"sndv_pairs": 8}
    runs = [build(algo, SMALL, seed=s, **cfg).update(seq) for s in (5, 5, 6)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_observe_updates_the_normaliser_and_is_a_no_op_without_one() -> None:
    m = build("snd-v", SMALL)
    with torch.inference_mode():  # the trainer observes inside its inference-mode rollout
        m.observe(frames(SMALL, 4))
    assert int(m.normaliser.count) == 1 and m.normaliser.mean.shape == (1, 32, 32)
    vic = build("snd-vic", SMALL)
    vic.observe(frames(SMALL, 4))
    assert vic.normaliser is None


def test_updates_inside_one_autocast_region_see_fresh_weights() -> None:
    # autocast caches bf16 weight copies until its outermost region exits; the trainer wraps a whole
    # update in one region, so stale copies would make later steps train the old weights
    seq = frames(SMALL, 3, 2)
    per_update, one_region = build("rnd", SMALL, lr=1e-3), build("rnd", SMALL, lr=1e-3)
    a = []
    for _ in range(3):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            a.append(per_update.update(seq))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        b = [one_region.update(seq) for _ in range(3)]
    assert a == b


def test_bf16_autocast_keeps_float32_outputs() -> None:
    m = build("snd-std", SMALL)
    seq = frames(SMALL, 3, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        reward, err = m.reward(seq[0])
        losses = m.update(seq)
    assert reward.dtype == err.dtype == torch.float32
    assert all(math.isfinite(v) for v in losses.values())


def test_config_is_json_friendly() -> None:
    cfg = MotivationConfig()
    assert all(isinstance(v, int | float | str | bool | type(None)) for v in dataclasses.asdict(cfg).values())
    assert all(f.type for f in dataclasses.fields(cfg))


def test_sndv_logs_the_target_magnitude_the_authors_log() -> None:
    """``target_magnitude`` is M = mean z_a^2 + mean z_b^2 over the step's pairs (michalnand's logged
    ``cnd_magnitude``), not the penalty ReLU(M - 200), which is 0 below the threshold."""
    m = build("snd-v")
    seq = frames(ATARI, 3, 4)
    states, nexts = seq[:-1].flatten(0, 1), seq[1:].flatten(0, 1)
    idx = torch.arange(8)
    before = m.generator.get_state()
    losses = m.step_losses(states, nexts, idx)
    m.generator.set_state(before)
    x_ab, _ = m.sample_pairs(states)
    with torch.no_grad():
        z_a, z_b = m.target(x_ab).float().chunk(2)
    expected = z_a.square().mean() + z_b.square().mean()
    assert float(expected) > 0
    torch.testing.assert_close(losses["target_magnitude"], expected)
    assert float(losses["contrastive_magnitude"].detach()) == 0.0, "the penalty is another number"
    assert "target_magnitude" in m.update(seq)
