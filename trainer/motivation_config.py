"""The intrinsic-motivation settings and the paper's per-game numbers, without torch.

:class:`MotivationConfig` is part of every run's config and of ``trainer train --help``; the networks that
use it are in :mod:`trainer.motivation`, which imports torch (seconds) only when a run is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MOTIVATION_ALGOS = ("rnd", "snd-v", "snd-std", "snd-vic")

SND_STD_ETA = {
    "montezumarevenge": 1.0,
    "gravitar": 1.0,
    "venture": 0.25,
    "privateeye": 0.5,
    "pitfall": 1.0,
    "solaris": 0.5,
    "caveflyer": 0.5,
    "coinrun": 0.25,
    "jumper": 1.0,
    "climber": 1.0,
}
"""SND-STD's per-game eta, Iskandor/SND ``config/ppo.config.json`` (snd-spec §1.2)."""

SNDV_PROCGEN_ETA = {"caveflyer": 2.0, "coinrun": 1.0, "jumper": 1.0, "climber": 0.5}
"""SND-V's eta in the runs behind the paper's Procgen numbers, recomputed from michalnand's logs
(snd-spec §1.1): caveflyer 2 (``ppo_cnd_2``), coinrun and jumper 1 (``cnd_1``), climber 0.5 (its ``cnd_0`` and
``cnd_1`` configs are identical, ``int_reward_coeff = 0.5``; issue 22, snd before it used 1); other Procgen
games get 0.5 (variant 0)."""

LEGACY_SNDV_PROCGEN_ETA = {**SNDV_PROCGEN_ETA, "climber": 1.0}
"""What configs resolved before issue 22 (``defaults_version`` 1) meant by SND-V eta None."""

PAPER_ENVS = 128
"""Parallel envs of every author config (snd-spec §4.1)."""
KEEP_ALL_ENVS = 32
"""michalnand ``AgentPPOCND.py``: the predictor keep-mask is "25% for 128 envs, 100% for 32 envs"."""


@dataclass
class MotivationConfig:
    """Intrinsic-motivation hyper-parameters. None means "the paper's value for this algo and env"."""

    eta: float | None = None
    """Intrinsic reward scale, r_int = clip(eta * error, 0, 1). None = the paper's per-algo/per-env value
    (snd-spec §1.1-§1.3, §4.1): RND 1, SND-V 0.5 Atari / per game on Procgen (caveflyer 2; coinrun, jumper
    1; climber 0.5), SND-VIC 0.25 Atari / 0.5 Procgen, SND-STD per game. A run records the value it used
    in its config.json; `trainer presets` prints it with its source."""
    lr: float = 1e-4
    """Adam learning rate of predictor and target (both codebases: 1e-4; snd-spec §4.1)."""
    schedule: Literal["auto", "michalnand", "iskandor"] = "auto"
    """Updates per rollout. michalnand: epochs x T*N/minibatch steps on minibatches drawn with replacement,
    separate predictor and target Adams (SND-V as run, snd-spec §1.1); iskandor: one pass of T*N/minibatch
    contiguous time-major minibatches, one Adam (snd-spec §1.3). auto = the codebase that produced the
    paper's number: michalnand for snd-v, iskandor otherwise."""
    minibatch_size: int = 512
    """States (or transitions) per motivation step; the whole rollout when it is smaller (paper 512)."""
    michalnand_epochs: int = 4
    """Passes of the michalnand schedule: 4 x 32 = 128 steps per 16384-sample rollout (``AgentPPOCND``
    trains motivation once per PPO minibatch, 4 PPO epochs)."""
    predictor_keep_prob: float | None = None
    """Probability of keeping each element of the predictor loss (RND's "proportion of experience", per
    element). None = paper at this env count: RND and Atari SND-V min(1, 32 / num_envs), which is the
    authors' 0.25 at their 128 envs (michalnand ``AgentPPOCND.py``: "25% for 128 envs, 100% for 32 envs";
    ``cnd_dropout`` 0.75, Iskandor ``RNDModelAtari`` keep 0.25), Procgen SND-V 1.0 (``cnd_dropout``
    0.0), SND-STD and SND-VIC 1.0 (plain MSE). A run records the value it used in its config.json
    (issue 22)."""
    state_norm: bool | None = None
    """Normalise the networks' input as clamp((s - mu) / sigma, -1, 1) with running per-pixel statistics.
    None = paper: on for Atari SND-V (michalnand ``normalise_state_mean/std``), off for Procgen SND-V and
    for SND-STD/SND-VIC (Iskandor ``cnd_preprocess=0``). RND ignores it: it always subtracts the running
    mean only (snd-spec §2.3)."""
    state_norm_var_floor: float = 1e-3
    """Floor of the running variance in the state normalisation (michalnand ``RunningStats``: 1e-3)."""
    sndv_pairs: int = 64
    """SND-V: state pairs per target step (michalnand ``PolicyBufferIM.sample_states``: 64)."""
    magnitude_threshold: float = 200.0
    """SND-V: the contrastive loss penalises mean(z_a^2) + mean(z_b^2) above this (RLAgents 56376830: 200)."""
    augment_prob: float = 0.5
    """SND-V: probability that each augmentation (tile mask, noise) hits a sample (``Augmentations.py``)."""
    tile_zero_prob: float = 0.1
    """SND-V: probability that each mask tile is zeroed (``aug_mask_tiles`` p = 0.1)."""
    noise_amplitude: float = 0.2
    """SND-V: additive noise is U(-a, a) per pixel (``aug_noise`` k = 0.2)."""
    std_norm_weight: float = 1e-4
    """SND-STD: weight of the logits-norm regulariser (Iskandor ``cnd_loss_target_reg`` 1e-4)."""
    std_uniform_weight: float = 1e-4
    """SND-STD: weight of the feature-spread regulariser (Iskandor ``beta1`` 1e-4)."""
    std_predictor_sum: bool = True
    """SND-STD: predictor MSE summed over batch x features, not averaged (Iskandor ``reduction='sum'``)."""
    vicreg_inv_weight: float = 1.0
    """SND-VIC: invariance weight (Iskandor ``la`` 1)."""
    vicreg_var_weight: float = 1.0
    """SND-VIC: variance weight (Iskandor ``mu`` 1)."""
    vicreg_cov_weight: float = 0.04
    """SND-VIC: covariance weight (Iskandor ``nu`` 1/25)."""

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"--motivation.lr must be positive, got {self.lr}")
        if self.minibatch_size < 2:
            raise ValueError(f"--motivation.minibatch-size must be at least 2, got {self.minibatch_size}")
        if self.michalnand_epochs < 1:
            raise ValueError(
                f"--motivation.michalnand-epochs must be at least 1, got {self.michalnand_epochs}"
            )
        if self.predictor_keep_prob is not None and not 0.0 < self.predictor_keep_prob <= 1.0:
            raise ValueError(
                f"--motivation.predictor-keep-prob must be in (0, 1], got {self.predictor_keep_prob}"
            )
        if self.sndv_pairs < 1:
            raise ValueError(f"--motivation.sndv-pairs must be at least 1, got {self.sndv_pairs}")


