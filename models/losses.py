"""Loss functions, each named as in its paper and citing the code it reproduces.

Shapes: B minibatch, A actions, F features, P positions of a local feature map, L local channels.
Everything here is float32 math; callers cast network outputs with ``.float()`` before calling.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def ppo_clip_loss(
    logp_new: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor, clip_eps: float
) -> torch.Tensor:
    """Clipped surrogate objective, negated for minimisation: -E[min(r A, clip(r, 1-eps, 1+eps) A)],
    r = pi_new / pi_old (Schulman et al. 2017, eq. 7; Iskandor/SND ``algorithms/PPO.py``)."""
    ratio = torch.exp(logp_new - logp_old)  # (B,)
    surrogate = torch.min(ratio * advantages, ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps) * advantages)
    return -surrogate.mean()


def value_loss(values: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    """Critic MSE, unclipped (snd-spec §3: no value clipping in either codebase)."""
    return (values - returns).square().mean()


def entropy_bonus(logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the categorical policy, H(pi) = -sum_a pi log pi (Mnih et al. 2016)."""
    logp = torch.log_softmax(logits, dim=-1)  # (B, A)
    return -(logp.exp() * logp).sum(-1).mean()


def distillation_error(pred: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Per-sample distillation error (B,): ``mean`` = mean_k (T - P)^2, every SND variant (snd-spec §1);
    ``half_sum`` = 1/2 sum_k (T - P)^2, the paper's RND (Iskandor ``RNDModelAtari.error``, §2.3)."""
    sq = (target - pred).square()  # (B, F)
    if reduction == "mean":
        return sq.mean(-1)
    if reduction == "half_sum":
        return 0.5 * sq.sum(-1)
    raise ValueError(f"unknown reduction {reduction!r}; valid: mean, half_sum")


def distillation_loss(
    pred: torch.Tensor, target: torch.Tensor, keep_prob: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Predictor loss with RND's "proportion of experience" trick applied per element (snd-spec §1.1,
    §2.3): e = (T.detach - P)^2, m ~ Bernoulli(keep_prob) per element, loss = sum(e m) / sum(m).
    keep_prob 1 is the plain MSE (Iskandor SND-STD/SND-VIC)."""
    e = (target.detach() - pred).square()  # (B, F)
    if keep_prob >= 1.0:
        return e.mean()
    m = (torch.rand(e.shape, generator=generator, device=e.device) < keep_prob).to(e.dtype)
    return (e * m).sum() / m.sum().clamp_min(1.0)


def contrastive_loss_mse(
    z_a: torch.Tensor, z_b: torch.Tensor, y: torch.Tensor, magnitude_threshold: float = 200.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """SND-V's target loss (michalnand RLAgents ``SelfSupervisedLoss.contrastive_loss_mse``, snd-spec
    §1.1). y = 0 for two views of one state, 1 for two random states; the predicted distance
    d = mean_k (z_a - z_b)^2 is regressed on y, so negatives sit at mean-squared distance 1. The magnitude
    term ReLU(mean z_a^2 + mean z_b^2 - threshold) only bites above the threshold.
    Returns (total, similarity, magnitude)."""
    d = (z_a - z_b).square().mean(-1)  # (B,)
    sim = (y - d).square().mean()
    magnitude = F.relu(z_a.square().mean() + z_b.square().mean() - magnitude_threshold)
    return sim + magnitude, sim, magnitude


def infonce_loss(queries: torch.Tensor, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """InfoNCE over every position (Oord et al. 2018; Iskandor ``ST_DIMEncoderAtari``).

    queries, keys: (P, B, L). logits[p, i, j] = <q_{p,i}, k_{p,j}> and the correct class of key j is
    i = j, the other batch items being negatives. As in Iskandor's ``cross_entropy`` on (P, B, B), the
    class axis is dim 1, so the softmax runs over the queries i for each key j. The mean runs over P * B.
    Returns (cross-entropy, mean over p of the Frobenius norm of logits[p])."""
    logits = queries @ keys.transpose(1, 2)  # (P, B, B)
    P, B, _ = logits.shape
    labels = torch.arange(B, device=logits.device).expand(P, B)  # (P, B)
    return F.cross_entropy(logits, labels), torch.linalg.matrix_norm(logits).mean()


def stdim_loss(
    global_next: torch.Tensor,
    local_next: torch.Tensor,
    local_prev: torch.Tensor,
    features: torch.Tensor,
    norm_weight: float = 1e-4,
    uniform_weight: float = 1e-4,
) -> dict[str, torch.Tensor]:
    """SND-STD's target loss: ST-DIM (Anand et al. 2019) as Iskandor ran it (snd-spec §1.2).

    global_next: (B, L) classifier1(Phi_T(s_{t+1})); local_next: (B, P, L) classifier2(f5(s_{t+1}));
    local_prev: (B, P, L) f5(s_t); features: (B, F) Phi_T(s_t).
    - global_local: InfoNCE of each global vector against the f5 patches of s_t at every position;
    - local_local: InfoNCE of classifier2 patches of s_{t+1} against f5 patches of s_t at the same position;
    - norm: sum of both terms' mean Frobenius norms of the logits (``cnd_loss_target_reg`` 1e-4);
    - uniform: -mean over the batch of the std across features of Phi_T(s_t) (beta1 1e-4).
    total = global_local + local_local + uniform_weight * uniform + norm_weight * norm.
    """
    keys = local_prev.transpose(0, 1)  # (P, B, L)
    queries_gl = global_next.unsqueeze(0).expand(keys.shape[0], -1, -1)  # (P, B, L)
    gl, norm_gl = infonce_loss(queries_gl, keys)
    ll, norm_ll = infonce_loss(local_next.transpose(0, 1), keys)
    norm = norm_gl + norm_ll
    uniform = -features.std(dim=1).mean()
    total = gl + ll + uniform_weight * uniform + norm_weight * norm
    return {"total": total, "global_local": gl, "local_local": ll, "norm": norm, "uniform": uniform}


def vicreg_loss(
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    inv_weight: float = 1.0,
    var_weight: float = 1.0,
    cov_weight: float = 0.04,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """VICReg (Bardes et al. 2022) as SND-VIC's target loss (Iskandor ``VICRegEncoderAtari``, snd-spec
    §1.3). z_a, z_b: (B, F).
    - invariance: MSE(z_a, z_b) over B * F;
    - variance: mean_k ReLU(1 - sqrt(Var_batch(z)_k + 1e-4)), for z_a plus for z_b (unbiased variance);
    - covariance: sum of squared off-diagonal entries of the batch covariance (divisor B - 1) / F, for
      z_a plus for z_b.
    The default weights 1 : 1 : 1/25 are VICReg's 25 : 25 : 1 rescaled by 1/25.
    Returns (total, invariance, variance, covariance), the terms unweighted."""
    invariance = F.mse_loss(z_a, z_b)
    variance = (
        F.relu(1.0 - torch.sqrt(z_a.var(dim=0) + 1e-4)).mean()
        + F.relu(1.0 - torch.sqrt(z_b.var(dim=0) + 1e-4)).mean()
    )
    covariance = _off_diagonal_cov(z_a) + _off_diagonal_cov(z_b)
    total = inv_weight * invariance + var_weight * variance + cov_weight * covariance
    return total, invariance, variance, covariance


def _off_diagonal_cov(z: torch.Tensor) -> torch.Tensor:
    """sum_{k != l} C_kl^2 / F with C the (F, F) batch covariance, divisor B - 1."""
    B, Fdim = z.shape
    zc = z - z.mean(0)
    cov = zc.T @ zc / (B - 1)  # (F, F)
    return (cov.square().sum() - cov.diagonal().square().sum()) / Fdim
