"""The PPO update (snd-spec §3): L = L_clip + 0.5 (MSE(V_ext) + MSE(V_int)) - 0.001 H(pi)."""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import torch
from torch import nn

from models.losses import entropy_bonus, ppo_clip_loss, value_loss
from trainer.config import PPOConfig


class RolloutBatch(NamedTuple):
    """A flattened rollout, B = T * N samples, all on the training device."""

    obs: torch.Tensor  # (B, C, H, W) uint8
    actions: torch.Tensor  # (B,) int64
    logp: torch.Tensor  # (B,) log pi_old(a|s)
    advantages: torch.Tensor  # (B,) combined 2 A_ext + A_int
    ret_ext: torch.Tensor  # (B,)
    ret_int: torch.Tensor  # (B,)


def obs_to_float(obs: torch.Tensor) -> torch.Tensor:
    """uint8 (.., C, H, W) in 0..255 -> float32 in [0, 1], as the paper's wrapper divides by 255."""
    return obs.float().div_(255.0)


def minibatch_indices(
    batch_size: int, minibatch_size: int, epochs: int, sampling: str, generator: torch.Generator
) -> list[torch.Tensor]:
    """Index sets for every PPO step: ``shuffle`` cuts one permutation per epoch into minibatches
    (Iskandor); ``replacement`` draws each minibatch uniformly with replacement (michalnand)."""
    mb = min(minibatch_size, batch_size)
    per_epoch = max(1, batch_size // mb)
    out = []
    for _ in range(epochs):
        if sampling == "replacement":
            out += [torch.randint(0, batch_size, (mb,), generator=generator) for _ in range(per_epoch)]
        else:
            perm = torch.randperm(batch_size, generator=generator)
            out += [perm[i * mb : (i + 1) * mb] for i in range(per_epoch)]
    return out


def ppo_update(
    policy: nn.Module,
    optimizer: torch.optim.Optimizer,
    batch: RolloutBatch,
    cfg: PPOConfig,
    sampling: str,
    dual_value: bool,
    generator: torch.Generator,
    autocast: contextlib.AbstractContextManager | None = None,
) -> dict[str, float]:
    """Run cfg.epochs epochs of clipped-PPO minibatch steps; returns mean losses.

    Loss terms are summed as tensors and read back once at the end, so the update makes no per-step
    host round trip on a GPU.
    """
    device = batch.obs.device
    B = batch.obs.shape[0]
    sums = torch.zeros(5, device=device)  # policy, value_ext, value_int, entropy, approx_kl
    steps = 0
    for idx in minibatch_indices(B, cfg.minibatch_size, cfg.epochs, sampling, generator):
        idx = idx.to(device)
        obs = obs_to_float(batch.obs[idx])
        with autocast or contextlib.nullcontext():
            logits, v_ext, v_int = policy(obs)
        logits, v_ext, v_int = logits.float(), v_ext.float(), v_int.float()
        logp_all = torch.log_softmax(logits, dim=-1)
        logp = logp_all.gather(1, batch.actions[idx, None]).squeeze(1)
        adv = batch.advantages[idx]
        if cfg.normalize_advantages:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        l_clip = ppo_clip_loss(logp, batch.logp[idx], adv, cfg.clip_eps)
        l_ext = value_loss(v_ext, batch.ret_ext[idx])
        l_int = value_loss(v_int, batch.ret_int[idx]) if dual_value else torch.zeros((), device=device)
        ent = entropy_bonus(logits)
        loss = l_clip + cfg.value_coef * (l_ext + l_int) - cfg.entropy_coef * ent
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
        optimizer.step()
        with torch.no_grad():
            approx_kl = (batch.logp[idx] - logp).mean()
            sums += torch.stack([l_clip, l_ext, l_int, ent, approx_kl]).detach()
        steps += 1
    means = (sums / max(steps, 1)).tolist()
    names = ("loss_policy", "loss_value_ext", "loss_value_int", "entropy", "approx_kl")
    return dict(zip(names, means))