def game_name(env_id: str) -> str:
    """'ALE/MontezumaRevenge-v5', 'MontezumaRevengeNoFrameskip-v4', 'procgen:caveflyer' or a bare game
    name -> 'montezumarevenge', 'caveflyer'."""
    name = re.split(r"[/:]", env_id)[-1]
    name = re.sub(r"-v\d+$", "", name.lower())
    name = re.sub(r"^procgen-|noframeskip|deterministic", "", name)
    return re.sub(r"[^a-z0-9]", "", name)


def paper_eta(algo: str, env_id_or_game: str, is_procgen: bool) -> float:
    """The paper's intrinsic reward scale (snd-spec §1.2, §1.3, §4.1; Iskandor ``motivation_eta``,
    michalnand ``int_reward_coeff``). SND-STD games the paper did not run get 1, its most common value;
    plain PPO has no intrinsic reward (0)."""
    if algo == "ppo":
        return 0.0
    if algo == "rnd":
        return 1.0
    if algo == "snd-v":
        return SNDV_PROCGEN_ETA.get(game_name(env_id_or_game), 0.5) if is_procgen else 0.5
    if algo == "snd-vic":
        return 0.5 if is_procgen else 0.25
    if algo == "snd-std":
        return SND_STD_ETA.get(game_name(env_id_or_game), 1.0)
    raise ValueError(f"unknown algo {algo!r}; valid: ppo, {', '.join(MOTIVATION_ALGOS)}")


def paper_keep_prob(algo: str, is_procgen: bool, num_envs: int) -> float:
    """The predictor loss's keep probability that gives the predictor the authors' experience per update at
    ``num_envs`` parallel envs: min(1, 32 / num_envs) for RND and Atari SND-V (0.25 at the paper's 128),
    1 for Procgen SND-V, SND-STD and SND-VIC (snd-spec §1.1, §2.3; issue 22)."""
    if algo == "rnd" or (algo == "snd-v" and not is_procgen):
        return min(1.0, KEEP_ALL_ENVS / max(1, int(num_envs)))
    return 1.0


def legacy_keep_prob(algo: str, is_procgen: bool) -> float:
    """What configs resolved before issue 22 (``defaults_version`` 1) meant by keep None: 0.25 at any env
    count for RND and Atari SND-V."""
    return {"rnd": 0.25, "snd-v": 1.0 if is_procgen else 0.25}.get(algo, 1.0)
