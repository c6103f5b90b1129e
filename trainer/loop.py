"""The training loop: collect a rollout, compute the two advantage streams, update PPO and the motivation.

Collect / advantages / update are three methods with typed hand-offs (STYLE.md 4). The env steps in
worker processes while the main process computes the intrinsic reward of the current observation, so the
network overlaps with the emulators; observations stay uint8 until they reach the network.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainer.advantages import RewardForwardFilter, gae
from trainer.agent import Agent, build_agent, load_agent, save_agent
from trainer.checkpoint import (
    atomic_write,
    checkpoint_name,
    foreign_files_warning,
    prune_checkpoints,
    save_torch,
)
from trainer.config import TrainConfig, from_dict, to_dict
from trainer.distributed import Distributed
from trainer.envs import VecEnv, is_procgen, make_vec_env
from trainer.errors import TrainError, TrainingStopped
from trainer.heap import keep_freed_memory
from trainer.metrics import MetricsWriter
from trainer.ppo import RolloutBatch, obs_to_float, ppo_update
from trainer.ranks import env_rank
from trainer.resume import (
    check_run_folder,
    cut_metrics,
    find_resume_point,
    holds_a_run,
    remove_stale_temps,
    set_aside_everything,
    set_aside_passed_over,
)
from trainer.rng import restore_generator, save_generator, seed_everything
from trainer.rollout import Advantages, Rollout
from trainer.runfiles import RunFileError, check_folder, read_json
from trainer.runs import lock_run_dir
from trainer.stop import StopFlag

SCALARS = (
    "score_mean",
    "score_max",
    "length_mean",
    "rooms_episode_mean",
    "rooms_total",
    "r_int_mean",
    "r_int_std",
    "int_error_mean",
    "r_ext_sum",
    "v_ext_mean",
    "v_int_mean",
    "steps_per_s",
)


def is_new_best(recent: float, best_score: float, best_exists: bool) -> bool:
    """Whether a checkpoint becomes ``best``: its recent mean score is at least the best so far. Ties go to
    the newer checkpoint (issue 27 item 7: with every score 0 after 20k steps, ``best`` stayed the first
    checkpoint and ``compare runA runB`` compared the 4k-step agents)."""
    return not best_exists or recent >= best_score


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError(
            f"--device cuda: CUDA is not available here (torch {torch.__version__}); use --device cpu or auto"
        )
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 convs and matmuls natively here (AVX-512 or AMX), not emulated."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch built without oneDNN
        return False


def autocast_for(
    device: torch.device, amp: str, float32_on_cuda: bool = False
) -> contextlib.AbstractContextManager | None:
    """bf16 autocast where it is safe: convs and matmuls in bf16, losses cast to float32 by the callers.

    On CUDA, ``auto`` needs native bf16 (compute capability 8.0, Ampere, or newer): older GPUs emulate it,
    slower than float32, and ``torch.cuda.is_bf16_supported()`` says True for some of them anyway. They
    train in float32, with one line saying so; ``on`` forces bf16 there. ``float32_on_cuda``
    (``TrainConfig.float32_on_cuda``: --preset paper) makes ``auto`` float32 on CUDA, as the authors
    trained. On the CPU, ``auto`` is bf16 only where oneDNN has bf16 kernels (AVX-512 or AMX): an AVX2-only
    CPU emulates bf16, and a Nature-CNN pass there takes about 6.6x as long as in float32. That fallback
    is silent: unlike an old GPU's, it is what the user would pick (the numbers differ from bf16 only by
    rounding)."""
    if amp == "off" or (amp == "auto" and float32_on_cuda and device.type == "cuda"):
        return None
    if device.type == "cpu" and amp == "auto" and not cpu_has_native_bf16():
        return None  # float32 is simply the faster choice there (`trainer bench` shows "bf16 off")
    if device.type == "cuda" and amp == "auto":
        major, minor = torch.cuda.get_device_capability(device)
        if major < 8:
            print(
                f"trainer: bf16 autocast off: {torch.cuda.get_device_name(device)} (compute capability "
                f"{major}.{minor}) has no native bf16 (needs 8.0, Ampere or newer); training in float32",
                file=sys.stderr,
            )
            return None
    return torch.autocast(device.type, dtype=torch.bfloat16)


@dataclass
class EpisodeStats:
    """Host-side bookkeeping of finished episodes and rooms, (level, room) pairs as in snd-spec §6."""

    num_envs: int
    scores: list[float] = dataclasses.field(default_factory=list)
    lengths: list[int] = dataclasses.field(default_factory=list)
    rooms: list[int] = dataclasses.field(default_factory=list)
    recent: deque = dataclasses.field(default_factory=lambda: deque(maxlen=100))
    recent_rooms: deque = dataclasses.field(default_factory=lambda: deque(maxlen=100))
    all_rooms: set = dataclasses.field(default_factory=set)
    has_rooms: bool = False

    def __post_init__(self) -> None:
        self.episode_rooms: list[set] = [set() for _ in range(self.num_envs)]

    def step(self, done: np.ndarray, info: dict[str, np.ndarray]) -> None:
        room, level = info["room"], info["level"]
        if room[0] >= 0:
            self.has_rooms = True
            lv = np.maximum(level, 0)
            for i in range(self.num_envs):
                self.episode_rooms[i].add((int(lv[i]), int(room[i])))
        for i in np.flatnonzero(done):
            self.scores.append(float(info["episode_score"][i]))
            self.lengths.append(int(info["episode_length"][i]))
            self.recent.append(float(info["episode_score"][i]))
            if self.has_rooms:
                self.all_rooms |= self.episode_rooms[i]
                self.rooms.append(len(self.episode_rooms[i]))
                self.recent_rooms.append(len(self.episode_rooms[i]))
                self.episode_rooms[i] = set()

    def pop(self) -> tuple[list[float], list[int], list[int]]:
        out = (self.scores, self.lengths, self.rooms)
        self.scores, self.lengths, self.rooms = [], [], []
        return out

    def rooms_seen(self) -> set:
        """Rooms of finished episodes plus those of the episodes in progress."""
        out = set(self.all_rooms)
        for s in self.episode_rooms:
            out |= s
        return out


class Trainer:
    """Owns the envs, the agent, the optimiser and the run folder."""

    def __init__(self, cfg: TrainConfig, resume: bool = False) -> None:
        cfg.validate()  # before the folder is touched (--restart) or anything is allocated
        self.started = time.monotonic()
        self.last_checkpoint = self.started  # --checkpoint-minutes counts from here, then from each checkpoint
        # this session's wall-clock budget: the command line's, also when --resume reads the run's config
        self.max_minutes = cfg.max_minutes
        self.run_dir = Path(cfg.run_dir)
        self.ckpt_dir = self.run_dir / "checkpoints"
        resume_state = None
        self._aside: Path | None = None  # the old-<time>/ folder this resume set files aside in
        if resume and cfg.restart:
            raise TrainError(
                "--resume and --restart: pick one (continue the run, or set it aside and start over)"
            )
        main_rank = env_rank() == 0  # under torchrun only rank 0 moves or removes files of the run folder
        if not resume and main_rank:  # neither a fresh start nor --restart mixes with or moves a user's files
            check_run_folder(self.run_dir, "--restart: " if cfg.restart else "")
        if cfg.restart and main_rank:
            aside = set_aside_everything(self.run_dir)
            if aside is not None:
                _notice(f"--restart: the old contents of {self.run_dir} are in {aside}")
        if resume:
            cfg, resume_state = self._prepare_resume(cfg, main_rank)
        elif not cfg.restart and (held := holds_a_run(self.run_dir)) is not None:
            raise TrainError(
                f"{self.run_dir} already holds a run ({held}); pass --resume to continue it, --restart to set "
                "it aside and start over, or pick another --run-dir"
            )
        if cfg.tensorboard and main_rank:  # TensorBoard's writer would fail later with a bare "File exists"
            check_folder(self.run_dir / "tb", "the folder of TensorBoard's event files")
        cfg = cfg.resolved()
        # the run as a whole (config.json, checkpoints, global steps) and this rank's share of it
        self.dist = Distributed.from_env()
        self.run_cfg = cfg
        cfg = self.dist.local_config(cfg)
        self.cfg = cfg
        self.device = self.dist.start(pick_device(cfg.device))
        if self.device.type == "cpu":
            keep_freed_memory()  # large CPU tensors from the heap, not a fresh mmap each (trainer/heap.py)
        # CPU threads per phase: while the env worker processes run, extra intra-op threads only spin
        # against them (measured 3-5x slower collection on 2 cores); during the update the workers idle.
        all_threads = torch.get_num_threads()
        envs_elsewhere = cfg.num_workers != 0 or is_procgen(cfg.env)
        self.collect_threads = cfg.torch_threads or (1 if envs_elsewhere else all_threads)
        self.update_threads = cfg.torch_threads or all_threads
        seed_everything(cfg.seed)
        self.autocast = autocast_for(self.device, cfg.amp, cfg.float32_on_cuda)
        self.agent: Agent = build_agent(self.run_cfg, self.device)
        self.policy = self.agent.policy
        self.motivation = self.agent.motivation
        self.channels_last = cfg.channels_last == "on" or (cfg.channels_last == "auto" and self.device.type == "cpu")
        if self.channels_last:  # in place (the same Parameter objects), before any optimiser state exists
            self.policy.to(memory_format=torch.channels_last)
            if self.motivation is not None:
                self.motivation.nets.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=cfg.ppo.lr)
        self.gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
        self.sample_gen = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        self.dual_value = cfg.algo != "ppo"
        self.sampling = cfg.ppo.minibatch_sampling
        if self.sampling == "auto":
            self.sampling = "replacement" if cfg.algo == "snd-v" else "shuffle"
        self.reward_filter = (
            RewardForwardFilter(cfg.ppo.gamma_int, cfg.num_envs, self.device)
            if cfg.ppo.int_reward_std_norm
            else None
        )
        self.global_step = 0
        self.update_idx = 0
        self.wall_time = 0.0
        self.best_score = -math.inf
        self.stats = EpisodeStats(cfg.num_envs)
        if resume_state is not None:
            self._load_resume(resume_state)
        self.train_policy = self.dist.wrap_policy(self.policy, self.dual_value)
        self.dist.prepare(self, resume_state)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.dist.is_main:
            atomic_write(
                self.run_dir / "config.json",
                lambda p: p.write_text(json.dumps(to_dict(self.run_cfg), indent=2)),
            )
        env_seed = cfg.seed + 7919 * self.update_idx  # resumed runs start fresh episodes with new seeds
        self.envs: VecEnv = make_vec_env(cfg.env_cfg, cfg.num_envs, env_seed, num_workers=cfg.num_workers)
        self.obs_np = self.envs.reset()
        T, N = cfg.ppo.rollout_steps, cfg.num_envs
        shape = self.agent.spec.obs_shape
        self.obs_buf = torch.zeros((T + 1, N, *shape), dtype=torch.uint8, device=self.device)
        # host -> GPU copies go through pinned memory so they can be asynchronous; the CPU needs none
        on_gpu = self.device.type == "cuda"
        self.staging = torch.empty((N, *shape), dtype=torch.uint8, pin_memory=True) if on_gpu else None
        self.metrics: MetricsWriter | None = None

    # ---- run folder -------------------------------------------------------------------------------------
    def _prepare_resume(self, cli_cfg: TrainConfig, main_rank: bool = True) -> tuple[TrainConfig, dict[str, Any] | None]:
        cfg_path = self.run_dir / "config.json"
        try:
            raw = read_json(cfg_path, "the run's config.json, as trainer train writes it")
        except FileNotFoundError:
            raise TrainError(f"--resume: {cfg_path} not found; nothing to resume in {self.run_dir}") from None
        except RunFileError as e:
            raise TrainError(f"--resume: {e}") from None
        try:
            if not isinstance(raw, dict):
                raise TypeError(f"expected a JSON object, found {type(raw).__name__}")
            cfg = from_dict(raw)
        except (ValueError, TypeError, AttributeError) as e:
            why = (str(e).splitlines() or [type(e).__name__])[0]
            raise TrainError(f"--resume: {cfg_path} is not a readable snd config ({why})") from None
        # a resumed run may be given a larger budget or another device; everything else is the run's own
        total = cli_cfg.total_steps if cli_cfg.total_steps is not None else cfg.total_steps
        cfg = dataclasses.replace(cfg, total_steps=total, device=cli_cfg.device, progress=cli_cfg.progress)
        point = find_resume_point(self.run_dir, cfg)  # refuses (ResumeError) rather than start over on a run
        if main_rank:
            remove_stale_temps(self.run_dir)
        if point is None:
            _notice(f"--resume: {self.run_dir} has no checkpoint and no metrics yet; starting from step 0")
            return cfg, None
        if point.passed_over and main_rank:
            aside = self._aside = set_aside_passed_over(self.run_dir, point)
            why = "; ".join(f"step {s:,}: {reason}" for s, reason in point.passed_over)
            kept = f"; its files are in {aside}" if aside is not None else ""
            _notice(f"--resume: continuing from step {point.step:,}, passing over {why}{kept}")
        point.state["checkpoint"] = str(point.checkpoint)
        return cfg, point.state

    def _load_resume(self, state: dict[str, Any]) -> None:
        loaded = load_agent(state["checkpoint"], self.device)
        self.policy.load_state_dict(loaded.policy.state_dict())
        if self.motivation is not None and loaded.motivation is not None:
            self.motivation.load_state_dict(loaded.motivation.state_dict())
            for name, opt in self.motivation.optimizers.items():
                opt.load_state_dict(state["motivation_optimizers"][name])
        self.optimizer.load_state_dict(state["optimizer"])
        self.gen.set_state(state["gen"])
        torch.set_rng_state(state["torch_rng"])
        self._restore_device_generators(state)
        if self.reward_filter is not None and "reward_filter" in state:
            self.reward_filter.load_state_dict(state["reward_filter"])
        self.global_step = int(state["global_step"])
        self.update_idx = int(state["update"])
        self.wall_time = float(state["wall_time"])
        self.best_score = float(state["best_score"])
        self.stats.all_rooms = {tuple(r) for r in state["all_rooms"]}
        self.stats.has_rooms = bool(state["all_rooms"])
        self.stats.recent.extend(state["recent_scores"])
        if self.dist.is_main:
            warning = cut_metrics(self.run_dir, self.update_idx, self._aside)
            if warning is not None:
                print(f"trainer: warning: {warning}", file=sys.stderr, flush=True)

    def _restore_device_generators(self, state: dict[str, Any]) -> None:
        """Action sampling and motivation generators live on the training device: restored where the
        saved run used the same device type, re-seeded (one warning) where it did not."""
        reseed = self.cfg.seed + 7919 * int(state["update"])
        same = restore_generator(self.sample_gen, state["sample_gen"], reseed + 1)
        if self.motivation is not None and "motivation_gen" in state:
            same &= restore_generator(self.motivation.generator, state["motivation_gen"], reseed + 2)
        if not same:
            print(
                f"trainer: warning: resuming on {self.device.type} a run saved on another device type (or with no "
                "generator state): "
                "action-sampling and motivation generators re-seeded (the run goes on, not bit-identical)",
                file=sys.stderr,
            )

    def _save(self, final: bool = False) -> Path:
        path = self.ckpt_dir / checkpoint_name(self.global_step)
        state = {
            "global_step": self.global_step,
            "update": self.update_idx,
            "wall_time": self.wall_time,
            "best_score": self.best_score,
            "optimizer": self.optimizer.state_dict(),
            "motivation_optimizers": {
                k: o.state_dict() for k, o in (self.motivation.optimizers.items() if self.motivation else [])
            },
            "gen": self.gen.get_state(),
            "sample_gen": save_generator(self.sample_gen),
            "torch_rng": torch.get_rng_state(),
            "all_rooms": [list(r) for r in sorted(self.stats.all_rooms)],
            "recent_scores": list(self.stats.recent),
        }
        if self.motivation is not None:
            state["motivation_gen"] = save_generator(self.motivation.generator)
        if self.reward_filter is not None:
            state["reward_filter"] = self.reward_filter.state_dict()
        state = self.dist.resume_state(state)  # every rank's random streams, gathered to rank 0
        if state is None:
            return path  # only rank 0 writes
        # the resume state goes first: a .safetensors with no .state.pt beside it is skipped by --resume
        save_torch(path.with_suffix(".state.pt"), state)
        extra = self._facts()
        save_agent(self.agent, path, self.global_step, extra)
        recent = float(np.mean(self.stats.recent)) if self.stats.recent else -math.inf
        if is_new_best(recent, self.best_score, (self.ckpt_dir / "best.safetensors").exists()):
            self.best_score = max(recent, self.best_score)
            save_agent(self.agent, self.ckpt_dir / "best.safetensors", self.global_step, extra)
        every, batch = self.run_cfg.checkpoint_every, self.run_cfg.batch_size
        prune_checkpoints(
            self.ckpt_dir, self.cfg.keep_checkpoints, self.cfg.keep_resume_states,
            on_schedule=lambda step: step // every > (step - batch) // every,  # this update crossed a multiple
        )  # fmt: skip
        return path

    def _facts(self) -> dict[str, Any]:
        """Training facts for the checkpoint metadata, so a shared file says how it was made."""
        recent = list(self.stats.recent)
        seen = self.stats.rooms_seen()
        return {
            "wall_time_s": round(self.wall_time, 1),
            "device": str(self.device)
            + (f" ({torch.cuda.get_device_name(self.device)})" if self.device.type == "cuda" else ""),
            "recent_score_mean": float(np.mean(recent)) if recent else None,
            "recent_score_max": float(np.max(recent)) if recent else None,
            "rooms_total": len(seen),
            "rooms": [list(r) for r in sorted(seen)],
            "world_size": self.dist.world_size,
        }

    # ---- the three steps --------------------------------------------------------------------------------
    def _upload(self, out: torch.Tensor) -> torch.Tensor:
        """The envs' latest observations into ``out``: one copy on the CPU, pinned staging to a GPU."""
        src = torch.from_numpy(self.obs_np)
        if self.device.type == "cpu":
            return out.copy_(src)
        self.staging.copy_(src)
        return out.copy_(self.staging, non_blocking=True)

    def _warms_up(self) -> bool:
        """Whether init_obs_normaliser will step the envs before the first update."""
        return (
            self.global_step == 0
            and self.motivation is not None
            and self.motivation.has_normaliser
            and self.cfg.obs_norm_init_steps > 0
        )

    def init_obs_normaliser(self) -> None:
        """Random-action steps that initialise the motivation's input statistics (michalnand)."""
        if self.motivation is None or not self.motivation.has_normaliser or self.cfg.obs_norm_init_steps <= 0:
            return
        rng = np.random.default_rng(self.cfg.seed)
        A = self.agent.spec.num_actions
        for _ in range(self.cfg.obs_norm_init_steps):
            self.motivation.observe(self._upload(self.obs_buf[0]))
            self.obs_np, _, _, _ = self.envs.step(rng.integers(0, A, size=self.cfg.num_envs))
        self.dist.merge_normaliser(self.motivation)

    @torch.inference_mode()
    def collect(self) -> Rollout:
        cfg, dev = self.cfg, self.device
        if dev.type == "cpu":
            torch.set_num_threads(self.collect_threads)
        T, N = cfg.ppo.rollout_steps, cfg.num_envs
        actions = torch.zeros((T, N), dtype=torch.int64, device=dev)
        logp = torch.zeros((T, N), device=dev)
        v_ext = torch.zeros((T + 1, N), device=dev)
        v_int = torch.zeros((T + 1, N), device=dev)
        r_int = torch.zeros((T, N), device=dev)
        err = torch.zeros((T, N), device=dev)
        r_ext = np.zeros((T, N), dtype=np.float32)
        dones = np.zeros((T, N), dtype=np.float32)
        ac = self.autocast or contextlib.nullcontext()
        for t in range(T + 1):
            x = self._upload(self.obs_buf[t])
            with ac:
                logits, ve, vi = self.policy(obs_to_float(x))
            v_ext[t], v_int[t] = ve.float(), vi.float()
            if t == T:
                break  # s_T only needs its values, for the bootstrap
            logp_all = torch.log_softmax(logits.float(), dim=-1)
            a = torch.multinomial(logp_all.exp(), 1, generator=self.sample_gen).squeeze(1)
            actions[t] = a
            logp[t] = logp_all.gather(1, a[:, None]).squeeze(1)
            self.envs.step_async(a.cpu().numpy())
            # while the emulators run: the intrinsic reward of s_t and the input statistics
            if self.motivation is not None:
                r_int[t], err[t] = self.motivation.reward(x)  # float32 whatever the autocast (issue 9)
                self.motivation.observe(x)
            self.obs_np, rew, done, info = self.envs.step_wait()
            r_ext[t], dones[t] = rew, done
            self.stats.step(done, info)
        self.dist.merge_normaliser(self.motivation)
        to = dict(device=dev, non_blocking=True)
        return Rollout(
            self.obs_buf, actions, logp, v_ext, v_int,
            torch.from_numpy(r_ext).to(**to), r_int, err, torch.from_numpy(dones).to(**to),
        )  # fmt: skip

    def advantages(self, ro: Rollout) -> Advantages:
        p = self.cfg.ppo
        if self.cfg.algo == "ppo":
            mask = 1.0 - ro.dones if p.baseline_inverted_done_mask else ro.dones
            adv, ret = gae(ro.r_ext, ro.v_ext, mask, p.gamma_baseline, p.gae_lambda, p.bootstrap_last_step)
            return Advantages(adv, ret, torch.zeros_like(ret))
        r_int = ro.r_int
        if self.reward_filter is not None:
            self.reward_filter.update(r_int)
            r_int = r_int / self.reward_filter.std
        int_dones = ro.dones if p.int_episodic else torch.zeros_like(ro.dones)
        a_ext, ret_ext = gae(ro.r_ext, ro.v_ext, ro.dones, p.gamma_ext, p.gae_lambda, p.bootstrap_last_step)
        a_int, ret_int = gae(r_int, ro.v_int, int_dones, p.gamma_int, p.gae_lambda, p.bootstrap_last_step)
        return Advantages(p.ext_adv_coef * a_ext + p.int_adv_coef * a_int, ret_ext, ret_int)

    def update(self, ro: Rollout, adv: Advantages) -> dict[str, float]:
        if self.device.type == "cpu":
            torch.set_num_threads(self.update_threads)
        T, N = ro.actions.shape
        batch = RolloutBatch(
            obs=ro.obs[:T].reshape(T * N, *ro.obs.shape[2:]),
            actions=ro.actions.reshape(-1),
            logp=ro.logp.reshape(-1),
            advantages=adv.combined.reshape(-1),
            ret_ext=adv.ret_ext.reshape(-1),
            ret_int=adv.ret_int.reshape(-1),
        )
        losses = ppo_update(
            self.train_policy,
            self.optimizer,
            batch,
            self.cfg.ppo,
            self.sampling,
            self.dual_value,
            self.gen,
            self.autocast,
        )
        if self.motivation is not None:
            with self.autocast or contextlib.nullcontext():
                losses.update(self.motivation.update(ro.obs))
        return losses

    # ---- the loop ---------------------------------------------------------------------------------------
    def _row(self, ro: Rollout, losses: dict[str, float], sps: float) -> dict[str, Any]:
        scores, lengths, rooms = self.stats.pop()
        scores, lengths, rooms = self.dist.merge_episodes(self.stats, scores, lengths, rooms)
        seen = self.stats.rooms_seen()
        ri = ro.r_int.float()
        row = {
            "update": self.update_idx,
            "global_step": self.global_step,
            "wall_time_s": round(self.wall_time, 3),
            "steps_per_s": sps,
            # what this process trained in: `--amp auto` follows the machine, so a run resumed on another
            # CPU can mix bf16 and float32 sessions, and config.json says only "auto"
            "precision": "float32" if self.autocast is None else "bf16",
            "episodes": len(scores),
            "episode_scores": scores,
            "episode_lengths": lengths,
            "episode_rooms": rooms,
            "score_mean": float(np.mean(scores)) if scores else None,
            "score_max": float(np.max(scores)) if scores else None,
            "length_mean": float(np.mean(lengths)) if lengths else None,
            "rooms_episode_mean": float(np.mean(rooms)) if rooms else None,
            "rooms_total": len(seen) if self.stats.has_rooms else None,
            "rooms": [list(r) for r in sorted(seen)],
            "r_int_mean": ri.mean().item(),
            "r_int_std": ri.std().item(),
            "int_error_mean": ro.int_error.mean().item(),
            "r_ext_sum": ro.r_ext.sum().item(),
            "v_ext_mean": ro.v_ext.mean().item(),
            "v_int_mean": ro.v_int.mean().item(),
        }
        row.update(losses)
        self.dist.merge_row(row, ro, list(losses))
        return row

    def train(self, max_updates: int | None = None) -> list[dict[str, Any]]:
        cfg = self.run_cfg
        total = int(cfg.total_steps)
        # TensorBoard drops events at steps >= purge_step: those after the checkpoint, not the checkpoint's own
        purge = self.global_step + 1 if self.global_step else None
        if self.dist.is_main:
            tracker = None
            if cfg.track:
                from trainer.tracking import WandbTracker

                tracker = WandbTracker(self.run_dir, to_dict(cfg), cfg.wandb_project, cfg.wandb_entity)
            self.metrics = MetricsWriter(self.run_dir, cfg.tensorboard, purge_step=purge, tracker=tracker)
            if (foreign := foreign_files_warning(self.ckpt_dir)) is not None:
                print(f"trainer: warning: {foreign}", file=sys.stderr)
            if self.global_step >= total:
                _notice(f"{self.run_dir} is already at step {self.global_step:,} of {total:,}; nothing to do "
                        "(pass a larger --total-steps to train further)")  # fmt: skip
        if cfg.progress and self.dist.is_main:  # what the bar does not say (issue 27 item 9)
            for note in start_notes(cfg, self.global_step, self._warms_up()):
                _notice(note)
        if self.global_step == 0:
            self.init_obs_normaliser()
        bar = None
        if cfg.progress and self.dist.is_main:
            from tqdm import tqdm

            bar = tqdm(total=total, initial=self.global_step, unit="step", unit_scale=True, dynamic_ncols=True,
                       desc=f"{cfg.algo} {cfg.env}", mininterval=1.0, smoothing=0.05)  # fmt: skip
        rows = []
        next_ckpt = (self.global_step // cfg.checkpoint_every + 1) * cfg.checkpoint_every
        stop = StopFlag().install()
        stop_seen = False
        try:
            while self.global_step < total and (max_updates is None or len(rows) < max_updates):
                t0 = time.perf_counter()
                ro = self.collect()
                adv = self.advantages(ro)
                losses = self.update(ro, adv)
                dt = time.perf_counter() - t0
                self.wall_time += dt
                self.global_step += cfg.batch_size
                self.update_idx += 1
                row = self._row(ro, losses, cfg.batch_size / dt)
                for k, v in row.items():
                    if isinstance(v, float) and not math.isfinite(v) and k in losses:
                        raise TrainError(f"update {self.update_idx}: {k} is {v}; training diverged")
                if self.metrics is not None:
                    self.metrics.write(row, SCALARS + tuple(losses))
                rows.append(row)
                if bar is not None:
                    bar.update(cfg.batch_size)
                    bar.set_postfix_str(self._postfix(row), refresh=False)
                saved = self.global_step >= next_ckpt or self.global_step >= total or self._clock_due()
                if saved:
                    if self.metrics is not None:
                        self.metrics.flush()  # every event up to the checkpoint is on disk before it exists
                    self._save()
                    next_ckpt = (self.global_step // cfg.checkpoint_every + 1) * cfg.checkpoint_every
                    self.last_checkpoint = time.monotonic()
                # SIGTERM / Ctrl-C or --max-minutes: the update is done; keep it and stop. Every rank must agree
                # on the update it stops after (the save is collective), hence the any() over ranks.
                stop_seen = self.dist.any(stop.requested)
                out_of_time = self.dist.any(self._budget_spent())
                if stop_seen or out_of_time:
                    if not saved:
                        self._save()
                    if out_of_time and not stop_seen:
                        self._say_budget_reached()
                    break
        finally:
            stop.restore()
            if bar is not None:
                bar.close()
            if self.metrics is not None:
                self.metrics.close()
        if stop_seen and self.global_step < total:  # a signal after the last update changes nothing
            raise TrainingStopped(
                f"{stop.name or 'a stop signal on another rank'} received: stopped at step {self.global_step:,} "
                f"(update {self.update_idx}) with a checkpoint; resume with: trainer train --run-dir {self.run_dir} --resume"
            )
        return rows

    def _clock_due(self) -> bool:
        """True on every rank once --checkpoint-minutes have passed since the last checkpoint (rank 0's clock
        decides, so all ranks save the same update)."""
        minutes = self.run_cfg.checkpoint_minutes
        if not minutes:
            return False
        due = self.dist.is_main and time.monotonic() - self.last_checkpoint >= 60.0 * minutes
        return self.dist.any(due)

    def _budget_spent(self) -> bool:
        """True once this session has run --max-minutes (checked between updates)."""
        return self.max_minutes is not None and time.monotonic() - self.started >= 60.0 * self.max_minutes

    def _say_budget_reached(self) -> None:
        """One line (rank 0) for the update that crossed --max-minutes, whose checkpoint is written."""
        if not self.dist.is_main:
            return
        minutes = (time.monotonic() - self.started) / 60.0
        path = self.ckpt_dir / checkpoint_name(self.global_step)
        print(
            f"trainer: --max-minutes {self.max_minutes:g} reached after {minutes:.1f} min: stopped at step "
            f"{self.global_step:,}, checkpoint {path}; continue with --resume",
            file=sys.stderr,
        )

    def _postfix(self, row: dict[str, Any]) -> str:
        recent = self.stats.recent
        parts = [f"score {np.mean(recent):.0f}" if recent else "score -"]
        if self.stats.has_rooms:
            ep = f"{np.mean(self.stats.recent_rooms):.1f}" if self.stats.recent_rooms else "-"
            parts.append(f"rooms/ep {ep} all {row['rooms_total']}")
        parts.append(f"r_int {row['r_int_mean']:.3f}")
        return " | ".join(parts)

    def close(self) -> None:
        try:
            self.envs.close()
        finally:
            self.dist.close()  # whatever the envs did: a rank must not exit with its process group alive


def start_notes(cfg: TrainConfig, global_step: int, warms_up: bool) -> list[str]:
    """Lines said before the progress bar starts: ``--total-steps`` rounded up to whole updates (20,000 ran
    as 20,480, silently), and the observation normaliser's warm-up, which keeps the bar at 0 % for a minute
    or two on a full-size run."""
    notes = []
    total, batch = int(cfg.total_steps), cfg.batch_size
    if total % batch and global_step < total:
        updates = -(-total // batch)
        notes.append(
            f"--total-steps {total:,} is not a whole number of updates ({batch:,} steps each: "
            f"{cfg.ppo.rollout_steps} steps x {cfg.num_envs} envs); training runs {updates:,} updates, "
            f"{updates * batch:,} steps"
        )
    if warms_up:
        n = cfg.obs_norm_init_steps
        notes.append(
            f"warming up the observation normaliser: {n:,} random-action steps in each of the {cfg.num_envs} "
            f"envs ({n * cfg.num_envs:,} frames) before the first update; the progress bar starts after it"
        )
    return notes


def _notice(msg: str) -> None:
    """A line for the user about what happened to the run folder (stderr, like the progress bar)."""
    print(f"trainer: {msg}", file=sys.stderr, flush=True)


def train(cfg: TrainConfig, max_updates: int | None = None) -> list[dict[str, Any]]:
    """Train (or resume, with cfg.resume) and return this session's metric rows.

    The run folder is locked for the whole session (one trainer per folder); a SIGTERM or SIGINT ends it
    early with TrainingStopped once a checkpoint is written.
    """
    cfg.validate()  # a bad value is refused before the lock creates the run folder
    cfg.check_env()  # an unknown game too (it left an empty run folder behind)
    if cfg.track:
        from trainer.tracking import require_wandb

        require_wandb()  # a missing extra, too
    if not cfg.resume and int(os.environ.get("RANK", "0")) == 0:
        check_run_folder(Path(cfg.run_dir), "--restart: " if cfg.restart else "")  # before the lock file
    with _run_lock(cfg):
        trainer = Trainer(cfg, resume=cfg.resume)
        try:
            return trainer.train(max_updates=max_updates)
        finally:
            trainer.close()


def _run_lock(cfg: TrainConfig) -> contextlib.AbstractContextManager:
    """The run folder's lock; none for a --resume of a folder that does not exist (the Trainer says so) and
    none on ranks other than 0 of a torchrun job, which share rank 0's folder."""
    if (cfg.resume and not Path(cfg.run_dir).is_dir()) or int(os.environ.get("RANK", "0")) != 0:
        return contextlib.nullcontext()
    return lock_run_dir(cfg.run_dir)
