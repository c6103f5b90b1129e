"""Drive mode's keys → the game's actions, from the env's own action names (Qt-free: the window maps Qt's
keys to the controls named here, :mod:`snd_player.app.drive`).

Atari names its actions by direction and button (``trainer.envs.spec``: ALE's minimal action set, e.g.
``UP``, ``UPRIGHT``, ``DOWNLEFTFIRE``), so the held controls spell the name: vertical, then horizontal, then
``FIRE``. Up and down together cancel, as do left and right. A game without that combination (Pong has no
``UP``) gets the nearest one it has: the name without fire, then without the vertical part, then without the
horizontal part. Procgen's 15 actions are button combos (``procgen_action_name``: ``LEFT+UP``, ``FIRE`` for
its D key, ``BUTTON_Q`` ...): the arrows spell the direction, and fire and the letter buttons stand alone
(Procgen has no combination of a direction with a button).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

MOVES = ("up", "down", "left", "right")
FIRE = "fire"
PROCGEN_BUTTONS = ("button_a", "button_w", "button_s", "button_q", "button_e")
"""Procgen's letter keys other than D (its fire)."""


def _direction(controls: Collection[str]) -> tuple[str, str]:
    up, down = "up" in controls, "down" in controls
    left, right = "left" in controls, "right" in controls
    v = "UP" if up and not down else "DOWN" if down and not up else ""
    h = "RIGHT" if right and not left else "LEFT" if left and not right else ""
    return v, h


def drive_action(names: Sequence[str], controls: Collection[str], procgen: bool = False) -> int:
    """Index into ``names`` (the env's action set) of the action the held ``controls`` ask for (``MOVES``,
    ``FIRE``, and for Procgen ``PROCGEN_BUTTONS``); NOOP (or action 0) when nothing fits."""
    index = {n: i for i, n in enumerate(names)}
    v, h = _direction(controls)
    fire = FIRE in controls
    if procgen:
        for b in PROCGEN_BUTTONS:
            if b in controls and f"BUTTON_{b[-1].upper()}" in index:
                return index[f"BUTTON_{b[-1].upper()}"]
        if fire and "FIRE" in index:
            return index["FIRE"]
        name = "+".join(p for p in (h, v) if p) or "NOOP"
        return index.get(name, index.get("NOOP", 0))
    f = "FIRE" if fire else ""
    for cand in (v + h + f, v + h, h + f, h, v + f, v, f):
        if cand and cand in index:
            return index[cand]
    return index.get("NOOP", 0)
