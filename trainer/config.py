"""One typed config tree for training; every field's docstring is its ``--help`` text and names its source.

Paper values cite snd-spec.md (``../shared/research/snd-spec.md``): §3 for PPO and the two GAE streams,
§4.1 for the table, §1 for the motivation variants. Deviations from the authors' code say so.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import tyro

from models.widths import HIDDEN, PROCGEN_SNDV_HIDDEN
from trainer.envs import EnvConfig, is_procgen, validate_env_config
from trainer.motivation_config import (
    LEGACY_SNDV_PROCGEN_ETA,
    MOTIVATION_ALGOS,
    MotivationConfig,
    game_name,
    legacy_keep_prob,
    paper_eta,
    paper_keep_prob,
)
from trainer.numbers import MAX_SEED

ALGOS = ("ppo", "rnd", "snd-v", "snd-std", "snd-vic")
Algo = Literal["ppo", "rnd", "snd-v", "snd-std", "snd-vic"]

_SUFFIX = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000, "b": 1_000_000_000}


MAX_STEPS = 10**15
"""Agent steps beyond any run (the paper's longest is 128M; 1e15 at a million steps/s is 30 years)."""


def parse_steps(text: str) -> int:
    """Parse a step count such as ``128M``, ``64m``, ``1e6``, ``500k`` or ``4096``: ASCII digits only, a
    whole number from 1 to ``MAX_STEPS`` (``1e400``, ``nan`` or ``²²`` are refused, never an OverflowError)."""
    s = str(text).strip().lower().replace("_", "")
    m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e[0-9]+)?)([kmgb]?)", s, flags=re.ASCII)
    if not m:
        raise ValueError(f"invalid step count {text!r}; use e.g. 128M, 1e6, 500k or 4096")
    value = float(m.group(1)) * _SUFFIX[m.group(2)]
    if not math.isfinite(value) or value > MAX_STEPS:
        raise ValueError(f"invalid step count {text!r}; expected at most {MAX_STEPS:.0e} steps")
    if value < 1 or value != int(value):
        raise ValueError(f"invalid step count {text!r}; expected a positive whole number of steps")
    return int(value)




StepCount = Annotated[
    int,
    tyro.constructors.PrimitiveConstructorSpec(
        nargs=1,
        metavar="STEPS",
        instance_from_str=lambda args: parse_steps(args[0]),
        is_instance=lambda x: isinstance(x, int),
        str_from_instance=lambda x: [str(x)],
    ),
]


@dataclass
class PPOConfig:
    """PPO with two value heads (snd-spec §3, §4.1)."""

    rollout_steps: int = 128
    """T: agent steps per env per rollout (paper 128, so 128 envs x 128 = 16384 samples)."""
    gamma_ext: float = 0.998
    """Discount of the extrinsic stream (paper 0.998; plain PPO uses --ppo.gamma-baseline)."""
    gamma_int: float = 0.99
    """Discount of the intrinsic stream (paper 0.99)."""
    gamma_baseline: float = 0.99
    """Discount of plain PPO's single stream (Iskandor config id 1: 0.99)."""
    gae_lambda: float = 0.95
    """GAE lambda, both streams (paper 0.95, hard-coded in both codebases)."""
    ext_adv_coef: float = 2.0
    """Weight of the extrinsic advantage: A = 2 A_ext + 1 A_int (paper 2; plain PPO uses 1)."""
    int_adv_coef: float = 1.0
    """Weight of the intrinsic advantage (paper 1)."""
    epochs: int = 4
    """PPO epochs per rollout (paper 4)."""
    minibatch_size: int = 512
    """PPO minibatch size (paper 512, i.e. 32 minibatches of a 16384-sample rollout)."""
    minibatch_sampling: Literal["auto", "shuffle", "replacement"] = "auto"
    """How minibatches are drawn: shuffle (Iskandor, RND/SND-STD/SND-VIC/PPO), replacement (michalnand,
    SND-V); auto picks the codebase that produced the paper's number for the algo (snd-spec §3)."""
    clip_eps: float = 0.1
    """PPO ratio clip (paper 0.1)."""
    entropy_coef: float = 0.001
    """Entropy bonus weight (paper 0.001)."""
    value_coef: float = 0.5
    """Critic loss weight, applied to MSE(V_ext) + MSE(V_int) (paper 0.5)."""
    lr: float = 1e-4
    """Adam learning rate of the actor-critic, no annealing (paper 1e-4)."""
    max_grad_norm: float = 0.5
    """Gradient-norm clip of the actor-critic (paper 0.5)."""
    normalize_advantages: bool = False
    """Normalise the combined advantage per minibatch (paper False; CleanRL True)."""
    bootstrap_last_step: bool = True
    """Bootstrap the last step of every rollout from V(s_T): the default, the textbook choice and a
    DEVIATION from both authors' codebases, which start GAE at t = T-2 so that step gets advantage 0 and
    return 0 (snd-spec §3 quirk). The paper preset reproduces the quirk (issue 22); either preset takes
    this flag or its no- form."""
    baseline_inverted_done_mask: bool = False
    """DEVIATION: the authors' plain-PPO baseline passes `done` where it means `1 - done` (snd-spec §3 bug),
    so its GAE bootstraps only at terminal steps. We use the correct mask by default; set True to
    reproduce the handicapped baseline."""
    int_episodic: bool = True
    """Mask the intrinsic stream at episode ends (paper True: episodic). False = RND's non-episodic
    intrinsic return (OpenAI RND, snd-spec §5.3)."""
    int_reward_std_norm: bool = False
    """Divide the intrinsic reward by the running std of its discounted return (OpenAI RND); the paper
    does not (snd-spec §1: only clip and eta)."""


