"""Numerics that must hold on every torch and GPU the project allows (issue 9).

- SND-V's target must learn under bf16 autocast: no network is run under no_grad inside an autocast region
  that later trains it (before torch 2.11 autocast reused the no-grad pass's cached bf16 weights, which have
  no autograd history, so the target's weights never moved).
- The intrinsic reward is computed in float32 whatever autocast the caller set.
- bf16 autocast on CUDA only where the GPU has it natively (compute capability >= 8.0).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from trainer.envs import EnvConfig, make_env
from trainer.loop import autocast_for
from trainer.motivation import make_motivation
from trainer.motivation_config import MOTIVATION_ALGOS, MotivationConfig

OBS_SHAPE = (4, 96, 96)
CPU = torch.device("cpu")


def _rollout(T: int = 4, N: int = 4, seed: int = 0) -> torch.Tensor:
    """Real Montezuma frames, uint8 (T+1, N, C, H, W): the start room under random actions."""
    env = make_env(EnvConfig(sticky_action_prob=0.0, noop_max=0), seed)
    obs, _ = env.reset()
    rng = np.random.default_rng(seed)
    frames = [obs]
    for _ in range((T + 1) * N - 1):
        obs, *_ = env.step(int(rng.integers(18)))
        frames.append(obs)
    return torch.from_numpy(np.stack(frames)).reshape(T + 1, N, *OBS_SHAPE)


def _motivation(algo: str, seed: int = 0):
    m = make_motivation(algo, OBS_SHAPE, False, MotivationConfig(), CPU, seed)
    assert m is not None
    return m


@pytest.mark.parametrize("algo", MOTIVATION_ALGOS)
def test_no_trained_network_runs_under_no_grad_inside_autocast(algo: str) -> None:
    """The recipe of the torch < 2.11 failure: a no-grad pass of a trainable network in the same autocast
    region as its training pass. Checked by hooks, so it fails on any torch, not only the old ones."""
    m = _motivation(algo)
    calls: list[tuple[str, bool, bool]] = []
    for name in ("target", "predictor"):
        net = getattr(m, name)
        if any(p.requires_grad for p in net.parameters()):
            net.register_forward_pre_hook(
                lambda _mod, _inp, name=name: calls.append(
                    (name, torch.is_grad_enabled(), torch.is_autocast_enabled("cpu"))
                )
            )
    with autocast_for(CPU, "on"):
        m.update(_rollout())
    assert calls, "the hooks saw no pass"
    assert all(autocast for _, _, autocast in calls), "the update ran under the trainer's autocast"
    bad = [name for name, grad, autocast in calls if autocast and not grad]
    assert bad == [], f"no-grad passes of trained networks inside autocast: {bad}"


def _target_grad(m, obs_seq: torch.Tensor, autocast: bool) -> torch.Tensor:
    states = obs_seq[:-1].flatten(0, 1)
    idx = m.minibatches(states.shape[0])[0]
    ctx = autocast_for(CPU, "on") if autocast else torch.autocast("cpu", enabled=False)
    with ctx:
        loss = m.step_losses(states, obs_seq[1:].flatten(0, 1), idx)["loss_target"]
    m.target.zero_grad(set_to_none=True)
    loss.backward()
    return torch.cat([p.grad.flatten() for p in m.target.parameters()])


def test_sndv_target_learns_under_autocast_in_the_float32_direction() -> None:
    obs_seq = _rollout()
    bf16, fp32 = _motivation("snd-v"), _motivation("snd-v")
    fp32.generator.set_state(bf16.generator.get_state())  # same pairs and augmentations
    g_bf16 = _target_grad(bf16, obs_seq, autocast=True)
    g_fp32 = _target_grad(fp32, obs_seq, autocast=False)
    assert g_fp32.norm() > 0 and g_bf16.norm() > 0
    cosine = torch.nn.functional.cosine_similarity(g_bf16, g_fp32, dim=0).item()
    assert cosine > 0.99, cosine

    m = _motivation("snd-v")
    before = copy.deepcopy(m.target.state_dict())
    with autocast_for(CPU, "on"):
        m.update(obs_seq)
    moved = max((m.target.state_dict()[k] - v).abs().max().item() for k, v in before.items())
    assert moved > 1e-6, "one update under the trainer's autocast must change the target's weights"


@pytest.mark.parametrize("algo", MOTIVATION_ALGOS)
def test_intrinsic_reward_is_float32_under_autocast(algo: str) -> None:
    m = _motivation(algo)
    obs = _rollout(T=1, N=8)[0]  # (N, C, H, W) fixed real frames
    m.observe(obs)  # non-trivial normaliser statistics where there is one
    with torch.inference_mode(), torch.autocast("cpu", enabled=False):
        x = m.prepare(obs)
        diff = m.target(x) - m.predictor(x)  # float32 reference, written out
        ref = diff.pow(2).sum(-1) / 2 if algo == "rnd" else diff.pow(2).mean(-1)
    with autocast_for(CPU, "on"):  # the trainer's collect region
        r, err = m.reward(obs)
    assert err.dtype == torch.float32
    assert (err - ref).abs().max().item() <= 1e-7 * max(1.0, ref.abs().max().item())
    torch.testing.assert_close(r, (m.eta * ref).clamp(0, 1), rtol=0, atol=1e-7)
    with autocast_for(CPU, "on"):  # what bench compares it with: the pass under bf16 differs
        _, err_bf16 = m.reward(obs, float32=False)
    assert (err_bf16 - ref).abs().max().item() > 1e-5 * ref.abs().max().item()


@pytest.mark.filterwarnings("ignore:CUDA is not available")
@pytest.mark.parametrize(
    "capability, amp, bf16", [((7, 5), "auto", False), ((8, 0), "auto", True), ((9, 0), "auto", True),
                              ((7, 0), "on", True), ((9, 0), "off", False)]
)  # fmt: skip
def test_cuda_bf16_only_where_native(monkeypatch, capsys, capability, amp, bf16) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # emulated bf16 says True
    ac = autocast_for(torch.device("cuda"), amp)
    assert (ac is not None) == bf16
    if ac is not None:
        assert ac.fast_dtype == torch.bfloat16
    err = capsys.readouterr().err
    if amp == "auto" and not bf16:
        assert len(err.splitlines()) == 1 and "float32" in err and "7.5" in err and "Tesla T4" in err
    else:
        assert err == ""


@pytest.mark.parametrize(
    "native, amp, bf16", [(True, "auto", True), (False, "auto", False), (False, "on", True),
                          (True, "off", False), (False, "off", False)]
)  # fmt: skip
def test_cpu_bf16_only_where_onednn_has_kernels(monkeypatch, capsys, native, amp, bf16) -> None:
    """An AVX2-only CPU emulates bf16 (a Nature-CNN pass 6.6x slower than float32, measured on an AMD EPYC
    here): ``auto`` trains in float32 there, silently (stderr stays the one line of an error wherever a
    test expects one); ``on`` still forces bf16."""
    monkeypatch.setattr("trainer.loop.cpu_has_native_bf16", lambda: native)
    ac = autocast_for(CPU, amp)
    assert (ac is not None) == bf16
    if ac is not None:
        assert ac.fast_dtype == torch.bfloat16
    assert capsys.readouterr().err == ""



def test_each_metrics_row_says_the_precision_its_session_trained_in(monkeypatch, tmp_path) -> None:
    """A run resumed on another CPU: its first session had no native bf16 (float32 under ``--amp auto``),
    its second had (bf16). config.json says ``auto`` for both; each metrics row says which it was."""
    import dataclasses

    from trainer.config import TrainConfig
    from trainer.loop import train
    from trainer.metrics import read_metrics

    run = tmp_path / "run"
    cfg = TrainConfig(
        env="ALE/MontezumaRevenge-v5", algo="ppo", run_dir=run, num_envs=2, total_steps=32, device="cpu",
        seed=3, num_workers=0, tensorboard=False, progress=False, checkpoint_every=32, encoder="nature",
    )  # fmt: skip
    cfg = dataclasses.replace(cfg, ppo=dataclasses.replace(cfg.ppo, rollout_steps=16, minibatch_size=32))
    assert cfg.amp == "auto"
    for native, total in ((False, 32), (True, 64)):
        monkeypatch.setattr("trainer.loop.cpu_has_native_bf16", lambda native=native: native)
        train(dataclasses.replace(cfg, total_steps=total, resume=total > 32))
    assert [r["precision"] for r in read_metrics(run / "metrics.jsonl")] == ["float32", "bf16"]
