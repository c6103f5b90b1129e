"""One training run over several processes: torchrun's ranks, DistributedDataParallel, exact statistics.

Launch (docs/clusters.md)::

    torchrun --nproc-per-node G -m trainer.cli train --num-envs 128 ...           # one node, G ranks
    torchrun --nnodes K --nproc-per-node G --rdzv-backend c10d --rdzv-endpoint HOST:PORT -m trainer.cli train ...

torchrun gives every process RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT.
Without them (a plain ``trainer train``) the world size is 1 and every method here returns its input
untouched, so one process runs exactly the single-process code.

With W ranks, each rank (the loop asks this module; nothing else knows ranks):

- steps ``num_envs / W`` envs with seeds of its own (``local_config``), computes its own rollout, rewards
  and advantages;
- trains the policy and every motivation network behind DDP on minibatches of ``minibatch_size / W`` drawn
  from its own rollout (SND-V's contrastive pairs too), so every optimiser step averages the gradients of
  the same global minibatch size as one process, and the weights stay identical on every rank;
- merges running statistics exactly after every rollout: the motivation's input normaliser (a cumulative
  average of E[x] and E[x^2]) and the optional reward filter (count, mean, M2: Chan et al. 1979);
- sends rank 0 its episodes and random-number streams; rank 0 alone writes metrics, TensorBoard and
  checkpoints.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from trainer.ranks import DistributedError, env_int, mark_joined
from trainer.rng import restore_generator

if TYPE_CHECKING:
    from trainer.advantages import RewardForwardFilter
    from trainer.config import TrainConfig
    from trainer.motivation import Motivation
    from trainer.motivation_config import MotivationConfig
    from trainer.rollout import Rollout

RANK_SEED_STRIDE = 1_000_003
"""Rank r's seed is seed + r * this, so its env seeds (seed + i) never meet another rank's."""

RANK_STATE_KEYS = ("gen", "sample_gen", "torch_rng", "motivation_gen")
"""Resume-state entries that are one random stream per rank (the rest is identical on every rank)."""


# The only buffers are statistics, merged exactly by merge_normaliser; DDP must not overwrite them with
# rank 0's before every forward. torch 2.13 renamed the switch (the old name warns).
_NO_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
    else {"broadcast_buffers": False}
)


class RankTrainer(Protocol):
    """What this module reads and sets of the loop's ``Trainer`` (``prepare``, a resume's rank streams).

    The loop drives this module and hands it its trainer; this module never imports the loop (a contract
    in pyproject.toml), so the trainer is known here by the attributes used."""

    cfg: TrainConfig  # this rank's config (``local_config``)
    run_cfg: TrainConfig  # the whole run's
    motivation: Motivation | None
    reward_filter: RewardForwardFilter | None
    gen: torch.Generator
    sample_gen: torch.Generator
    update_idx: int


class _MotivationStep(nn.Module):
    """A motivation's training step as one module call, so DDP sees every network it trains: SND-STD
    reaches its target through ``encoder.forward_maps`` and its classifiers, not ``target.forward``."""

    def __init__(self, motivation: Motivation) -> None:
        super().__init__()
        self.nets = motivation.nets  # registers target, predictor and normaliser for DDP
        self.motivation = [motivation]  # a list: the Motivation is not an nn.Module to register

    def forward(self, states: torch.Tensor, nexts: torch.Tensor, idx: torch.Tensor | slice) -> dict:
        m = self.motivation[0]
        losses = m.step_losses(states, nexts, idx)
        if m.algo == "snd-std" and m.cfg.std_predictor_sum:
            # a sum over the minibatch, not a mean: DDP averages over ranks, one process sums them all
            losses["loss_predictor"] = losses["loss_predictor"] * dist.get_world_size()
        return losses


class _PolicyWithoutIntHead(nn.Module):
    """Plain PPO trains no intrinsic value head. Detaching its output lets DDP (find_unused_parameters)
    see that head as unused on every rank, so its gradient stays None as in one process."""

    def __init__(self, policy: nn.Module) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits, v_ext, v_int = self.policy(obs)
        return logits, v_ext, v_int.detach()


@dataclass
class Distributed:
    """This process's place in the run: rank, world size and the helpers that keep the ranks in step."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    owns_group: bool = False
    _norm_base: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = dataclasses.field(
        default=None, repr=False
    )

    @classmethod
    def from_env(cls) -> Distributed:
        """The process group if one exists (tests start their own), else torchrun's environment."""
        if dist.is_available() and dist.is_initialized():
            return cls(
                rank=dist.get_rank(),
                world_size=dist.get_world_size(),
                local_rank=env_int("LOCAL_RANK", dist.get_rank()),
                local_world_size=env_int("LOCAL_WORLD_SIZE", dist.get_world_size()),
            )
        world = env_int("WORLD_SIZE", 1)
        rank = env_int("RANK", 0)
        if world < 1 or not 0 <= rank < world:
            raise DistributedError(f"RANK={rank} WORLD_SIZE={world} is not a valid torchrun rank")
        if world > 1 and not dist.is_available():
            raise DistributedError(f"WORLD_SIZE={world} but this torch build has no torch.distributed")
        return cls(
            rank=rank,
            world_size=world,
            local_rank=env_int("LOCAL_RANK", rank),
            local_world_size=env_int("LOCAL_WORLD_SIZE", world),
        )

    @property
    def active(self) -> bool:
        """More than one rank: anything to merge at all."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes files and shows progress."""
        return self.rank == 0

    # ---- set-up -----------------------------------------------------------------------------------------
    def local_config(self, cfg: TrainConfig) -> TrainConfig:
        """This rank's share of a resolved run config: num_envs / W envs, minibatches / W, its own seed.

        Every global size must split evenly, so that W ranks train on exactly the global minibatch of one
        process; otherwise one line names the flag and the multiples that work.
        """
        if not self.active:
            return cfg
        W = self.world_size
        sizes = [("--num-envs", cfg.num_envs), ("--ppo.minibatch-size", cfg.ppo.minibatch_size)]
        if cfg.algo != "ppo":
            sizes.append(("--motivation.minibatch-size", cfg.motivation.minibatch_size))
        if cfg.algo == "snd-v":
            sizes.append(("--motivation.sndv-pairs", cfg.motivation.sndv_pairs))
        for flag, value in sizes:
            if value % W:
                lo, hi = max(W, value // W * W), value // W * W + W
                raise DistributedError(
                    f"{flag} {value} does not split evenly over {W} ranks (torchrun's WORLD_SIZE); "
                    f"use a multiple of {W}, e.g. {lo} or {hi}"
                )
        workers = cfg.num_workers
        if workers is None:  # one env worker per core, shared by the ranks on this node
            workers = max(1, (os.cpu_count() or 1) // self.local_world_size)
        return dataclasses.replace(
            cfg,
            num_envs=cfg.num_envs // W,
            seed=cfg.seed + RANK_SEED_STRIDE * self.rank,
            num_workers=workers,
            ppo=dataclasses.replace(cfg.ppo, minibatch_size=cfg.ppo.minibatch_size // W),
            motivation=dataclasses.replace(
                cfg.motivation,
                minibatch_size=cfg.motivation.minibatch_size // W,
                sndv_pairs=max(1, cfg.motivation.sndv_pairs // W),
            ),
        )

    def start(self, device: torch.device) -> torch.device:
        """Join the process group (NCCL on CUDA, gloo on the CPU); returns this rank's device."""
        if not self.active:
            return device
        if device.type == "cuda":
            n = torch.cuda.device_count()
            if self.local_world_size > n:  # the same answer on every rank of this node
                raise DistributedError(
                    f"{self.local_world_size} ranks on this node but {n} CUDA device(s) visible; "
                    f"use --nproc-per-node {n} or fewer (one GPU per rank)"
                )
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
            self.owns_group = True
        mark_joined()
        return device

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False

    def wrap_policy(self, policy: nn.Module, dual_value: bool) -> nn.Module:
        """The policy as the optimiser steps see it: behind DDP with W ranks, itself otherwise."""
        if not self.active:
            return policy
        if dual_value:
            return self._ddp(policy, find_unused=False)
        return self._ddp(_PolicyWithoutIntHead(policy), find_unused=True)

    def prepare(self, trainer: RankTrainer, resume_state: dict[str, Any] | None) -> None:
        """After the agent is built (and a resume loaded): this rank's random streams, the motivation
        behind DDP with this rank's minibatch sizes, and the statistics merged from now on."""
        if not self.active:
            return
        cfg, motivation, rf = trainer.cfg, trainer.motivation, trainer.reward_filter
        if motivation is not None:
            self.wrap_motivation(motivation, cfg.motivation, None if resume_state is not None else cfg.seed)
        if rf is not None:
            rf.merge = self.merge_moments
        if resume_state is not None:
            self._restore_rank_state(trainer, resume_state)

    def wrap_motivation(self, motivation: Motivation, cfg: MotivationConfig, seed: int | None) -> None:
        """Train ``motivation`` behind DDP with this rank's minibatch sizes (``cfg``), its random stream
        reseeded with this rank's ``seed`` (None: keep it, a resume restores it), and its input normaliser
        merged from its present state on."""
        if not self.active:
            return
        motivation.cfg = cfg
        if seed is not None:
            motivation.generator.manual_seed(seed)
        motivation.distributed_step = self._ddp(_MotivationStep(motivation), find_unused=False)
        if motivation.normaliser is not None:
            self.track_normaliser(motivation.normaliser)

    def track_normaliser(self, rms: nn.Module) -> None:
        """Take ``rms`` (a RunningMeanStd, the same on every rank now) as the base of the next merge."""
        self._norm_base = _sums(rms)

    def _ddp(self, module: nn.Module, find_unused: bool) -> DistributedDataParallel:
        device = next(module.parameters()).device
        return DistributedDataParallel(
            module,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=find_unused,
            **_NO_BUFFER_SYNC,
        )

    # ---- statistics -------------------------------------------------------------------------------------
    def merge_normaliser(self, motivation: Motivation | None) -> None:
        """Merge every rank's input-normaliser updates since the last merge, exactly.

        ``RunningMeanStd`` keeps cumulative averages of per-call batch means (count calls, mean = E[x],
        mean_sq = E[x^2]), so count * mean is a plain sum: each rank's new sums are all-reduced and added to
        the common base. A call here sees N / W envs, so W rank-calls make one call of N envs and the count
        advances as in one process (a checkpoint resumes the same under any world size). The result equals
        the moments of all ranks' samples together, which is what the parallel (Chan et al.) formula gives.
        """
        if not self.active or motivation is None or motivation.normaliser is None:
            return
        rms = motivation.normaliser
        c0, a0, q0 = self._norm_base
        c, a, q = _sums(rms)
        delta = torch.cat([(c - c0).reshape(1), (a - a0).flatten(), (q - q0).flatten()])
        dist.all_reduce(delta)  # every rank receives the same sums
        calls = delta[0] / self.world_size
        if calls.item() == 0:
            return
        count = c0 + calls
        rms.count.copy_(count)
        rms.mean.copy_((a0 + delta[1 : 1 + a0.numel()].view_as(a0) / self.world_size) / count)
        rms.mean_sq.copy_((q0 + delta[1 + a0.numel() :].view_as(q0) / self.world_size) / count)
        self.track_normaliser(rms)

    def merge_moments(
        self, count: int | torch.Tensor, mean: torch.Tensor, var: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(count, mean, population variance) of this rank's samples -> those of every rank's samples
        together, by the parallel formula (Chan, Golub, LeVeque 1979): n = sum n_r,
        mean = sum n_r m_r / n, M2 = sum M2_r + sum n_r (m_r - mean)^2. Same result on every rank."""
        mean64, var64 = mean.detach().double(), var.detach().double()
        n = torch.as_tensor(count, dtype=torch.float64, device=mean64.device).reshape(1)
        rows = self._all_gather(torch.cat([n, mean64.flatten(), var64.flatten()]))  # (W, 1 + 2k)
        k = mean64.numel()
        total, m, v = _chan(rows[:, 0], rows[:, 1 : 1 + k], rows[:, 1 + k :])
        return total, m.view_as(mean64), v.view_as(var64)

    # ---- what rank 0 writes -----------------------------------------------------------------------------
    def merge_episodes(
        self, stats: Any, scores: list[float], lengths: list[int], rooms: list[int]
    ) -> tuple[list[float], list[int], list[int]]:
        """Every rank's finished episodes of this update (rank order) and the union of the rooms seen.

        ``stats`` (the loop's EpisodeStats) is updated in place on every rank: its recent-score and
        recent-room windows hold every rank's episodes, its room set is the union over ranks.
        """
        if not self.active:
            return scores, lengths, rooms
        parts = self.all_gather_object((scores, lengths, rooms, stats.rooms_seen(), stats.has_rooms))
        all_scores = [s for p in parts for s in p[0]]
        all_lengths = [n for p in parts for n in p[1]]
        all_rooms = [r for p in parts for r in p[2]]
        # this rank appended its own episodes to the windows as they ended: swap them for everyone's
        for window, local, merged in (
            (stats.recent, scores, all_scores),
            (stats.recent_rooms, rooms, all_rooms),
        ):
            for _ in range(min(len(local), len(window))):
                window.pop()
            window.extend(merged)
        stats.all_rooms = set().union(*(p[3] for p in parts))
        stats.has_rooms = any(p[4] for p in parts)
        return all_scores, all_lengths, all_rooms

    def merge_row(self, row: dict[str, Any], ro: Rollout, loss_names: Sequence[str]) -> None:
        """Rollout statistics of the whole run (all ranks' samples) and losses averaged over ranks, in
        place in a metrics row; the same numbers on every rank, so all agree on divergence."""
        if not self.active:
            return
        ri = ro.r_int.double().flatten()
        n = float(ri.numel())
        parts = [
            torch.tensor([n], dtype=torch.float64, device=ri.device),
            ri.mean().reshape(1),
            ri.var(unbiased=False).reshape(1),
            ro.int_error.double().mean().reshape(1),
            ro.r_ext.double().sum().reshape(1),
            ro.v_ext.double().mean().reshape(1),
            ro.v_int.double().mean().reshape(1),
            torch.tensor([float(row[k]) for k in loss_names], dtype=torch.float64, device=ri.device),
        ]
        rows = self._all_gather(torch.cat(parts))  # (W, 7 + losses); every rank has the same shares
        total, mean, var = (float(x) for x in _chan(rows[:, 0], rows[:, 1], rows[:, 2]))
        row["r_int_mean"] = mean
        row["r_int_std"] = math.sqrt(var * total / max(total - 1.0, 1.0))  # unbiased, as torch.std
        row["int_error_mean"] = float(rows[:, 3].mean())
        row["r_ext_sum"] = float(rows[:, 4].sum())
        row["v_ext_mean"] = float(rows[:, 5].mean())
        row["v_int_mean"] = float(rows[:, 6].mean())
        for i, k in enumerate(loss_names):
            row[k] = float(rows[:, 7 + i].mean())

    def resume_state(self, state: dict[str, Any]) -> dict[str, Any] | None:
        """The resume state rank 0 writes: the shared entries, and every rank's random streams under
        ``ranks`` (its own at the top level, as one process writes them) and the reward filter's per-env
        returns of all ranks in env order. None on the other ranks, which write nothing."""
        if not self.active:
            return state
        mine = {k: _cpu(state[k]) for k in RANK_STATE_KEYS if k in state}
        rf = state.get("reward_filter")
        if rf is not None:
            mine["rewems"] = rf["rewems"].cpu()
        parts = self.all_gather_object(mine)
        if not self.is_main:
            return None
        state = {**state, "world_size": self.world_size, "ranks": [{k: v for k, v in p.items() if k != "rewems"}
                                                                    for p in parts]}  # fmt: skip
        if rf is not None:
            state["reward_filter"] = {**rf, "rewems": torch.cat([p["rewems"] for p in parts])}
        return state

    def _restore_rank_state(self, trainer: RankTrainer, state: dict[str, Any]) -> None:
        """This rank's streams from a resume state (the loop loaded the top-level ones, rank 0's).

        A checkpoint from another world size is re-split rather than refused: weights, optimiser moments
        and statistics are the same on every rank, the envs start fresh episodes on every resume anyway,
        and the reward filter's per-env returns are stored in global env order. Ranks the old run did not
        have start random streams of their own.
        """
        ranks = state.get("ranks") or []
        motivation = trainer.motivation
        if self.rank < len(ranks):
            mine = ranks[self.rank]
            trainer.gen.set_state(mine["gen"])
            torch.set_rng_state(mine["torch_rng"])
            # device-bound streams: restored where the device type matches, else re-seeded (as one process)
            reseed = trainer.cfg.seed + 7919 * trainer.update_idx
            restore_generator(trainer.sample_gen, mine["sample_gen"], reseed + 1)
            if motivation is not None and "motivation_gen" in mine:
                restore_generator(motivation.generator, mine["motivation_gen"], reseed + 2)
        elif self.rank > 0:
            seed = trainer.cfg.seed + 7919 * trainer.update_idx
            trainer.gen.manual_seed(seed)
            trainer.sample_gen.manual_seed(seed + 1)
            if motivation is not None:
                motivation.generator.manual_seed(seed)
        rf = trainer.reward_filter
        rewems = (state.get("reward_filter") or {}).get("rewems")
        if rf is not None and rewems is not None and rewems.numel() == trainer.run_cfg.num_envs:
            n = trainer.cfg.num_envs
            rf.rewems = rewems[self.rank * n : (self.rank + 1) * n].to(rf.rewems.device).clone()

    # ---- small collectives ------------------------------------------------------------------------------
    def all_gather_object(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order ([obj] with one rank)."""
        if not self.active:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def max(self, value: float) -> float:
        """The largest ``value`` over ranks (the slowest rank sets a synchronised run's pace)."""
        if not self.active:
            return value
        return float(self._all_gather(torch.tensor([float(value)], dtype=torch.float64)).max())

    def any(self, flag: bool) -> bool:
        """True on every rank when any rank passes True (e.g. a stop request seen by one rank)."""
        if not self.active:
            return flag
        return bool(self._all_gather(torch.tensor([float(flag)], dtype=torch.float64)).max() > 0)

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def _all_gather(self, t: torch.Tensor) -> torch.Tensor:
        """(W, *t.shape), rank order; on this rank's device (NCCL only moves CUDA tensors)."""
        if dist.get_backend() == "nccl":
            t = t.to(torch.device("cuda", torch.cuda.current_device()))
        out = [torch.empty_like(t) for _ in range(self.world_size)]
        dist.all_gather(out, t.contiguous())
        return torch.stack(out)


def _sums(rms: nn.Module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(count, count * mean, count * mean_sq) of a RunningMeanStd, copies in float64."""
    return rms.count.clone(), rms.count * rms.mean, rms.count * rms.mean_sq


def _chan(
    n: torch.Tensor, mean: torch.Tensor, var: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Parallel merge (Chan et al.) of per-rank rows: n (W,), mean and population var (W, ...) ->
    (n, mean, population var) of all samples; summed in rank order, so every rank gets the same bits."""
    w = n.reshape(-1, *([1] * (mean.dim() - 1)))
    total = n.sum()
    m = (w * mean).sum(0) / total
    m2 = (w * var).sum(0) + (w * (mean - m).square()).sum(0)
    return total, m, m2 / total


def _cpu(value: Any) -> Any:
    """A resume-state entry on the CPU: a tensor, or a generator state saved with its device type."""
    if isinstance(value, dict):
        return {k: _cpu(v) for k, v in value.items()}
    return value.cpu() if isinstance(value, torch.Tensor) else value