@dataclass
class TrainConfig:
    """Train a PPO agent with RND or SND intrinsic motivation. Paper hyper-parameters are the defaults;
    ``--preset paper`` also sets the paper's scale (128 envs, 128M Atari / 64M Procgen steps)."""

    env: str = "ALE/MontezumaRevenge-v5"
    """Environment: a Gymnasium ALE id (ALE/MontezumaRevenge-v5, ALE/Gravitar-v5, ALE/Venture-v5,
    ALE/PrivateEye-v5, ALE/Pitfall-v5, ALE/Solaris-v5, ...) or procgen:<game> (procgen:caveflyer, ...)."""
    algo: Algo = "snd-v"
    """Intrinsic motivation: ppo (none), rnd, snd-v (contrastive), snd-std (ST-DIM), snd-vic (VICReg)."""
    run_dir: Path = Path("runs/default")
    """Folder for config.json, metrics.jsonl, TensorBoard events and checkpoints/."""
    total_steps: StepCount | None = None
    """Agent steps over all envs (accepts 128M, 1e6, 500k). Default: 10M, or the paper's budget with
    --preset paper (128M Atari, 64M Procgen; snd-spec §4.1)."""
    num_envs: int = 32
    """N parallel envs (paper 128; 32 is kinder to a laptop)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """auto = CUDA when present, else CPU."""
    seed: int = 1
    """Seed of envs, network initialisation and sampling."""
    resume: bool = False
    """Continue the run in --run-dir (its config.json wins) from its newest checkpoint whose model and
    resume state both load; refuses, changing nothing, when none does."""
    restart: bool = False
    """Start over in a run folder that holds a run: its contents are first moved to old-<time>/ inside it."""
    preset: Literal["none", "paper"] = "none"
    """paper: the authors' runs point by point (issue 22): 128 envs x 128 steps, 128M steps on Atari / 64M
    on Procgen (snd-spec §4.1), no bootstrap of the rollout's last step (§3), float32 training passes on
    CUDA, a 256-wide policy for Procgen SND-V. `trainer presets` prints every value with its source."""
    encoder: Literal["paper", "nature"] = "paper"
    """Policy encoder: paper (4x 3x3 convs on 96x96, snd-spec §2.1) or nature (Nature-DQN CNN on 84x84, as
    OpenAI RND and CleanRL), for comparisons with those codebases. nature sets --env-cfg.frame-size 84."""
    policy_width: int | None = None
    """Width of the policy's trunk output and heads. None = 512 (Iskandor's networks, michalnand's Atari
    SND-V), and under --preset paper 256 for Procgen SND-V (michalnand procgen_exploration model_ppo.py
    ``hidden_count = 256``; snd-spec §1.1). Checkpoints whose config lacks this field get 512."""
    critic_relu: bool | None = None
    """The critic reads the trunk's output after a ReLU (michalnand model_ppo.py: Linear 18432->512 then ReLU,
    feeding both heads; snd-spec §2.2) instead of raw (Iskandor PPO_AtariModules.py, §2.1). None = the source
    of the algo's paper number: on for snd-v, off for the others. Checkpoints whose config lacks this field
    get off, as they were trained. The nature encoder already ends in a ReLU, so it changes nothing there."""
    amp: Literal["auto", "on", "off"] = "auto"
    """bf16 autocast for the networks' training passes (losses and the intrinsic reward stay float32).
    auto = on for CPUs whose oneDNN has bf16 kernels (AVX-512 or AMX: about 1.7x faster there; an AVX2-only
    CPU emulates bf16, 6.6x slower than float32, and trains in float32) and for GPUs with native bf16
    (compute capability 8.0, Ampere, or newer; float32 on older ones, with one line saying so);
    --preset paper trains in float32 on CUDA as the authors did; on = bf16 whatever the hardware;
    off = float32."""
    channels_last: Literal["auto", "on", "off"] = "auto"
    """The networks' conv weights in the channels-last (NHWC) memory layout, which oneDNN's CPU convolutions
    run faster in (docs/throughput.md). auto = on on the CPU, off on CUDA (not measured there yet). The
    numbers differ from the default layout's only by rounding, and checkpoints are the same either way."""
    num_workers: int | None = None
    """Env worker processes (Atari). None = one per core, 0 = step envs in the main process."""
    max_minutes: float | None = None
    """Stop after the update that crosses this many minutes of wall-clock (counted from start-up), write a
    checkpoint, print one line and exit 0; --resume continues. For shared GPU boxes and schedulers with a
    wall clock. A resumed session takes the value of its own command line, not the run's."""
    checkpoint_every: StepCount = 1_000_000
    """Write a checkpoint every this many agent steps (and always at the end)."""
    checkpoint_minutes: float = 20.0
    """Also write a checkpoint once this many minutes of wall clock have passed since the last one (or since
    start-up), so a kill -9 or an out-of-memory loses at most this much time (Sample Factory's
    save_every_sec, 120 s by default). 0 = steps only."""
    keep_checkpoints: int = 3
    """Newest step checkpoints kept (0 = keep every one, e.g. for `snd-player record RUN --across-checkpoints`);
    best.safetensors (highest mean episode score) is kept as well."""
    keep_resume_states: int = 2
    """Newest step checkpoints that keep their resume state (<step>.state.pt: optimiser moments and random
    streams, about twice the model's size); older ones keep their weights only: they play, evaluate and
    record as before, but --resume cannot continue from them. See docs/checkpoints.md for the sizes."""
    obs_norm_init_steps: int = 256
    """Random-action steps (per env) that initialise the motivation's input normaliser before training
    (michalnand `_init_running_stats`: 256; only for algos with a normaliser)."""
    tensorboard: bool = True
    """Write TensorBoard events to --run-dir/tb."""
    track: bool = False
    """Also log every update's scalars to Weights & Biases (CleanRL's --track; needs `pip install
    'snd[wandb]'`; WANDB_MODE=offline keeps them on disk). TensorBoard events are written as before."""
    wandb_project: str = "snd"
    """W&B project of --track."""
    wandb_entity: str | None = None
    """W&B team or user of --track (None = wandb's default)."""
    progress: bool = True
    """Show the progress bar."""
    torch_threads: int | None = None
    """torch intra-op threads. None = on the CPU, 1 while env worker processes step (more threads only spin
    against them) and all cores during the update."""
    env_cfg: EnvConfig = field(default_factory=EnvConfig)
    """Environment preprocessing (the paper's wrapper by default)."""
    ppo: PPOConfig = field(default_factory=PPOConfig)
    motivation: MotivationConfig = field(default_factory=MotivationConfig)
    defaults_version: tyro.conf.Suppress[int] = 2
    """Which rules turned the None ("the paper's value") fields into the values a run records in its
    config.json: 2 = issue 22's; 1 = before it (keep-mask 0.25 at any env count, SND-V climber eta 1,
    no-ops for SND-V on Montezuma's Revenge only, bf16 on CUDA under --preset paper). Configs saved without
    this field are 1, so old runs resume and replay as they were trained. Not a command-line option."""

    def validate(self) -> None:
        """One-line errors for bad values (called by ``resolved``, outside tyro, whose error box would
        spread one problem over several lines)."""
        if self.algo not in ALGOS:
            raise ValueError(f"unknown algo {self.algo!r}; valid: {', '.join(ALGOS)}")
        problems = config_problems(self)
        if problems:
            raise ConfigError(problems)

    def check_env(self) -> None:
        """EnvError (one line) for an unknown env id or an env option out of range, without making an env:
        before the run folder exists, and before torch is imported."""
        validate_env_config(dataclasses.replace(self.env_cfg, env_id=self.env))

    @property
    def batch_size(self) -> int:
        """Samples per rollout, T * N."""
        return self.ppo.rollout_steps * self.num_envs

    @property
    def procgen(self) -> bool:
        return is_procgen(self.env)

    @property
    def float32_on_cuda(self) -> bool:
        """--preset paper with --amp auto trains in float32 on CUDA, as the authors did (issue 22); the CPU
        keeps bf16 where it has bf16 kernels (about 1.7x faster there). Configs resolved before that (``defaults_version`` 1) keep
        bf16."""
        return self.preset == "paper" and self.amp == "auto" and self.defaults_version >= 2

    def resolved(self) -> TrainConfig:
        """Fill in derived values: env id into env_cfg, 84x84 for the nature encoder, default budget, and
        every None that means "the paper's value" (no-ops, critic ReLU, policy width, eta, keep-mask), so
        that config.json records what the run uses."""
        self.validate()
        env_cfg = dataclasses.replace(self.env_cfg, env_id=self.env)
        if self.encoder == "nature" and not self.procgen:
            env_cfg = dataclasses.replace(env_cfg, frame_size=84)
        if env_cfg.noop_max is None:
            env_cfg = dataclasses.replace(env_cfg, noop_max=paper_noop_max(self.algo, self.env))
        total = self.total_steps
        if total is None:
            total = paper_total_steps(self.env) if self.preset == "paper" else 10_000_000
        critic_relu = self.algo == "snd-v" if self.critic_relu is None else self.critic_relu
        width = self.policy_width
        if width is None:
            width = paper_policy_width(self.algo, self.env) if self.preset == "paper" else HIDDEN
        m = self.motivation
        if self.algo in MOTIVATION_ALGOS:
            eta = m.eta if m.eta is not None else paper_eta(self.algo, self.env, self.procgen)
            keep = m.predictor_keep_prob
            if keep is None:
                keep = paper_keep_prob(self.algo, self.procgen, self.num_envs)
            m = dataclasses.replace(m, eta=eta, predictor_keep_prob=keep)
        return dataclasses.replace(
            self, env_cfg=env_cfg, total_steps=total, critic_relu=critic_relu, policy_width=width, motivation=m
        )  # fmt: skip


