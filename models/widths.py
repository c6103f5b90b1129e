"""The policy network's widths and encoders as plain numbers, without torch: the trainer's config and its
``--help`` read them before any network is built (:mod:`models.actor_critic` builds them)."""

ENCODERS = ("paper", "nature")
HIDDEN = 512
"""Width of the trunk's output and of the heads: Iskandor's networks and michalnand's Atari SND-V."""
PROCGEN_SNDV_HIDDEN = 256
"""michalnand's Procgen SND-V policy (``procgen_exploration/*/models/ppo_cnd_*/src/model_ppo.py``,
``hidden_count = 256``, trunk and heads; snd-spec §1.1)."""
