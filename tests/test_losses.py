"""Every loss against numbers worked out by hand on tiny tensors (STYLE.md 9)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from models.losses import (
    contrastive_loss_mse,
    distillation_error,
    distillation_loss,
    entropy_bonus,
    infonce_loss,
    ppo_clip_loss,
    stdim_loss,
    value_loss,
    vicreg_loss,
)


def close(a: torch.Tensor | float, b: float, tol: float = 1e-6) -> bool:
    return abs(float(a) - b) < tol


# ---- PPO ----------------------------------------------------------------------------------------------
def test_ppo_clip_loss_inside_and_outside_the_clip_range() -> None:
    ratios = torch.tensor([0.5, 1.0, 1.5, 0.5, 1.05])
    adv = torch.tensor([1.0, 1.0, 1.0, -1.0, -1.0])
    # eps 0.1: min(r A, clip(r) A) = 0.5 (r below, A > 0: unclipped is smaller), 1.0, 1.1 (clipped),
    # -0.9 (r below, A < 0: the clipped value is smaller), -1.05 (inside) -> mean 0.65 / 5 = 0.13
    loss = ppo_clip_loss(ratios.log(), torch.zeros(5), adv, clip_eps=0.1)
    assert close(loss, -0.13)


def test_ppo_clip_loss_has_no_gradient_where_clipped() -> None:
    logp = torch.tensor([math.log(1.5), math.log(1.05)], requires_grad=True)
    ppo_clip_loss(logp, torch.zeros(2), torch.ones(2), clip_eps=0.1).backward()
    # d/dlogp of -(r A)/2 = -r/2 inside the range, 0 where the clipped term wins
    assert close(logp.grad[0], 0.0) and close(logp.grad[1], -1.05 / 2)


def test_value_loss_and_entropy() -> None:
    assert close(value_loss(torch.tensor([1.0, 2.0]), torch.zeros(2)), 2.5)
    assert close(entropy_bonus(torch.zeros(3, 4)), math.log(4))
    # pi = (1/2, 1/4, 1/4): H = 1/2 ln 2 + 2 * 1/4 ln 4 = 1.5 ln 2
    assert close(entropy_bonus(torch.tensor([[0.5, 0.25, 0.25]]).log()), 1.5 * math.log(2))


# ---- distillation -------------------------------------------------------------------------------------
def test_distillation_error_mean_is_snd_and_half_sum_is_rnd() -> None:
    pred, target = torch.zeros(2, 4), torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 2.0]])
    assert torch.allclose(distillation_error(pred, target, "mean"), torch.tensor([7.5, 1.0]))
    assert torch.allclose(distillation_error(pred, target, "half_sum"), torch.tensor([15.0, 2.0]))
    with pytest.raises(ValueError):
        distillation_error(pred, target, "sum")


def test_distillation_loss_keep_one_is_mse_and_target_is_detached() -> None:
    pred = torch.randn(5, 8, requires_grad=True)
    target = torch.randn(5, 8, requires_grad=True)
    loss = distillation_loss(pred, target, keep_prob=1.0)
    assert torch.allclose(loss, F.mse_loss(pred, target))
    loss.backward()
    assert target.grad is None and pred.grad is not None


def test_distillation_loss_masked_mean_with_a_fixed_generator() -> None:
    pred, target = torch.randn(4, 16), torch.randn(4, 16)
    loss = distillation_loss(pred, target, 0.25, torch.Generator().manual_seed(3))
    m = (torch.rand(4, 16, generator=torch.Generator().manual_seed(3)) < 0.25).float()
    e = (target - pred) ** 2
    assert 0 < m.sum() < m.numel()  # the mask really drops elements
    assert torch.allclose(loss, (e * m).sum() / m.sum())


# ---- SND-V contrastive --------------------------------------------------------------------------------
def test_contrastive_loss_known_pairs() -> None:
    z = torch.randn(3, 8)
    # y = 0 with identical features: predicted distance 0 = label
    total, sim, mag = contrastive_loss_mse(z, z.clone(), torch.zeros(3))
    assert close(sim, 0.0) and close(mag, 0.0) and close(total, 0.0)
    # y = 1 with mean-squared distance exactly 1
    total, sim, mag = contrastive_loss_mse(torch.zeros(2, 4), torch.ones(2, 4), torch.ones(2))
    assert close(sim, 0.0) and close(total, 0.0)
    # y = 1 for identical features: (1 - 0)^2
    _, sim, _ = contrastive_loss_mse(z, z.clone(), torch.ones(3))
    assert close(sim, 1.0)


def test_contrastive_magnitude_is_zero_below_threshold_and_linear_above() -> None:
    y = torch.zeros(2)
    _, _, mag = contrastive_loss_mse(torch.full((2, 4), 9.0), torch.full((2, 4), 9.0), y)
    assert close(mag, 0.0)  # M = 81 + 81 = 162 < 200
    total, sim, mag = contrastive_loss_mse(torch.full((2, 4), 15.0), torch.full((2, 4), 15.0), y)
    assert close(mag, 250.0) and close(total, 250.0)  # M = 225 + 225 = 450
    _, _, mag = contrastive_loss_mse(torch.full((2, 4), 20.0), torch.full((2, 4), 20.0), y)
    assert close(mag, 600.0)  # M = 800
    _, _, mag = contrastive_loss_mse(torch.full((2, 4), 15.0), torch.full((2, 4), 15.0), y, 400.0)
    assert close(mag, 50.0)


# ---- ST-DIM -------------------------------------------------------------------------------------------
def test_infonce_identity_features() -> None:
    s = 2.0
    queries, keys = torch.eye(3).unsqueeze(0), s * torch.eye(3).unsqueeze(0)  # (P=1, B=3, L=3)
    ce, norm = infonce_loss(queries, keys)
    # logits = s I: every key j scores s on i = j and 0 on the two others
    assert close(ce, math.log(1 + 2 * math.exp(-s)))
    assert close(norm, s * math.sqrt(3), 1e-5)


def test_infonce_softmax_runs_over_queries_for_each_key() -> None:
    queries = torch.eye(2).unsqueeze(0)
    keys = torch.tensor([[[1.0, 0.0], [3.0, 2.0]]])  # logits[i, j] = <q_i, k_j> = keys[j, i]
    ce, _ = infonce_loss(queries, keys)
    # key 0 sees scores (1, 0) over queries, target 0: log(1 + e^-1); key 1 sees (3, 2), target 1:
    # log(1 + e^1). (A softmax over keys would give (log(1 + e^2) + log(1 + e^-2)) / 2 = 1.1269.)
    assert close(ce, (math.log(1 + math.exp(-1)) + math.log(1 + math.e)) / 2)


def test_stdim_loss_terms_and_weights() -> None:
    gen = torch.Generator().manual_seed(0)
    B, P, L = 4, 3, 5
    global_next = torch.randn(B, L, generator=gen)
    local_next = torch.randn(B, P, L, generator=gen)
    local_prev = torch.randn(B, P, L, generator=gen)
    features = torch.tensor([[1.0, 3.0], [0.0, 0.0], [1.0, 3.0], [0.0, 0.0]])
    terms = stdim_loss(global_next, local_next, local_prev, features, norm_weight=0.1, uniform_weight=0.01)
    keys = local_prev.transpose(0, 1)
    gl, n1 = infonce_loss(global_next.expand(P, B, L), keys)
    ll, n2 = infonce_loss(local_next.transpose(0, 1), keys)
    # unbiased std across features: (1, 3) -> sqrt(2), (0, 0) -> 0; mean sqrt(2) / 2
    assert close(terms["uniform"], -math.sqrt(2) / 2)
    assert close(terms["global_local"], gl) and close(terms["local_local"], ll)
    assert close(terms["norm"], n1 + n2, 1e-5)
    expected = gl + ll + 0.01 * terms["uniform"] + 0.1 * (n1 + n2)
    assert close(terms["total"], expected, 1e-5)
    # one position, global-local: logits[i, j] = <g_i, f5_j>, hand-checked against the explicit sum
    logits = global_next @ local_prev[:, 0].T
    manual = -torch.stack([logits[j, j] - logits[:, j].logsumexp(0) for j in range(B)]).mean()
    one, _ = infonce_loss(global_next.unsqueeze(0), local_prev[:, :1].transpose(0, 1))
    assert close(one, manual, 1e-5)


# ---- VICReg -------------------------------------------------------------------------------------------
Z_A = torch.tensor([[0.0, 0.0], [1.0, 2.0], [2.0, 1.0]])
Z_B = torch.tensor([[0.0, 1.0], [1.0, 2.0], [2.0, 1.0]])


def test_vicreg_terms_by_hand() -> None:
    total, inv, var, cov = vicreg_loss(Z_A, Z_B)
    # invariance: one differing element, (0 - 1)^2, over N * d = 6
    assert close(inv, 1 / 6)
    # variance: z_a columns have unbiased variance 1 -> sqrt(1 + 1e-4) > 1 -> 0; z_b column 0 too;
    # z_b column 1 = (1, 2, 1): variance 1/3 -> relu(1 - sqrt(1/3 + 1e-4)), averaged over d = 2
    assert close(var, (1 - math.sqrt(1 / 3 + 1e-4)) / 2)
    # covariance (divisor N - 1 = 2), off-diagonal only, / d: z_a centred columns (-1, 0, 1) and
    # (-1, 1, 0) -> C01 = 1/2, so 2 * (1/2)^2 / 2 = 1/4; z_b: C01 = (1/3 + 0 - 1/3) / 2 = 0
    assert close(cov, 0.25)
    assert close(total, 1 / 6 + (1 - math.sqrt(1 / 3 + 1e-4)) / 2 + 0.04 * 0.25)


def test_vicreg_covariance_ignores_the_diagonal() -> None:
    z = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 3.0], [0.0, -3.0]])  # uncorrelated, unequal variances
    _, _, _, cov = vicreg_loss(z, z)
    assert close(cov, 0.0)
    total, _, _, _ = vicreg_loss(Z_A, Z_B, inv_weight=2.0, var_weight=0.0, cov_weight=1.0)
    assert close(total, 2 * (1 / 6) + 0.25)
