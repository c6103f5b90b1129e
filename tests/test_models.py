"""Networks, initialisation, running statistics and augmentations (models/)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from models.actor_critic import ActorCritic, looks_like_procgen
from models.augment import random_tile_mask, sndv_augment, uniform_noise
from models.init import SQRT2
from models.normalization import RunningMeanStd
from models.rnd import RNDPredictor, RNDTarget
from models.snd import STDIMEncoder, snd_std_networks, snd_vic_networks, sndv_networks

ATARI, PROCGEN, NATURE = (4, 96, 96), (6, 64, 64), (4, 84, 84)



def is_orthogonal(layer: nn.Module, gain: float) -> bool:
    """W W^T = gain^2 I for a wide weight (W^T W for a tall one): all singular values equal the gain."""
    w = layer.weight.detach().flatten(1).double()
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    return torch.allclose(gram, gain**2 * torch.eye(gram.shape[0], dtype=torch.float64), atol=1e-5)


def linears(module: nn.Module) -> list[nn.Linear]:
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def convs(module: nn.Module) -> list[nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


# ---- shapes -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "encoder", "last_conv", "flat"),
    [(ATARI, "paper", 128, 128 * 12 * 12), (PROCGEN, "paper", 64, 64 * 8 * 8), (NATURE, "nature", 64, 3136)],
)
def test_actor_critic_shapes(shape: tuple[int, int, int], encoder: str, last_conv: int, flat: int) -> None:
    net = ActorCritic(shape, 7, encoder=encoder)
    logits, v_ext, v_int = net(torch.rand(2, *shape))
    assert logits.shape == (2, 7) and v_ext.shape == (2,) and v_int.shape == (2,)
    assert net.encode(torch.rand(2, *shape)).shape == (2, 512)
    assert convs(net.trunk)[-1].out_channels == last_conv
    assert linears(net.trunk)[0].in_features == flat


def test_actor_critic_rejects_unknown_encoder_and_infers_procgen() -> None:
    with pytest.raises(ValueError, match="nature"):
        ActorCritic(ATARI, 4, encoder="impala")
    assert looks_like_procgen(PROCGEN) and not looks_like_procgen(ATARI)
    assert convs(ActorCritic(PROCGEN, 4, procgen=False).trunk)[-1].out_channels == 128


@pytest.mark.parametrize(("in_shape", "flat"), [((1, 96, 96), 64 * 12 * 12), ((3, 64, 64), 64 * 8 * 8)])
def test_rnd_and_sndv_shapes(in_shape: tuple[int, int, int], flat: int) -> None:
    x = torch.rand(2, *in_shape)
    for net in (RNDTarget(in_shape), RNDPredictor(in_shape), *sndv_networks(in_shape)):
        assert net(x).shape == (2, 512)
        assert linears(net)[0].in_features == flat


@pytest.mark.parametrize(
    ("in_shape", "procgen", "positions", "flat"),
    [((1, 96, 96), False, 144, 128 * 144), ((3, 64, 64), True, 64, 64 * 64)],
)
def test_stdim_shapes(in_shape: tuple[int, int, int], procgen: bool, positions: int, flat: int) -> None:
    x = torch.rand(2, *in_shape)
    target, predictor = snd_std_networks(in_shape, procgen)
    out, f5 = target.encoder.forward_maps(x)
    assert out.shape == (2, 512) and f5.shape == (2, positions, 64)
    assert torch.allclose(out, target(x))
    assert target.classifier1(out).shape == (2, 64) and target.classifier2(f5).shape == (2, positions, 64)
    assert predictor(x).shape == (2, 512) and linears(predictor)[0].in_features == flat


def test_sndvic_procgen_shapes() -> None:
    x = torch.rand(2, 3, 64, 64)
    target, predictor = snd_vic_networks((3, 64, 64), procgen=True)
    assert isinstance(target, STDIMEncoder) and target(x).shape == (2, 512)
    assert convs(target)[-1].out_channels == 64
    # the VICReg predictor keeps a 128-channel last conv on Procgen too (Iskandor VICRegModelProcgen)
    assert predictor(x).shape == (2, 512) and convs(predictor)[-1].out_channels == 128


# ---- initialisation -----------------------------------------------------------------------------------
# gains do not depend on the frame size, so these use small frames to stay quick
def test_actor_critic_gains() -> None:
    net = ActorCritic((6, 32, 32), 5, procgen=True)
    actor = linears(net.actor)
    # a wide (A x 512) orthogonal matrix has orthonormal rows: each row norm is the gain
    assert torch.allclose(actor[-1].weight.norm(dim=1), torch.full((5,), 0.01), atol=1e-6)
    assert is_orthogonal(actor[-1], 0.01) and is_orthogonal(actor[0], 0.01)
    assert is_orthogonal(linears(net.critic)[0], 0.1) and not is_orthogonal(linears(net.critic)[0], 0.01)
    for head in (net.value_ext, net.value_int):
        assert math.isclose(head.weight.norm().item(), 0.01, rel_tol=1e-5)
    assert all(is_orthogonal(layer, SQRT2) for layer in (*convs(net.trunk), *linears(net.trunk)))
    assert all(not m.bias.any() for m in (*linears(net), *convs(net)))


def test_target_gains() -> None:
    rnd = RNDTarget((1, 32, 32))
    assert not any(p.requires_grad for p in rnd.parameters())
    assert all(is_orthogonal(layer, SQRT2) for layer in (*convs(rnd), *linears(rnd)))
    std_target, std_predictor = snd_std_networks((3, 32, 32), procgen=True)
    layers = (*convs(std_target.encoder), *linears(std_target.encoder), *linears(std_predictor))
    assert all(is_orthogonal(layer, 0.5) for layer in layers)
    _, vic_predictor = snd_vic_networks((3, 32, 32), procgen=True)
    assert is_orthogonal(linears(vic_predictor)[-1], SQRT2)


# ---- running statistics -------------------------------------------------------------------------------
def test_running_mean_std_matches_numpy_moments() -> None:
    rng = np.random.default_rng(0)
    batches = [rng.uniform(0, 1, size=(8, 2, 3, 3)) * (i + 1) for i in range(5)]
    rms = RunningMeanStd((2, 3, 3), var_floor=0.0)
    for b in batches:
        rms.update(torch.from_numpy(b))
    everything = np.concatenate(batches)
    assert int(rms.count) == 5
    np.testing.assert_allclose(rms.mean.numpy(), everything.mean(0), rtol=1e-12)
    np.testing.assert_allclose(rms.var.numpy(), everything.var(0), rtol=1e-10)
    np.testing.assert_allclose(rms.std.numpy(), everything.std(0), rtol=1e-10)


def test_running_mean_std_averages_calls_not_samples() -> None:
    rms = RunningMeanStd((1,), var_floor=0.0)
    rms.update(torch.tensor([[0.0], [0.0], [0.0]]))  # a call adds one batch mean, whatever its size
    rms.update(torch.tensor([[4.0]]))
    assert math.isclose(rms.mean.item(), 2.0) and math.isclose(rms.var.item(), (0 + 16) / 2 - 4)


def test_running_mean_std_floor_normalise_and_center() -> None:
    rms = RunningMeanStd((2,), var_floor=1e-3)
    assert torch.equal(rms.var, torch.ones(2, dtype=torch.float64))  # before any data
    rms.update(torch.tensor([[0.5, 0.0], [0.5, 2.0]]))
    assert torch.allclose(rms.var, torch.tensor([1e-3, 1.0], dtype=torch.float64))  # first is floored
    x = torch.tensor([[0.52, 3.0], [0.5, 0.5]])
    out = rms.normalize_state(x)
    assert out.dtype == torch.float32
    # (0.52 - 0.5) / sqrt(1e-3) = 0.632; (3 - 1) / 1 = 2 -> clamped to 1; (0.5 - 1) / 1 = -0.5
    assert torch.allclose(out, torch.tensor([[0.02 / math.sqrt(1e-3), 1.0], [0.0, -0.5]]), atol=1e-6)
    assert torch.allclose(rms.center(x), x - torch.tensor([0.5, 1.0]))


def test_running_mean_std_updates_in_inference_mode_and_round_trips() -> None:
    rms = RunningMeanStd((3,))
    with torch.inference_mode():
        rms.update(torch.ones(4, 3))
    assert not rms.mean.is_inference() and torch.equal(rms.mean, torch.ones(3, dtype=torch.float64))
    other = RunningMeanStd((3,))
    other.load_state_dict(rms.state_dict())
    assert torch.equal(other.mean, rms.mean) and torch.equal(other.count, rms.count)


# ---- augmentations ------------------------------------------------------------------------------------
def test_augmentations_keep_shape_and_are_deterministic() -> None:
    x = torch.rand(16, 3, 64, 64)
    a = sndv_augment(x, torch.Generator().manual_seed(7))
    b = sndv_augment(x, torch.Generator().manual_seed(7))
    c = sndv_augment(x, torch.Generator().manual_seed(8))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)


def test_tile_mask_zeroes_tiles_shared_across_channels() -> None:
    x = torch.ones(8, 3, 96, 96)
    out = random_tile_mask(x, torch.Generator().manual_seed(0), p_apply=1.0, p_zero=0.5)
    zeros = out == 0
    assert zeros.any() and (out == 1).any()  # some pixels masked, some kept
    assert torch.equal(zeros[:, :1].expand_as(zeros), zeros)  # the same mask on every channel
    untouched = random_tile_mask(x, torch.Generator().manual_seed(0), p_apply=0.0, p_zero=0.5)
    assert torch.equal(untouched, x)


def test_tile_mask_covers_frames_tiles_do_not_divide() -> None:
    x = torch.ones(64, 1, 84, 84)
    gen = torch.Generator().manual_seed(1)
    for _ in range(10):  # several tile sizes, including 8 and 16 that do not divide 84
        assert random_tile_mask(x, gen, p_apply=1.0).shape == x.shape


def test_uniform_noise_is_bounded_and_per_sample() -> None:
    x = torch.zeros(64, 1, 8, 8)
    out = uniform_noise(x, torch.Generator().manual_seed(0), p_apply=0.5, amplitude=0.2)
    assert out.abs().max() <= 0.2 and out.abs().max() > 0.15
    noisy = out.flatten(1).abs().sum(1) > 0
    assert 0 < noisy.sum() < 64  # p = 0.5 per sample: some samples noisy, some clean
