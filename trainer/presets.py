"""Every hyper-parameter a run uses, its value and its source: the data behind ``trainer presets``.

``SOURCES`` maps each field of the training config (dotted, as in config.json) to where its value comes
from: a file of the authors' code (Iskandor/SND for RND, SND-STD, SND-VIC and the baseline; michalnand's
experiment configs and RLAgents for SND-V, whose numbers in the paper come from that code; snd-spec §0) or
"ours" with the reason. A source may depend on the algo, the game and the preset, and says when the value
it describes differs from the authors' runs (``deviation``): ``trainer presets`` marks those rows with
``!``. ``OPERATIONAL`` lists the fields that are not hyper-parameters (paths, logging, workers); a test
checks that every config field is in one of the two, so a new field cannot go without a source.

Paths are relative to the repositories named in snd-spec §0 (``../shared/research/snd-spec.md``):
``Iskandor/SND``, ``michalnand/reinforcement_learning`` (experiment configs and models),
``michalnand/reinforcement_learning_agents`` (the RLAgents library).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tyro

from models.widths import PROCGEN_SNDV_HIDDEN
from trainer.config import (
    NOOP_GAMES,
    TrainConfig,
    apply_preset,
    paper_policy_width,
    paper_total_steps,
    to_dict,
)
from trainer.envs import validate_env_config
from trainer.motivation_config import (
    KEEP_ALL_ENVS,
    MOTIVATION_ALGOS,
    PAPER_ENVS,
    SND_STD_ETA,
    SNDV_PROCGEN_ETA,
    game_name,
)

ISK_CFG = "Iskandor/SND config/ppo.config.json"
MICH_ATARI = "michalnand/reinforcement_learning experiments/atari_hard/montezuma_revenge/models/ppo_cnd_21_0/src/config.py"
MICH_PROCGEN = "michalnand/reinforcement_learning experiments/procgen_exploration/{game}/models/ppo_cnd_{run}/src/config.py"
RLAGENTS = "michalnand/reinforcement_learning_agents RLAgents/"
SNDV_PROCGEN_RUN = {"caveflyer": "2_*", "coinrun": "1_*", "jumper": "1_*", "climber": "0_1"}
"""The michalnand runs behind each Procgen SND-V number (snd-spec §1.1; climber's ``cnd_0`` and ``cnd_1``
configs are identical, ``0_1`` is the one read for issue 22)."""


@dataclass(frozen=True)
class Ctx:
    """What a source may depend on."""

    cfg: TrainConfig  # resolved
    algo: str
    procgen: bool
    game: str
    paper: bool  # --preset paper

    @property
    def sndv(self) -> bool:
        return self.algo == "snd-v"

    @property
    def motivation(self) -> bool:
        return self.algo in MOTIVATION_ALGOS


@dataclass(frozen=True)
class Source:
    """Where a value comes from; ``deviation`` (why ours differs from the authors' runs) when it does."""

    where: str
    deviation: str | None = None


@dataclass(frozen=True)
class Row:
    name: str
    value: Any
    source: str
    deviates: bool


def sndv_cfg(c: Ctx) -> str:
    if not c.procgen:
        return f"{MICH_ATARI} (snd-spec §1.1)"
    if c.game in SNDV_PROCGEN_RUN:
        return MICH_PROCGEN.format(game=c.game, run=SNDV_PROCGEN_RUN[c.game])
    return MICH_PROCGEN.format(game="*", run="0_*") + " (variant 0; the authors ran no SND-V on this game)"


def _eta(c: Ctx) -> Source:
    if c.algo == "snd-v" and c.procgen:
        if c.game in SNDV_PROCGEN_ETA:
            line = ":11" if c.game == "climber" else ""
            return Source(
                f"{sndv_cfg(c)}{line} int_reward_coeff (the runs behind the paper's number; snd-spec §1.1)"
            )
        return Source(
            f"ours: the authors ran no SND-V on this game; their Procgen variant 0 uses 0.5 "
            f"({MICH_PROCGEN.format(game='*', run='0_*')})"
        )
    if c.algo == "snd-v":
        return Source(f"{MICH_ATARI} int_reward_coeff (snd-spec §1.1)")
    if c.algo == "snd-std":
        if c.game in SND_STD_ETA:
            return Source(f"{ISK_CFG} motivation_eta of SND-STD on {c.game} (snd-spec §1.2)")
        return Source(
            "ours: the authors ran no SND-STD on this game; 1 is their most common value (snd-spec §1.2)"
        )
    if c.algo == "snd-vic":
        return Source(f"{ISK_CFG} motivation_eta of SND-VIC (snd-spec §1.3)")
    return Source(f"{ISK_CFG} motivation_eta of RND (snd-spec §2.3)")


def _keep(c: Ctx) -> Source:
    if c.algo == "rnd" or (c.sndv and not c.procgen):
        code = (f"{RLAGENTS}AgentPPOCND.py cnd_dropout 0.75 at {PAPER_ENVS} envs" if c.sndv
                else "Iskandor/SND modules/rnd_models/RNDModelAtari.py keep-mask 0.25 at 128 envs")  # fmt: skip
        return Source(
            f"min(1, {KEEP_ALL_ENVS}/num_envs) = the authors' experience per predictor update: {code}, "
            f"'25% for 128 envs, 100% for 32 envs' (AgentPPOCND.py; snd-spec §1.1, issue 22)"
        )
    if c.sndv:
        return Source(f"{sndv_cfg(c)} cnd_dropout 0.0 (snd-spec §1.1)")
    return Source("Iskandor/SND plain MSE, no mask (snd-spec §1.2, §1.3)")


def _num_envs(c: Ctx) -> Source:
    where = f"{sndv_cfg(c)} envs_count = 128" if c.sndv else f"{ISK_CFG}: 128 envs (snd-spec §4.1)"
    if c.cfg.num_envs == PAPER_ENVS:
        return Source(where)
    why = f"ours: {c.cfg.num_envs} envs (the default 32 is kinder to one machine)"
    if c.algo == "rnd" or (c.sndv and not c.procgen):
        why += "; the predictor keep-mask scales with them"
    return Source(where, why)


def _total(c: Ctx) -> Source:
    paper = paper_total_steps(c.cfg.env)
    where = "Iskandor/SND README.md Results (128M Atari, 64M Procgen; snd-spec §4.1)"
    if c.cfg.total_steps == paper:
        return Source(where)
    return Source(where, f"ours: {c.cfg.total_steps:,} steps, a first look; --preset paper runs {paper:,}")


def _bootstrap(c: Ctx) -> Source:
    where = "Iskandor/SND algorithms/PPO.py calc_advantage, michalnand RLAgents PolicyBufferIM._gae (start at T-2)"
    if c.cfg.ppo.bootstrap_last_step:
        return Source(where, "ours: the last step bootstraps from V(s_T), the textbook GAE; the authors give it "
                             "advantage 0 and return 0 (snd-spec §3)")  # fmt: skip
    return Source(where + ": the last step gets advantage 0 and return 0 (snd-spec §3)")


def _amp(c: Ctx) -> Source:
    amp = c.cfg.amp
    if amp == "off":
        return Source("float32, as both codebases")
    if amp == "auto" and c.cfg.float32_on_cuda:
        return Source("float32 on CUDA, as both codebases",
                      "ours on the CPU only: bf16 training passes where oneDNN has bf16 kernels (AVX-512 or "
                      "AMX), about 1.7x faster there")  # fmt: skip
    return Source("float32 in both codebases",
                  "ours: bf16 training passes (CPUs with AVX-512/AMX, GPUs with native bf16); small networks, the reward pass "
                  "stays float32; --preset paper trains in float32 on CUDA")  # fmt: skip


def _width(c: Ctx) -> Source:
    paper = paper_policy_width(c.algo, c.cfg.env)
    if paper == PROCGEN_SNDV_HIDDEN:
        where = (f"michalnand/reinforcement_learning experiments/procgen_exploration/{c.game if c.game in SNDV_PROCGEN_RUN else '*'}/models/"
                 "ppo_cnd_*/src/model_ppo.py hidden_count = 256 (snd-spec §1.1)")  # fmt: skip
    elif c.sndv:
        where = "michalnand ppo_cnd_21_0/src/model_ppo.py 512 (snd-spec §2.2)"
    else:
        where = "Iskandor/SND modules/PPO_AtariModules.py, PPO_ProcgenModules.py 512 (snd-spec §2.1)"
    if c.cfg.policy_width == paper:
        return Source(where)
    return Source(where, f"ours: {c.cfg.policy_width} wide, one policy shape for every algo and game; "
                         f"--preset paper uses the authors' {paper}")  # fmt: skip


def _noops(c: Ctx) -> Source:
    if c.sndv:
        games = ", ".join(NOOP_GAMES)
        where = f"{RLAGENTS}lib_common/WrapperMontezuma.py 1-30 random no-ops on SND-V's games ({games}; snd-spec §4.2)"
        ours = c.game not in NOOP_GAMES
        return Source(where if not ours else f"ours: the authors ran no SND-V on this game; {where}")
    return Source("Iskandor/SND utils/AtariWrapper.py WrapperHardAtari: no no-ops (snd-spec §4.2)")


def _encoder(c: Ctx) -> Source:
    if c.cfg.encoder == "paper":
        return Source("Iskandor/SND modules/PPO_AtariModules.py (snd-spec §2.1)")
    return Source("OpenAI RND / CleanRL Nature-DQN CNN",
                  "ours: for comparisons with those codebases; the authors used 4 3x3 convs on 96x96")  # fmt: skip


def _frame_size(c: Ctx) -> Source:
    if c.cfg.env_cfg.frame_size == 96:
        return Source("Iskandor/SND utils/AtariWrapper.py 96x96 (snd-spec §4.2)")
    return Source(
        "Iskandor/SND utils/AtariWrapper.py 96x96 (snd-spec §4.2)", "ours: the nature encoder's 84x84"
    )


def _critic_relu(c: Ctx) -> Source:
    if c.sndv:
        return Source(
            "michalnand ppo_cnd_*/src/model_ppo.py: trunk Linear then ReLU feeds the critic (snd-spec §2.2)"
        )
    return Source("Iskandor/SND modules/PPO_AtariModules.py: the critic reads the trunk raw (snd-spec §2.1)")


def _sampling(c: Ctx) -> Source:
    if c.sndv:
        return Source(
            f"{RLAGENTS}AgentPPOCND.py: 512 indices drawn with replacement per minibatch (snd-spec §3)"
        )
    return Source("Iskandor/SND algorithms/PPO.py: shuffled once, cut into minibatches (snd-spec §3)")


def _schedule(c: Ctx) -> Source:
    if c.sndv:
        return Source(
            f"{RLAGENTS}AgentPPOCND.train: a predictor and a target step per PPO minibatch (snd-spec §1.1)"
        )
    return Source("Iskandor/SND SNDMotivation.train: one pass of contiguous minibatches (snd-spec §1.3)")


def _state_norm(c: Ctx) -> Source:
    if c.algo == "rnd":
        return Source("Iskandor/SND RNDModelAtari: input minus the running mean, no std (snd-spec §2.3)")
    if c.sndv and not c.procgen:
        return Source(f"{MICH_ATARI} normalise_state_mean/std True (snd-spec §1.1)")
    if c.sndv:
        return Source(f"{sndv_cfg(c)} normalise_state_mean/std False (snd-spec §1.1)")
    return Source("Iskandor/SND cnd_preprocess=0 (snd-spec §1.2, §1.3)")


def _baseline_mask(c: Ctx) -> Source:
    where = "Iskandor/SND run_baseline passes done where the RND/SND paths pass 1 - done (snd-spec §3 bug)"
    if c.cfg.ppo.baseline_inverted_done_mask:
        return Source(where)
    return Source(where, "ours: the correct mask; the authors' baseline bootstraps only at terminal steps")


def _obs_norm_init(c: Ctx) -> Source:
    where = f"{RLAGENTS}AgentPPOCND._init_running_stats: 256 random-action steps (snd-spec §1.1)"
    return Source(where if c.sndv else f"ours for RND, as for SND-V: {where}")


def _src(text: str) -> Callable[[Ctx], Source]:
    return lambda c: Source(text)


def _ppo(key: str, value: str) -> Callable[[Ctx], Source]:
    """A PPO value of both codebases: michalnand's config key for SND-V, Iskandor's config otherwise."""
    return lambda c: Source(
        f"{sndv_cfg(c)} {key} = {value}" if c.sndv else f"{ISK_CFG}: {value} (snd-spec §4.1)"
    )


SPEC3 = "(snd-spec §3)"
AUG = f"{RLAGENTS}lib_agents/Augmentations.py"
ISK_VIC = "Iskandor/SND VICRegModelAtari"
ISK_STD = "Iskandor/SND STDModelAtari"
WRAP = "Iskandor/SND utils/AtariWrapper.py WrapperHardAtari"
PROCGEN_WRAP = "Iskandor/SND utils/ProcgenWrapper.py (= michalnand WrapperProcgen.py)"

SOURCES: dict[str, Callable[[Ctx], Source]] = {
    "env": _src("the game; the paper ran 6 Atari and 4 Procgen games (snd-spec §5.1)"),
    "algo": _src("the motivation; SND-V as michalnand RLAgents AgentPPOCND, the others as Iskandor/SND"),
    "preset": _src("none = the defaults; paper = the authors' runs point by point (issue 22)"),
    "total_steps": _total,
    "num_envs": _num_envs,
    "encoder": _encoder,
    "policy_width": _width,
    "critic_relu": _critic_relu,
    "amp": _amp,
    "obs_norm_init_steps": _obs_norm_init,
    "env_cfg.frame_size": _frame_size,
    "env_cfg.frame_stack": _src(f"{WRAP}: 4 frames, newest first (snd-spec §4.2)"),
    "env_cfg.frame_skip": _src(f"{WRAP}: repeat 4, max of the last two (snd-spec §4.2)"),
    "env_cfg.sticky_action_prob": _src(f"{WRAP}: sticky actions p 0.25 (snd-spec §4.2)"),
    "env_cfg.sticky_per_frame": _src(
        f"{WRAP}: the sticky wrapper sits inside the 4-frame repeat (snd-spec §4.2)"
    ),
    "env_cfg.max_episode_steps": _src(f"{WRAP}: 4500 agent steps = 18000 frames (snd-spec §4.2)"),
    "env_cfg.noop_max": _noops,
    "env_cfg.clip_reward": _src(f"{WRAP}: max(0, sign(r)) (snd-spec §4.2)"),
    "env_cfg.procgen_distribution_mode": _src(
        f"{PROCGEN_WRAP} distribution_mode exploration (snd-spec §4.3)"
    ),
    "env_cfg.procgen_frame_stack": _src(f"{PROCGEN_WRAP}: 2 RGB frames (snd-spec §4.3)"),
    "env_cfg.procgen_random_action_prob": _src(f"{PROCGEN_WRAP} RandomAction p 0.01 (snd-spec §4.3)"),
    "ppo.rollout_steps": _ppo("steps", "128"),
    "ppo.gamma_ext": _ppo("gamma_ext", "0.998"),
    "ppo.gamma_int": _ppo("gamma_int", "0.99"),
    "ppo.gamma_baseline": _src(f"{ISK_CFG} config id 1: gamma 0.99 (snd-spec §3)"),
    "ppo.gae_lambda": _src(f"Iskandor/SND algorithms/PPO.py, michalnand PolicyBufferIM._gae: 0.95 {SPEC3}"),
    "ppo.ext_adv_coef": _ppo("ext_adv_coeff", "2"),
    "ppo.int_adv_coef": _ppo("int_adv_coeff", "1"),
    "ppo.epochs": _ppo("training_epochs", "4"),
    "ppo.minibatch_size": _src(f"both codebases: 32 minibatches of 512 per 16384-sample rollout {SPEC3}"),
    "ppo.minibatch_sampling": _sampling,
    "ppo.clip_eps": _ppo("eps_clip", "0.1"),
    "ppo.entropy_coef": _ppo("entropy_beta", "0.001"),
    "ppo.value_coef": _src(f"Iskandor/SND algorithms/PPO.py, RLAgents AgentPPOCND: critic loss x0.5 {SPEC3}"),
    "ppo.lr": _ppo("learning_rate_ppo", "0.0001, no annealing"),
    "ppo.max_grad_norm": _src(f"Iskandor/SND algorithms/PPO.py, RLAgents AgentPPOCND: clip 0.5 {SPEC3}"),
    "ppo.normalize_advantages": _src(f"both codebases: no advantage normalisation {SPEC3}"),
    "ppo.bootstrap_last_step": _bootstrap,
    "ppo.baseline_inverted_done_mask": _baseline_mask,
    "ppo.int_episodic": _src(f"both codebases mask the intrinsic stream at episode ends {SPEC3}"),
    "ppo.int_reward_std_norm": _src("no std normalisation of r_int in any SND or RND code (snd-spec §1)"),
    "motivation.eta": _eta,
    "motivation.lr": _src(f"{ISK_CFG}, michalnand learning_rate_cnd(_target): 1e-4 (snd-spec §4.1)"),
    "motivation.schedule": _schedule,
    "motivation.minibatch_size": _src("both codebases: 512 states per motivation step (snd-spec §1.1, §1.3)"),
    "motivation.michalnand_epochs": _src(
        f"{RLAGENTS}AgentPPOCND.train: once per PPO minibatch, 4 epochs (snd-spec §1.1)"
    ),
    "motivation.predictor_keep_prob": _keep,
    "motivation.state_norm": _state_norm,
    "motivation.state_norm_var_floor": _src(
        f"{RLAGENTS}lib_agents/RunningStats.py: variance floor 1e-3 (snd-spec §1.1)"
    ),
    "motivation.sndv_pairs": _src(
        f"{RLAGENTS}lib_agents/PolicyBufferIM.py sample_states: 64 pairs (snd-spec §1.1)"
    ),
    "motivation.magnitude_threshold": _src(
        f"{RLAGENTS}lib_agents/SelfSupervisedLoss.py (56376830): relu(M - 200) (snd-spec §1.1)"
    ),
    "motivation.augment_prob": _src(f"{AUG}: each augmentation with p 0.5 (snd-spec §1.1)"),
    "motivation.tile_zero_prob": _src(f"{AUG} aug_mask_tiles: p 0.1 (snd-spec §1.1)"),
    "motivation.noise_amplitude": _src(f"{AUG} aug_noise: U(-0.2, 0.2) (snd-spec §1.1)"),
    "motivation.std_norm_weight": _src(f"{ISK_STD} cnd_loss_target_reg 1e-4 (snd-spec §1.2)"),
    "motivation.std_uniform_weight": _src(f"{ISK_STD} beta1 1e-4 (snd-spec §1.2)"),
    "motivation.std_predictor_sum": _src(f"{ISK_STD}: predictor MSE reduction='sum' (snd-spec §1.2)"),
    "motivation.vicreg_inv_weight": _src(f"{ISK_VIC} la 1 (snd-spec §1.3)"),
    "motivation.vicreg_var_weight": _src(f"{ISK_VIC} mu 1 (snd-spec §1.3)"),
    "motivation.vicreg_cov_weight": _src(f"{ISK_VIC} nu 1/25 (snd-spec §1.3)"),
}
"""Source of every hyper-parameter, by dotted config name (the order ``trainer presets`` prints)."""

OPERATIONAL = frozenset({
    "run_dir", "device", "seed", "resume", "restart", "num_workers", "channels_last", "max_minutes", "checkpoint_every",
    "keep_checkpoints", "tensorboard", "progress", "torch_threads", "defaults_version", "env_cfg.env_id",
    "checkpoint_minutes", "keep_resume_states", "track", "wandb_project", "wandb_entity",
})  # fmt: skip
"""Config fields that are not hyper-parameters: where and how a run runs, not what it learns."""

ATARI_ONLY = ("env_cfg.frame", "env_cfg.sticky", "env_cfg.max_episode", "env_cfg.noop", "env_cfg.clip")
ALGO_ONLY = {
    "ppo.gamma_baseline": ("ppo",),
    "ppo.baseline_inverted_done_mask": ("ppo",),
    "ppo.gamma_ext": MOTIVATION_ALGOS,
    "ppo.gamma_int": MOTIVATION_ALGOS,
    "ppo.ext_adv_coef": MOTIVATION_ALGOS,
    "ppo.int_adv_coef": MOTIVATION_ALGOS,
    "ppo.int_episodic": MOTIVATION_ALGOS,
    "ppo.int_reward_std_norm": MOTIVATION_ALGOS,
    "obs_norm_init_steps": ("rnd", "snd-v"),
    "motivation.sndv_pairs": ("snd-v",),
    "motivation.magnitude_threshold": ("snd-v",),
    "motivation.augment_prob": ("snd-v",),
    "motivation.tile_zero_prob": ("snd-v",),
    "motivation.noise_amplitude": ("snd-v",),
    "motivation.michalnand_epochs": ("snd-v",),
    "motivation.std_norm_weight": ("snd-std",),
    "motivation.std_uniform_weight": ("snd-std",),
    "motivation.std_predictor_sum": ("snd-std",),
    "motivation.vicreg_inv_weight": ("snd-vic",),
    "motivation.vicreg_var_weight": ("snd-vic",),
    "motivation.vicreg_cov_weight": ("snd-vic",),
    "motivation.state_norm": ("snd-v", "snd-std", "snd-vic"),
    "motivation.state_norm_var_floor": ("snd-v",),
}
"""Fields that only some algos read."""


def applies(name: str, c: Ctx) -> bool:
    """Whether a run of this algo and game reads the field."""
    if name.startswith("motivation.") and not c.motivation:
        return False
    if name.startswith("env_cfg.procgen_") and not c.procgen:
        return False
    if name.startswith(ATARI_ONLY) and c.procgen:
        return False
    if name == "obs_norm_init_steps" and c.sndv and c.procgen:
        return False  # Procgen SND-V has no normaliser
    if name == "motivation.state_norm_var_floor" and c.sndv and c.procgen:
        return False
    return c.algo in ALGO_ONLY.get(name, (c.algo,))


def effective(name: str, value: Any, c: Ctx) -> Any:
    """The value a run uses where the config says 'auto' or None (resolved in the trainer or make_motivation)."""
    if name == "ppo.minibatch_sampling" and value == "auto":
        return "replacement" if c.sndv else "shuffle"
    if name == "motivation.schedule" and value == "auto":
        return "michalnand" if c.sndv else "iskandor"
    if name == "motivation.state_norm" and value is None:
        return c.sndv and not c.procgen
    return value


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


VALUE_AWARE = frozenset({
    "total_steps", "num_envs", "encoder", "amp", "policy_width", "env_cfg.frame_size", "ppo.bootstrap_last_step",
    "ppo.baseline_inverted_done_mask",
})  # fmt: skip
"""Fields whose source looks at the value and says itself when it differs from the authors'."""


def rows(cfg: TrainConfig) -> list[Row]:
    """Every hyper-parameter of the run ``cfg`` describes (resolved here), in ``SOURCES`` order. A value set
    on the command line that differs from what the preset gives (at the same env count and encoder) says
    so, and is marked unless its source knows it matches the authors."""
    cfg = cfg.resolved()
    c = Ctx(cfg, cfg.algo, cfg.procgen, game_name(cfg.env), cfg.preset == "paper")
    base_cfg = apply_preset(TrainConfig(algo=cfg.algo, env=cfg.env), cfg.preset)
    base_cfg = dataclasses.replace(base_cfg, num_envs=cfg.num_envs, encoder=cfg.encoder)
    base = flatten(to_dict(base_cfg.resolved()))
    values = flatten(to_dict(cfg))
    out = []
    for name, source in SOURCES.items():
        if not applies(name, c):
            continue
        value = effective(name, values[name], c)
        src = source(c)
        text, deviates = src.where, src.deviation is not None
        if src.deviation:
            text = f"{src.deviation}; authors: {src.where}"
        given = effective(name, base[name], c)
        if value != given:
            text = f"set on the command line (the {cfg.preset} preset gives {fmt(given)}); {text}"
            deviates = deviates or name not in VALUE_AWARE
        out.append(Row(name, value, text, deviates))
    return out


def fmt(value: Any) -> str:
    """One token, no spaces: strings bare, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def render(cfg: TrainConfig, table: list[Row]) -> str:
    width = max(len(r.name) for r in table) + 2
    vwidth = max(len(fmt(r.value)) for r in table) + 2
    head = (f"trainer presets: {cfg.algo} on {cfg.env}, preset {cfg.preset}, {cfg.num_envs} envs: "
            f"{len(table)} hyper-parameters; ! = differs from the authors' runs (why, then their source)")  # fmt: skip
    lines = [head]
    for r in table:
        lines.append(f"{'!' if r.deviates else ' '} {r.name:<{width}}{fmt(r.value):<{vwidth}}{r.source}")
    return "\n".join(lines)


def config_from_argv(argv: list[str]) -> TrainConfig:
    """`trainer train`'s options (the preset first, as train does) -> a resolved config."""
    preset = "none"
    for i, a in enumerate(argv):
        if a == "--preset" and i + 1 < len(argv):
            preset = argv[i + 1]
        elif a.startswith("--preset="):
            preset = a.split("=", 1)[1]
    default = apply_preset(TrainConfig(), preset)
    cfg = tyro.cli(
        TrainConfig, args=argv, default=default, prog="trainer presets",
        description="Print every hyper-parameter a `trainer train` run with these options would use, its "
        "value and its source, and exit without training. Takes every `trainer train` option; --json prints "
        "a JSON list instead.",
    )  # fmt: skip
    cfg = cfg.resolved()
    validate_env_config(cfg.env_cfg)
    return cfg


def as_json(table: list[Row]) -> str:
    return json.dumps([dataclasses.asdict(r) for r in table], indent=1)
