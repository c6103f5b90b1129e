"""Intrinsic motivation: RND and the three SND variants behind one small interface.

``make_motivation`` builds a ``Motivation`` for ``rnd``, ``snd-v``, ``snd-std`` or ``snd-vic`` (None for
plain ``ppo``). The trainer calls, per env step, ``reward(obs)`` on s_t and ``observe(obs)``; per rollout,
``update(obs_seq)``; the player calls ``reward`` and ``features``. Observations arrive as uint8 on the
training device; only the newest frame reaches the networks (channel 0 on Atari, channels 0..2 on
Procgen; snd-spec §1).

The paper's numbers come from two codebases (snd-spec §8.1), and each variant follows the one that
produced its number by default:

- SND-V: michalnand RLAgents ``AgentPPOCND`` (§1.1): state mean/std normalisation, 4 epochs x T*N/512
  steps per rollout (128 at paper scale), each one predictor step on 512 states drawn with replacement and
  one target step on 64 fresh pairs.
- SND-STD, SND-VIC and RND: Iskandor/SND ``SNDMotivation.train`` (§1.2, §1.3, §2.3): one pass over the
  rollout in T*N/512 contiguous time-major minibatches (32 at paper scale), predictor + target loss in one
  Adam step per minibatch.

This module lives in trainer/ but imports only torch, models/ and its settings (trainer.motivation_config),
so it stays pure math.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch import nn

from models.augment import sndv_augment
from models.losses import contrastive_loss_mse, distillation_error, distillation_loss, stdim_loss, vicreg_loss
from models.normalization import RunningMeanStd
from models.rnd import RNDPredictor, RNDTarget
from models.snd import snd_std_networks, snd_vic_networks, sndv_networks
from trainer.motivation_config import (
    MOTIVATION_ALGOS,
    PAPER_ENVS,
    MotivationConfig,
    paper_eta,
    paper_keep_prob,
)


class Motivation:
    """A target Phi_T, a predictor Phi_L and optionally an input normaliser; r_int = clip(eta * err, 0, 1)
    with err the distillation error on s_t (snd-spec §1). Subclasses define the update losses."""

    algo: str
    eta: float
    feature_dim: int
    optimizers: dict[str, torch.optim.Optimizer]
    error_reduction = "mean"  # mean over features for every SND variant (snd-spec §1)
    distributed_step: Callable[..., dict] | None = None
    """``step_losses`` behind DistributedDataParallel, set by trainer.distributed in a run of several
    ranks, so that backward averages the gradients over the ranks; None in one process."""

    def __init__(
        self,
        algo: str,
        eta: float,
        target: nn.Module,
        predictor: nn.Module,
        in_shape: tuple[int, int, int],
        cfg: MotivationConfig,
        schedule: str,
        keep_prob: float,
        normaliser: RunningMeanStd | None,
        device: torch.device,
        seed: int,
    ) -> None:
        self.algo = algo
        self.eta = float(eta)
        self.cfg = cfg
        self.schedule = schedule
        self.keep_prob = keep_prob
        self.in_channels = in_shape[0]
        self.device = torch.device(device)
        self.target = target.to(self.device)
        self.predictor = predictor.to(self.device)
        self.normaliser = normaliser.to(self.device) if normaliser is not None else None
        modules = {"target": self.target, "predictor": self.predictor}
        if self.normaliser is not None:
            modules["normaliser"] = self.normaliser
        self.nets = nn.ModuleDict(modules)
        with torch.no_grad():
            self.feature_dim = int(self.target(torch.zeros(1, *in_shape, device=self.device)).shape[-1])
        # masks, augmentations and pair sampling; its state is resume state (the trainer's), not a
        # checkpoint tensor
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.optimizers = self._make_optimizers()

    # ---- the interface ----------------------------------------------------------------------------------
    @property
    def has_normaliser(self) -> bool:
        """True when ``observe`` updates input statistics (RND, SND-V with state normalisation)."""
        return self.normaliser is not None

    @torch.inference_mode()
    def reward(self, obs: torch.Tensor, float32: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 obs (N, C, H, W) -> (r_int (N,) = clip(eta * err, 0, 1), err (N,) raw error), float32.
        ``float32=False`` runs the networks under the caller's autocast instead (``trainer bench`` times
        both)."""
        r, err, _ = self.reward_and_features(obs, float32)
        return r, err

    @torch.inference_mode()
    def reward_and_features(
        self, obs: torch.Tensor, float32: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``reward`` and ``features`` from one target pass (the player needs both every frame).

        The pass runs in float32 whatever autocast the caller set: bf16 adds about +3e-5 to every
        distillation error on Montezuma frames, a bias that grows to the size of the error itself once a
        long run's predictor gets below ~1e-4 (issue 9). Training passes may keep bf16."""
        with self._float32() if float32 else contextlib.nullcontext():
            x = self.prepare(obs)
            target, pred = self.target(x), self.predictor(x)  # (N, F)
        with self._float32():
            err = distillation_error(pred.float(), target.float(), self.error_reduction)  # (N,)
        return (self.eta * err).clamp(0.0, 1.0), err, target.float()

    @torch.inference_mode()
    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """uint8 obs (N, C, H, W) -> target features (N, F), float32."""
        return self.target(self.prepare(obs)).float()

    @torch.inference_mode()
    def observe(self, obs: torch.Tensor) -> None:
        """One env step's uint8 obs (N, C, H, W) -> update the input statistics (no-op without them)."""
        if self.normaliser is not None:
            self.normaliser.update(self.frames(obs))

    def update(self, obs_seq: torch.Tensor) -> dict[str, float]:
        """Train on one rollout. obs_seq: uint8 (T+1, N, C, H, W), the rollout's observations plus the
        final next observation, so (obs_seq[t], obs_seq[t+1]) are the transitions (s_t, s_{t+1}); at an
        episode end s_{t+1} is the reset frame, as in the paper. Returns mean losses by name."""
        states = obs_seq[:-1].flatten(0, 1)  # (B, C, H, W), time-major, B = T * N
        nexts = obs_seq[1:].flatten(0, 1)  # (B, C, H, W)
        B = states.shape[0]
        if B < 2:
            raise ValueError(f"motivation update needs at least 2 transitions, got T*N = {B}")
        sums: dict[str, torch.Tensor] = {}
        steps = self.minibatches(B)
        step_losses = self.step_losses if self.distributed_step is None else self.distributed_step
        for idx in steps:
            # autocast caches the bf16 copy of each weight until the caller's outermost autocast exits;
            # dropping it makes every step see the weights the previous optimiser step wrote
            torch.clear_autocast_cache()
            losses = step_losses(states, nexts, idx)
            total = sum(losses[k] for k in ("loss_predictor", "loss_target") if k in losses)
            for opt in self.optimizers.values():
                opt.zero_grad(set_to_none=True)
            total.backward()
            for opt in self.optimizers.values():
                opt.step()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v.detach()
        # one host read-back per rollout, not per step
        names = list(sums)
        means = (torch.stack([sums[k] for k in names]) / len(steps)).tolist()
        return dict(zip(names, means))

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Flat, tensor-only: target (frozen or not), predictor and normaliser buffers."""
        return dict(self.nets.state_dict())

    def load_state_dict(self, sd: dict[str, torch.Tensor]) -> None:
        self.nets.load_state_dict(sd)

    # ---- shared pieces ----------------------------------------------------------------------------------
    def frames(self, obs: torch.Tensor) -> torch.Tensor:
        """uint8 (N, C, H, W) -> the newest frame as float in [0, 1], (N, c, H, W)."""
        return obs[:, : self.in_channels].float().div_(255.0)

    def prepare(self, obs: torch.Tensor) -> torch.Tensor:
        """uint8 obs -> the networks' input: newest frame, then the variant's normalisation."""
        return self.normalise(self.frames(obs))

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Float frames in [0, 1] (N, c, H, W) -> the networks' input; not in place, so saliency maps can
        perturb the frame and differentiate through it (``snd_player.core.saliency``)."""
        return self.normaliser.normalize_state(x) if self.normaliser is not None else x

    def step_losses(self, states: torch.Tensor, nexts: torch.Tensor, idx: torch.Tensor | slice) -> dict:
        """Loss tensors of one step on minibatch ``idx`` of the B transitions: ``loss_predictor``,
        optionally ``loss_target`` (the two are summed and back-propagated), plus named terms to log."""
        raise NotImplementedError

    def predictor_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return distillation_loss(pred.float(), target.float(), self.keep_prob, self.generator)

    def _float32(self) -> torch.autocast:
        """Losses run outside any autocast the caller set, on float32 inputs."""
        return torch.autocast(self.device.type, enabled=False)

    def minibatches(self, B: int) -> list[torch.Tensor | slice]:
        """Index sets of one update over B transitions: michalnand draws epochs x B/minibatch sets with
        replacement; iskandor cuts B into B/minibatch contiguous time-major slices (the whole rollout
        when it is smaller than a minibatch)."""
        mb = min(self.cfg.minibatch_size, B)
        n = max(1, B // mb)
        if self.schedule == "michalnand":
            return [
                torch.randint(B, (mb,), generator=self.generator, device=self.device)
                for _ in range(self.cfg.michalnand_epochs * n)
            ]
        # n contiguous slices covering all B (each 512 when 512 divides B, as 4 steps x 128 envs)
        edges = [i * B // n for i in range(n + 1)]
        return [slice(edges[i], edges[i + 1]) for i in range(n)]

    def _make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        pred = list(self.predictor.parameters())
        target = [p for p in self.target.parameters() if p.requires_grad]
        lr = self.cfg.lr
        # Adam keeps per-parameter state, so one Adam over both nets and two Adams, one each, take the
        # same steps; the split only mirrors each codebase's checkpoint layout.
        if self.schedule == "iskandor":
            return {"motivation": torch.optim.Adam(pred + target, lr=lr)}
        out = {"predictor": torch.optim.Adam(pred, lr=lr)}
        if target:
            out["target"] = torch.optim.Adam(target, lr=lr)
        return out


class RNDMotivation(Motivation):
    """The paper's RND baseline (Iskandor ``RNDModelAtari``, snd-spec §2.3): frozen random target, input
    minus the running per-pixel mean, error 1/2 sum_k (T - P)^2, predictor loss keep-mask 0.25 at
    128 envs (``paper_keep_prob``)."""

    error_reduction = "half_sum"

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return self.normaliser.center(x)

    def step_losses(self, states: torch.Tensor, nexts: torch.Tensor, idx: torch.Tensor | slice) -> dict:
        x = self.prepare(states[idx])
        with torch.no_grad():
            target = self.target(x)
        pred = self.predictor(x)
        with self._float32():
            return {"loss_predictor": self.predictor_loss(pred, target)}


class SNDVMotivation(Motivation):
    """SND-V (michalnand ``AgentPPOCND``, snd-spec §1.1): the target learns a contrastive distance on
    pairs of augmented states; the predictor distils it with an element keep-mask."""

    def step_losses(self, states: torch.Tensor, nexts: torch.Tensor, idx: torch.Tensor | slice) -> dict:
        x = self.prepare(states[idx])
        # Not torch.no_grad(): under autocast a no-grad pass caches bf16 copies of the target's weights
        # with no autograd history, and before torch 2.11 the contrastive pass below reused them, so
        # loss_target never reached the target's weights (issue 9). A grad-enabled pass, detached, caches
        # copies that keep their history.
        target = self.target(x).detach()
        pred = self.predictor(x)
        x_ab, y = self.sample_pairs(states)
        z_a, z_b = self.target(x_ab).chunk(2)  # (P, F) each
        with self._float32():
            z_a, z_b = z_a.float(), z_b.float()
            total, sim, magnitude = contrastive_loss_mse(z_a, z_b, y, self.cfg.magnitude_threshold)
            return {
                "loss_predictor": self.predictor_loss(pred, target),
                "loss_target": total,
                "contrastive_sim": sim,
                "contrastive_magnitude": magnitude,
                # M = mean z_a^2 + mean z_b^2 itself, the authors' logged ``cnd_magnitude``: their runs show
                # it jump from ~1-2 to 30-60 at 1.3-1.4M steps, before the first exit from room 1
                "target_magnitude": (z_a.detach().square().mean() + z_b.detach().square().mean()),
            }

    def sample_pairs(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``PolicyBufferIM.sample_states``: a uniform over the rollout, y ~ Bernoulli(0.5), b = a when
        y = 0 (two views of one state) else an independent uniform index; both prepared and augmented
        independently. Returns the stacked views (2P, c, H, W) and y (P,)."""
        B, P, g = states.shape[0], self.cfg.sndv_pairs, self.generator
        a = torch.randint(B, (P,), generator=g, device=self.device)
        far = torch.rand(P, generator=g, device=self.device) < 0.5  # y = 1: a distant pair
        b = torch.where(far, torch.randint(B, (P,), generator=g, device=self.device), a)
        x = self.prepare(states[torch.cat([a, b])])  # (2P, c, H, W)
        c = self.cfg
        x_a = sndv_augment(x[:P], g, c.augment_prob, c.tile_zero_prob, c.noise_amplitude)
        x_b = sndv_augment(x[P:], g, c.augment_prob, c.tile_zero_prob, c.noise_amplitude)
        return torch.cat([x_a, x_b]), far.float()


class SNDSTDMotivation(Motivation):
    """SND-STD (Iskandor ``STDModelAtari``, snd-spec §1.2): ST-DIM target on (s_t, s_{t+1}); predictor MSE
    summed over batch x features."""

    def step_losses(self, states: torch.Tensor, nexts: torch.Tensor, idx: torch.Tensor | slice) -> dict:
        x = self.prepare(states[idx])
        encoder = self.target.encoder
        # one forward over s_t and s_{t+1}; the s_t half also serves as the predictor's target
        feats, f5 = encoder.forward_maps(torch.cat([x, self.prepare(nexts[idx])]))  # (2B, F), (2B, P, L)
        feats_t, feats_next = feats.chunk(2)
        f5_t, f5_next = f5.chunk(2)
        global_next = self.target.classifier1(feats_next)  # (B, L)
        local_next = self.target.classifier2(f5_next)  # (B, P, L)
        pred = self.predictor(x)
        with self._float32():
            loss_pred = self.predictor_loss(pred, feats_t)
            if self.cfg.std_predictor_sum:
                # masked mean x elements: the sum when nothing is masked, an unbiased estimate otherwise
                loss_pred = loss_pred * pred.numel()
            terms = stdim_loss(
                global_next.float(),
                local_next.float(),
                f5_t.float(),
                feats_t.float(),
                self.cfg.std_norm_weight,
                self.cfg.std_uniform_weight,
            )
            return {
                "loss_predictor": loss_pred,
                "loss_target": terms["total"],
                "stdim_global_local": terms["global_local"],
                "stdim_local_local": terms["local_local"],
                "stdim_norm": terms["norm"],
                "stdim_uniform": terms["uniform"],
            }


class SNDVICMotivation(Motivation):
    """SND-VIC (Iskandor ``VICRegModelAtari``, snd-spec §1.3): VICReg target on consecutive states
    (s_t, s_{t+1}), no augmentation, no projector; predictor plain MSE."""

    def step_losses(self, states: torch.Tensor, nexts: torch.Tensor, idx: torch.Tensor | slice) -> dict:
        x = self.prepare(states[idx])
        z_a, z_b = self.target(torch.cat([x, self.prepare(nexts[idx])])).chunk(2)  # (B, F) each
        pred = self.predictor(x)
        c = self.cfg
        with self._float32():
            total, inv, var, cov = vicreg_loss(
                z_a.float(), z_b.float(), c.vicreg_inv_weight, c.vicreg_var_weight, c.vicreg_cov_weight
            )
            return {
                "loss_predictor": self.predictor_loss(pred, z_a),
                "loss_target": total,
                "vicreg_inv": inv,
                "vicreg_var": var,
                "vicreg_cov": cov,
            }


def make_motivation(
    algo: str,
    obs_shape: tuple[int, int, int],
    is_procgen: bool,
    cfg: MotivationConfig,
    device: torch.device,
    seed: int,
    env_id: str | None = None,
    num_envs: int = PAPER_ENVS,
) -> Motivation | None:
    """The motivation of ``algo`` (None for plain ``ppo``) with its networks initialised from ``seed``.

    ``env_id`` only matters when ``cfg.eta`` is None and the paper eta is per game (SND-STD, Procgen
    SND-V); without it SND-STD gets 1 (its value on Montezuma's Revenge). ``num_envs`` (over all ranks)
    only matters when ``cfg.predictor_keep_prob`` is None (``paper_keep_prob``); a training config
    records both resolved, so the trainer and the player pass explicit values.
    """
    if algo == "ppo":
        return None
    if algo not in MOTIVATION_ALGOS:
        raise ValueError(f"unknown algo {algo!r}; valid: ppo, {', '.join(MOTIVATION_ALGOS)}")
    c = 3 if is_procgen else 1
    if obs_shape[0] < c:
        raise ValueError(f"observations {tuple(obs_shape)} have fewer than the {c} channels {algo} reads")
    in_shape = (c, int(obs_shape[1]), int(obs_shape[2]))
    eta = cfg.eta if cfg.eta is not None else paper_eta(algo, env_id or "", is_procgen)
    schedule = cfg.schedule if cfg.schedule != "auto" else ("michalnand" if algo == "snd-v" else "iskandor")
    keep = cfg.predictor_keep_prob
    if keep is None:
        keep = paper_keep_prob(algo, is_procgen, num_envs)
    state_norm = cfg.state_norm if cfg.state_norm is not None else (algo == "snd-v" and not is_procgen)

    # initialise from the seed alone, whatever the global RNG state, so a seed names one motivation
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if algo == "rnd":
            cls, target, predictor = RNDMotivation, RNDTarget(in_shape), RNDPredictor(in_shape)
        elif algo == "snd-v":
            cls, (target, predictor) = SNDVMotivation, sndv_networks(in_shape)
        elif algo == "snd-std":
            cls, (target, predictor) = SNDSTDMotivation, snd_std_networks(in_shape, is_procgen)
        else:
            cls, (target, predictor) = SNDVICMotivation, snd_vic_networks(in_shape, is_procgen)
    normaliser = None
    if algo == "rnd" or state_norm:
        # only the frame the networks read is tracked: per-pixel statistics of the other stacked frames
        # would never be used
        normaliser = RunningMeanStd(in_shape, cfg.state_norm_var_floor)
    return cls(algo, eta, target, predictor, in_shape, cfg, schedule, keep, normaliser, device, seed)
