"""Build an agent (policy + motivation) from a config, save it, and load it back from a checkpoint.

This is the one place a checkpoint turns into networks, used by ``trainer`` (resume, analyze) and by the
player (``snd_player.core.session``), so what is trained, watched, recorded and evaluated is the same agent.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import platform
from dataclasses import dataclass
from importlib import metadata as _importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.actor_critic import ActorCritic
from trainer.checkpoint import CheckpointError, load_checkpoint, prefixed, save_checkpoint
from trainer.config import ALGOS, TrainConfig, from_dict, to_dict
from trainer.envs import EnvConfig, EnvError, EnvSpec, env_spec
from trainer.motivation import Motivation, make_motivation
from trainer.motivation_config import MotivationConfig
from trainer.ppo import obs_to_float
from trainer.validate import check_config, check_game, check_tensors


def package_version() -> str:
    try:
        return _importlib_metadata.version("snd")
    except _importlib_metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class ActOutput:
    action: np.ndarray  # (N,) int64
    probs: np.ndarray  # (N, A) float32
    entropy: np.ndarray  # (N,) float32
    v_ext: np.ndarray  # (N,) float32
    v_int: np.ndarray  # (N,) float32


@dataclass(frozen=True)
class IntrinsicOutput:
    reward: np.ndarray  # (N,) clip(eta * error, 0, 1): what the agent was trained on
    error: np.ndarray  # (N,) raw distillation error
    features: np.ndarray  # (N, F) target features; (N, 0) for plain PPO


@dataclass
class Agent:
    """A trained (or freshly initialised) agent with the facts needed to rebuild its env."""

    policy: ActorCritic
    motivation: Motivation | None
    env_config: EnvConfig
    spec: EnvSpec
    config: TrainConfig
    meta: dict[str, Any]
    device: torch.device

    @property
    def algo(self) -> str:
        return self.config.algo

    @torch.inference_mode()
    def act(
        self, obs: np.ndarray, greedy: bool = False, generator: torch.Generator | None = None
    ) -> ActOutput:
        """Policy and values for a batch of uint8 observations (N, C, H, W)."""
        x = obs_to_float(torch.as_tensor(obs, device=self.device))
        logits, v_ext, v_int = self.policy(x)
        logits = logits.float()
        probs = torch.softmax(logits, dim=-1)
        logp = torch.log_softmax(logits, dim=-1)
        entropy = -(probs * logp).sum(-1)
        if greedy:
            action = probs.argmax(-1)
        else:
            # sample on the CPU so a CPU generator works whatever the device
            action = torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1)
        return ActOutput(
            action=action.cpu().numpy().astype(np.int64),
            probs=probs.cpu().numpy().astype(np.float32),
            entropy=entropy.cpu().numpy().astype(np.float32),
            v_ext=v_ext.float().cpu().numpy(),
            v_int=v_int.float().cpu().numpy(),
        )

    @torch.inference_mode()
    def intrinsic(self, obs: np.ndarray) -> IntrinsicOutput:
        """Intrinsic reward, raw distillation error and target features for uint8 obs (N, C, H, W)."""
        n = obs.shape[0]
        if self.motivation is None:
            zeros = np.zeros(n, dtype=np.float32)
            return IntrinsicOutput(zeros, zeros.copy(), np.zeros((n, 0), dtype=np.float32))
        x = torch.as_tensor(obs, device=self.device)
        reward, error, feats = self.motivation.reward_and_features(x)
        return IntrinsicOutput(
            reward=reward.float().cpu().numpy(),
            error=error.float().cpu().numpy(),
            features=feats.float().cpu().numpy(),
        )

    def tensors(self) -> dict[str, torch.Tensor]:
        """Everything the player needs, flat, for a safetensors file."""
        out = {f"policy.{k}": v for k, v in self.policy.state_dict().items()}
        if self.motivation is not None:
            out.update({f"motivation.{k}": v for k, v in self.motivation.state_dict().items()})
        return out


def policy_width(cfg: TrainConfig) -> int:
    """The policy width of a config, resolved or not (``TrainConfig.resolved`` fills it in)."""
    return int(cfg.policy_width) if cfg.policy_width is not None else int(cfg.resolved().policy_width)


def build_agent(cfg: TrainConfig, device: torch.device, seed: int | None = None) -> Agent:
    """A freshly initialised agent for a resolved config."""
    spec = env_spec(cfg.env_cfg)
    torch.manual_seed(cfg.seed if seed is None else seed)
    policy = ActorCritic(
        spec.obs_shape, spec.num_actions, cfg.encoder, spec.is_procgen, critic_relu=bool(cfg.critic_relu),
        hidden=policy_width(cfg),
    ).to(device)  # fmt: skip
    motivation = make_motivation(
        cfg.algo, spec.obs_shape, spec.is_procgen, cfg.motivation, device,
        cfg.seed if seed is None else seed, env_id=cfg.env, num_envs=cfg.num_envs,
    )  # fmt: skip
    return Agent(policy, motivation, cfg.env_cfg, spec, cfg, {}, device)


def checkpoint_meta(agent: Agent, global_step: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON metadata stored in every checkpoint (ARCHITECTURE.md checkpoint contract)."""
    cfg = agent.config
    return {
        "algo": cfg.algo,
        "env_id": cfg.env,
        "env_config": dataclasses.asdict(cfg.env_cfg),
        "encoder": cfg.encoder,
        "obs_shape": list(agent.spec.obs_shape),
        "num_actions": agent.spec.num_actions,
        "action_meanings": list(agent.spec.action_meanings),
        "config": to_dict(cfg),
        "global_step": int(global_step),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "package_version": package_version(),
        "torch_version": torch.__version__,
        "hardware": f"{platform.machine()} {platform.processor() or ''}".strip(),
        **(extra or {}),
    }


