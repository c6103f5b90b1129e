"""Generalised advantage estimation for the two reward streams (snd-spec §3).

delta_t = r_t + gamma * (1 - d_t) * V(s_{t+1}) - V(s_t)
A_t     = delta_t + gamma * lambda * (1 - d_t) * A_{t+1}          (Schulman et al. 2016, eqs. 11-16)

``d_t`` is 1 when the episode ended at step t (s_{t+1} is then the first state of the next episode), so
both the bootstrap and the recursion stop there. The paper masks BOTH streams this way (episodic
intrinsic return); RND's non-episodic intrinsic stream passes an all-zero mask.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def gae(
    rewards: torch.Tensor,  # (T, N)
    values: torch.Tensor,  # (T+1, N): V(s_0..s_T), the last one is the bootstrap value
    dones: torch.Tensor,  # (T, N) float, 1 where the episode ended at step t
    gamma: float,
    lam: float,
    bootstrap_last_step: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and return targets, both (T, N).

    With ``bootstrap_last_step=False`` the authors' quirk is reproduced: the recursion starts at T-2 and
    the last step gets advantage 0 and return target 0 (snd-spec §3).
    """
    T = rewards.shape[0]
    not_done = 1.0 - dones.float()
    adv = torch.zeros_like(rewards, dtype=torch.float32)
    last = torch.zeros_like(rewards[0], dtype=torch.float32)  # (N,)
    start = T - 1 if bootstrap_last_step else T - 2
    for t in range(start, -1, -1):
        delta = rewards[t] + gamma * not_done[t] * values[t + 1] - values[t]
        last = delta + gamma * lam * not_done[t] * last
        adv[t] = last
    returns = adv + values[:-1]
    if not bootstrap_last_step:
        returns[T - 1] = 0.0
    return adv, returns


class RewardForwardFilter:
    """OpenAI RND's running std of the discounted intrinsic return (optional; the paper does not use it).

    Keeps r_f <- gamma * r_f + r per env and a running variance of r_f over all steps, so the intrinsic
    reward can be divided by its std (Burda et al. 2019, §2.4).
    """

    def __init__(self, gamma: float, num_envs: int, device: torch.device) -> None:
        self.gamma = gamma
        self.rewems = torch.zeros(num_envs, device=device, dtype=torch.float64)
        self.mean = torch.zeros((), device=device, dtype=torch.float64)
        self.var = torch.ones((), device=device, dtype=torch.float64)
        self.count = torch.zeros((), device=device, dtype=torch.float64)
        # (count, mean, var) of this process's returns -> those of every rank's (trainer.distributed)
        self.merge: Callable[..., tuple] | None = None

    def update(self, rewards: torch.Tensor) -> None:  # rewards (T, N)
        """Fold a rollout's rewards into the running moments (Chan et al. parallel update)."""
        rets = []
        for r in rewards.double():
            self.rewems = self.rewems * self.gamma + r
            rets.append(self.rewems.clone())
        x = torch.stack(rets).flatten()
        b_mean, b_var, b_count = x.mean(), x.var(unbiased=False), x.numel()
        if self.merge is not None:
            b_count, b_mean, b_var = self.merge(b_count, b_mean, b_var)
        delta = b_mean - self.mean
        tot = self.count + b_count
        self.mean = self.mean + delta * b_count / tot
        m2 = self.var * self.count + b_var * b_count + delta**2 * self.count * b_count / tot
        self.var = m2 / tot
        self.count = tot

    @property
    def std(self) -> torch.Tensor:
        return torch.sqrt(self.var).float() + 1e-8

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"rewems": self.rewems, "mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, sd: dict[str, torch.Tensor]) -> None:
        for k, v in sd.items():
            setattr(self, k, v.to(self.rewems.device))
