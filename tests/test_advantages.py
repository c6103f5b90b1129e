"""GAE against numbers worked out by hand (both streams, done masks, bootstrap)."""

import numpy as np
import torch

from trainer.advantages import RewardForwardFilter, gae


def t(x):
    return torch.tensor(x, dtype=torch.float32)


def test_gae_single_env_by_hand():
    # T=3, N=1, gamma=0.5, lambda=0.5, no dones, V = 1 everywhere, bootstrap V(s_3) = 2
    r = t([[1.0], [0.0], [2.0]])
    v = t([[1.0], [1.0], [1.0], [2.0]])
    d = t([[0.0], [0.0], [0.0]])
    adv, ret = gae(r, v, d, gamma=0.5, lam=0.5)
    # deltas: d2 = 2 + 0.5*2 - 1 = 2 ; d1 = 0 + 0.5*1 - 1 = -0.5 ; d0 = 1 + 0.5 - 1 = 0.5
    # A2 = 2 ; A1 = -0.5 + 0.25*2 = 0 ; A0 = 0.5 + 0.25*0 = 0.5
    assert torch.allclose(adv[:, 0], t([0.5, 0.0, 2.0]))
    assert torch.allclose(ret[:, 0], t([1.5, 1.0, 3.0]))


def test_gae_done_stops_bootstrap_and_recursion():
    # episode ends at t=1: s_2 belongs to a new episode, so A_1 must not see V(s_2) or A_2
    r = t([[0.0], [1.0], [0.0]])
    v = t([[0.0], [0.0], [10.0], [10.0]])
    d = t([[0.0], [1.0], [0.0]])
    adv, ret = gae(r, v, d, gamma=0.9, lam=1.0)
    # A2 = 0 + 0.9*10 - 10 = -1 ; A1 = 1 - 0 = 1 (masked) ; A0 = 0 + 0.9*0 - 0 + 0.9*1*1 = 0.9
    assert torch.allclose(adv[:, 0], t([0.9, 1.0, -1.0]))
    assert torch.allclose(ret[:, 0], t([0.9, 1.0, 9.0]))


def test_two_streams_episodic_vs_non_episodic():
    # the same rollout through the intrinsic stream: episodic (masked) vs RND's non-episodic (no mask)
    r = t([[0.5], [0.5]])
    v = t([[0.0], [0.0], [1.0]])
    d = t([[0.0], [1.0]])
    a_epi, _ = gae(r, v, d, gamma=0.99, lam=0.95)
    a_non, _ = gae(r, v, torch.zeros_like(d), gamma=0.99, lam=0.95)
    assert torch.allclose(a_epi[:, 0], t([0.5 + 0.99 * 0.95 * 0.5, 0.5]))
    # non-episodic: A1 = 0.5 + 0.99*1 = 1.49 ; A0 = 0.5 + 0.99*0.95*1.49
    assert torch.allclose(a_non[:, 0], t([0.5 + 0.99 * 0.95 * 1.49, 1.49]))


def test_quirk_last_step_gets_zero_advantage_and_return():
    r = t([[1.0, 0.0], [1.0, 1.0]])
    v = t([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0]])
    d = torch.zeros(2, 2)
    adv, ret = gae(r, v, d, gamma=0.5, lam=1.0, bootstrap_last_step=False)
    assert torch.all(adv[1] == 0) and torch.all(ret[1] == 0)
    # the recursion starts at T-2 with A_{T-1} = 0: A0 = r0 + 0.5*V1 - V0
    assert torch.allclose(adv[0], t([1.0, 0.0]))


def test_gae_matches_reference_loop_on_random_data():
    g = torch.Generator().manual_seed(0)
    T, N, gamma, lam = 7, 3, 0.97, 0.9
    r = torch.rand(T, N, generator=g)
    v = torch.rand(T + 1, N, generator=g)
    d = (torch.rand(T, N, generator=g) < 0.2).float()
    adv, ret = gae(r, v, d, gamma, lam)
    rn, vn, dn = r.numpy(), v.numpy(), d.numpy()
    ref = np.zeros((T, N))
    for n in range(N):
        last = 0.0
        for s in reversed(range(T)):
            nd = 1 - dn[s, n]
            delta = rn[s, n] + gamma * nd * vn[s + 1, n] - vn[s, n]
            last = delta + gamma * lam * nd * last
            ref[s, n] = last
    assert np.allclose(adv.numpy(), ref, atol=1e-6)
    assert np.allclose(ret.numpy(), ref + vn[:-1], atol=1e-6)


def test_reward_forward_filter_matches_numpy():
    f = RewardForwardFilter(gamma=0.5, num_envs=2, device=torch.device("cpu"))
    r1 = t([[1.0, 0.0], [1.0, 2.0]])
    r2 = t([[0.0, 1.0]])
    f.update(r1)
    f.update(r2)
    # discounted sums per env: env0: 1, 1.5, 0.75 ; env1: 0, 2, 2
    x = np.array([1.0, 0.0, 1.5, 2.0, 0.75, 2.0])
    assert np.isclose(float(f.mean), x.mean())
    assert np.isclose(float(f.var), x.var())