def save_agent(agent: Agent, path: Path, global_step: int, extra: dict[str, Any] | None = None) -> None:
    save_checkpoint(path, agent.tensors(), checkpoint_meta(agent, global_step, extra))


def load_agent(path: str | Path, device: str | torch.device = "cpu") -> Agent:
    """Rebuild an agent from a checkpoint; any problem raises CheckpointError with a one-line reason."""
    path = Path(path)
    try:
        device = torch.device(device)
    except RuntimeError as e:  # "Expected one of cpu, cuda, ... device type at start of device string"
        raise CheckpointError(f"device {device!r}: {str(e).splitlines()[0]}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        # every tool that loads an agent (player, eval, record, compare) says this in one line
        raise CheckpointError(
            f"device {device}: CUDA is not available here (torch {torch.__version__}); use the cpu device"
        )
    tensors, meta = load_checkpoint(path, device)
    for key in ("algo", "env_id", "config", "num_actions", "obs_shape"):
        if key not in meta:
            raise CheckpointError(
                f"{path}: checkpoint metadata lacks '{key}' (written by an incompatible tool?)"
            )
    if meta["algo"] not in ALGOS:
        raise CheckpointError(f"{path}: unknown algo {meta['algo']!r} in checkpoint; this snd knows {ALGOS}")
    check_config(path, meta["config"])  # types and sizes, before anything is built from them
    try:
        cfg = from_dict(meta["config"])
        cfg.validate()
        spec = env_spec(cfg.env_cfg)
    except EnvError as e:
        raise CheckpointError(f"{path}: {e}") from None
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: checkpoint config is not understood ({e})") from None
    check_game(path, meta, spec)
    try:
        policy = ActorCritic(
            spec.obs_shape, spec.num_actions, encoder=cfg.encoder, procgen=spec.is_procgen,
            critic_relu=bool(cfg.critic_relu), hidden=policy_width(cfg),
        )  # fmt: skip
        motivation = make_motivation(
            cfg.algo, spec.obs_shape, spec.is_procgen, cfg.motivation, device, cfg.seed, env_id=cfg.env,
            num_envs=cfg.num_envs,
        )  # fmt: skip
    except (RuntimeError, ValueError) as e:  # e.g. a frame too small for the encoder's convolutions
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(
            f"{path}: cannot build the {cfg.algo} networks its config describes ({first})"
        ) from None
    policy = policy.to(device)
    what = f"a {cfg.algo} agent for {cfg.env}"
    check_tensors(path, prefixed(tensors, "policy"), policy.state_dict(), what, "policy.")
    if motivation is not None:
        check_tensors(path, prefixed(tensors, "motivation"), motivation.state_dict(), what, "motivation.")
    known = ("policy.",) if motivation is None else ("policy.", "motivation.")
    stray = sorted(k for k in tensors if not k.startswith(known))
    if stray:
        raise CheckpointError(f"{path}: tensors do not match {what} (has an unexpected tensor {stray[0]})")
    try:
        policy.load_state_dict(prefixed(tensors, "policy"))
        if motivation is not None:
            motivation.load_state_dict(prefixed(tensors, "motivation"))
    except (RuntimeError, KeyError) as e:
        first = str(e).splitlines()[0]
        raise CheckpointError(
            f"{path}: tensors do not match a {cfg.algo} agent for {cfg.env} ({first})"
        ) from None
    policy.eval()
    return Agent(policy, motivation, cfg.env_cfg, spec, cfg, meta, device)


__all__ = [
    "ActOutput",
    "Agent",
    "IntrinsicOutput",
    "MotivationConfig",
    "build_agent",
    "checkpoint_meta",
    "load_agent",
    "package_version",
    "save_agent",
]