NOOP_GAMES = ("montezumarevenge", "gravitar", "privateeye", "venture")
"""Games michalnand's SND-V wrapper starts with 1-30 random no-ops (RLAgents ``WrapperMontezuma.py``, used
for every atari_hard SND-V run; snd-spec §4.2)."""


def paper_noop_max(algo: str, env_id: str) -> int:
    """Random no-ops at reset in the code behind the algo's paper number: michalnand's wrapper (SND-V)
    plays 1-30 on Montezuma's Revenge, Gravitar, Private Eye and Venture; Iskandor's WrapperHardAtari
    (everything else) none (snd-spec §4.2). Procgen has no no-ops."""
    if is_procgen(env_id):
        return 0
    return 30 if algo == "snd-v" and game_name(env_id) in NOOP_GAMES else 0


def paper_policy_width(algo: str, env_id: str) -> int:
    """Width of the policy in the code behind the algo's paper number: 256 for Procgen SND-V (michalnand
    ``model_ppo.py``), 512 otherwise (snd-spec §1.1, §2.1, §2.2)."""
    return PROCGEN_SNDV_HIDDEN if algo == "snd-v" and is_procgen(env_id) else HIDDEN


class ConfigError(ValueError):
    """Config values out of range; ``problems`` has one line per bad value (the message joins them)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


MAX_ENVS = 65_536
"""Envs, worker processes or threads beyond any machine (the paper runs 128 envs)."""
MAX_COUNT = 10**7
"""Counts (updates' steps, epochs, checkpoints kept, warm-up steps) beyond any sensible run."""
MAX_MINUTES = 10**7
"""A wall-clock span in minutes (about 19 years): beyond it a value is a typo, and 60 x it stays a float."""
FRAME_SIZE_RANGE = (16, 256)
"""Side of the square frame: the paper encoder's strides need 16; beyond the 210x160 screen is upscaling."""
FRAME_STACK_RANGE = (1, 16)
FRAME_SKIP_RANGE = (1, 64)


def config_problems(cfg: TrainConfig) -> list[str]:
    """One line per config value out of range, checked before anything is allocated; [] when all are fine.

    Kept apart from ``TrainConfig.validate`` so that fields added later can bring their own checks here.
    """
    out: list[str] = []

    def check(flag: str, value: Any, lo: float | None, hi: float | None, *, integer: bool = False,
              lo_open: bool = False, optional: bool = False) -> None:  # fmt: skip
        if value is None and optional:
            return
        kind = "a whole number" if integer else "a number"
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        ok = ok and not isinstance(value, bool) and math.isfinite(value)
        if ok and lo is not None:
            ok = value > lo if lo_open else value >= lo
        if ok and hi is not None:
            ok = value <= hi
        if not ok:
            if lo is not None and hi is not None:
                rng = f"in ({lo}, {hi}]" if lo_open else f"in [{lo}, {hi}]"
            elif lo is not None:
                rng = f"> {lo}" if lo_open else f">= {lo}"
            else:
                rng = ""
            out.append(f"--{flag.replace('_', '-')} {value!r}: expected {kind} {rng}".rstrip())

    check("seed", cfg.seed, 0, MAX_SEED, integer=True)
    check("num_envs", cfg.num_envs, 1, MAX_ENVS, integer=True)
    check("total_steps", cfg.total_steps, 1, MAX_STEPS, integer=True, optional=True)
    check("checkpoint_every", cfg.checkpoint_every, 1, MAX_STEPS, integer=True)
    check("checkpoint_minutes", cfg.checkpoint_minutes, 0, MAX_MINUTES)
    check("keep_checkpoints", cfg.keep_checkpoints, 0, MAX_COUNT, integer=True)
    check("keep_resume_states", cfg.keep_resume_states, 1, MAX_COUNT, integer=True)
    check("obs_norm_init_steps", cfg.obs_norm_init_steps, 0, MAX_COUNT, integer=True)
    check("num_workers", cfg.num_workers, 0, MAX_ENVS, integer=True, optional=True)
    check("torch_threads", cfg.torch_threads, 1, MAX_ENVS, integer=True, optional=True)
    check("max_minutes", cfg.max_minutes, 0, MAX_MINUTES, lo_open=True, optional=True)
    check("policy_width", cfg.policy_width, 1, None, integer=True, optional=True)
    e = cfg.env_cfg
    check("env_cfg.frame_size", e.frame_size, *FRAME_SIZE_RANGE, integer=True)
    check("env_cfg.frame_stack", e.frame_stack, *FRAME_STACK_RANGE, integer=True)
    check("env_cfg.frame_skip", e.frame_skip, *FRAME_SKIP_RANGE, integer=True)
    check("env_cfg.sticky_action_prob", e.sticky_action_prob, 0, 1)
    check("env_cfg.max_episode_steps", e.max_episode_steps, 1, MAX_STEPS, integer=True)
    check("env_cfg.noop_max", e.noop_max, 0, MAX_COUNT, integer=True, optional=True)
    check("env_cfg.procgen_frame_stack", e.procgen_frame_stack, *FRAME_STACK_RANGE, integer=True)
    check("env_cfg.procgen_random_action_prob", e.procgen_random_action_prob, 0, 1)
    p = cfg.ppo
    check("ppo.rollout_steps", p.rollout_steps, 2, MAX_COUNT, integer=True)
    for name in ("gamma_ext", "gamma_int", "gamma_baseline", "gae_lambda"):
        check(f"ppo.{name}", getattr(p, name), 0, 1)
    for name in ("ext_adv_coef", "int_adv_coef", "entropy_coef", "value_coef"):
        check(f"ppo.{name}", getattr(p, name), 0, None)
    check("ppo.epochs", p.epochs, 1, MAX_COUNT, integer=True)
    check("ppo.minibatch_size", p.minibatch_size, 1, MAX_STEPS, integer=True)
    sizes = (p.minibatch_size, p.rollout_steps, cfg.num_envs)
    batch_ok = all(isinstance(x, int) for x in sizes) and p.rollout_steps >= 2 and cfg.num_envs >= 1
    if batch_ok and p.minibatch_size > p.rollout_steps * cfg.num_envs:  # a bad batch is reported alone
        out.append(
            f"--ppo.minibatch-size {p.minibatch_size}: larger than the batch, --ppo.rollout-steps x "
            f"--num-envs = {p.rollout_steps * cfg.num_envs}"
        )
    check("ppo.clip_eps", p.clip_eps, 0, None, lo_open=True)
    check("ppo.lr", p.lr, 0, None, lo_open=True)
    check("ppo.max_grad_norm", p.max_grad_norm, 0, None, lo_open=True)
    m = cfg.motivation  # MotivationConfig.__post_init__ checks its lr, minibatch, epochs, keep prob, pairs
    check("motivation.eta", m.eta, 0, None, optional=True)
    check("motivation.state_norm_var_floor", m.state_norm_var_floor, 0, None, lo_open=True)
    for name in ("augment_prob", "tile_zero_prob"):
        check(f"motivation.{name}", getattr(m, name), 0, 1)
    for name in ("magnitude_threshold", "noise_amplitude", "std_norm_weight", "std_uniform_weight",
                 "vicreg_inv_weight", "vicreg_var_weight", "vicreg_cov_weight"):  # fmt: skip
        check(f"motivation.{name}", getattr(m, name), 0, None)
    return out


def paper_total_steps(env_id: str) -> int:
    """128M agent steps on Atari, 64M on Procgen (snd-spec §4.1)."""
    return 64_000_000 if is_procgen(env_id) else 128_000_000


def apply_preset(cfg: TrainConfig, preset: str) -> TrainConfig:
    """Return ``cfg`` with a preset's values; fields the preset does not name keep their values."""
    if preset == "paper":
        return dataclasses.replace(
            cfg,
            preset="paper",
            num_envs=128,
            total_steps=None,
            ppo=dataclasses.replace(cfg.ppo, rollout_steps=128, bootstrap_last_step=False),
        )
    return cfg


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """JSON-ready dict (paths as strings)."""
    d = dataclasses.asdict(cfg)
    d["run_dir"] = str(cfg.run_dir)
    return d


LEGACY_DEFAULTS: dict[str, dict[str, Any]] = {
    "TrainConfig": {"critic_relu": False, "policy_width": HIDDEN, "defaults_version": 1},
    "EnvConfig": {"sticky_per_frame": False},
}
"""Fields added after configs were first saved, with the behaviour those older configs were trained with
(issue 9, issue 22): a checkpoint or run folder without them replays and resumes as before."""


def legacy_resolved(cfg: TrainConfig) -> TrainConfig:
    """A ``defaults_version`` 1 config with its "paper value" Nones filled by the rules it was trained
    under (issue 22 changed them): keep-mask 0.25 for RND and Atari SND-V at any env count, SND-V climber
    eta 1, no-ops for SND-V on Montezuma's Revenge only. Filled here, explicitly, so that ``resolved``
    (resume) and the player see the values the run used, not today's rules."""
    procgen = cfg.procgen
    m = cfg.motivation
    if cfg.algo in MOTIVATION_ALGOS:
        eta = m.eta
        if eta is None and cfg.algo == "snd-v" and procgen:
            eta = LEGACY_SNDV_PROCGEN_ETA.get(game_name(cfg.env), 0.5)
        elif eta is None:
            eta = paper_eta(cfg.algo, cfg.env, procgen)
        keep = m.predictor_keep_prob
        keep = keep if keep is not None else legacy_keep_prob(cfg.algo, procgen)
        m = dataclasses.replace(m, eta=eta, predictor_keep_prob=keep)
    env_cfg = cfg.env_cfg
    if env_cfg.noop_max is None:
        old = 30 if cfg.algo == "snd-v" and cfg.env == "ALE/MontezumaRevenge-v5" else 0
        env_cfg = dataclasses.replace(env_cfg, noop_max=old)
    return dataclasses.replace(cfg, motivation=m, env_cfg=env_cfg)


def from_dict(d: dict[str, Any]) -> TrainConfig:
    """Inverse of ``to_dict``; unknown keys (from a newer version) are ignored, and missing ones take
    ``LEGACY_DEFAULTS`` where the behaviour changed, else the current default. A config saved before
    issue 22 gets the values its "paper value" Nones meant then (``legacy_resolved``)."""

    def build(cls: type, values: dict[str, Any]) -> Any:
        kwargs: dict[str, Any] = {}
        legacy = LEGACY_DEFAULTS.get(cls.__name__, {})
        for f in dataclasses.fields(cls):
            if f.name not in values:
                if f.name in legacy:
                    kwargs[f.name] = legacy[f.name]
                continue
            v = values[f.name]
            sub = {"env_cfg": EnvConfig, "ppo": PPOConfig, "motivation": MotivationConfig}.get(f.name)
            if cls is TrainConfig and sub is not None:
                v = build(sub, v)
            elif f.name == "run_dir":
                v = Path(v)
            kwargs[f.name] = v
        return cls(**kwargs)

    cfg = build(TrainConfig, d)
    return legacy_resolved(cfg) if cfg.defaults_version < 2 else cfg
