"""Draw docs/layers.png: the player's four layers over the trainer and the models (docs/design.md).

    .venv/bin/python scripts/draw_layers.py [--out docs/layers.png]

The modules listed in each box are read from the tree, so the picture is redrawn, not edited, when a module
moves.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = [
    ("snd_player.cli", "parses command lines, dispatches", "#4aa3ff"),
    ("snd_player.app", "windows, panels, workers (PyQt6 + pyqtgraph)", "#8e6cff"),
    ("snd_player.media", "offscreen painting, videos, evaluation (QtGui only)", "#ff9f43"),
    ("snd_player.core", "session, timeline, stepper, comparison (Qt-free)", "#5fd3bc"),
]
BELOW = [("trainer", "envs, agent, checkpoints, PPO, CLI", "#a6e22e"), ("models", "networks, losses (torch only)", "#ffd43b")]


def modules(pkg: str) -> list[str]:
    d = ROOT.joinpath(*pkg.split("."))
    names = sorted(p.stem for p in d.glob("*.py") if p.stem not in ("__init__", "__main__"))
    names += sorted(p.name + "/" for p in d.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    return names


def wrap(names: list[str], width: int) -> str:
    lines, cur = [], ""
    for n in names:
        if cur and len(cur) + len(n) + 2 > width:
            lines.append(cur)
            cur = ""
        cur = f"{cur}  {n}" if cur else n
    return "\n".join([*lines, cur])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "layers.png")
    args = p.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(10, 7.6), dpi=110)
    fig.patch.set_facecolor("#14161b")
    ax.set_facecolor("#14161b")
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10.4)
    ax.axis("off")
    h, gap, top = 1.55, 0.5, 10.1
    for i, (pkg, what, color) in enumerate(LAYERS):
        y = top - (i + 1) * h - i * gap
        ax.add_patch(FancyBboxPatch((0.3, y), 9.4, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                                    fc="#1d2027", ec=color, lw=2))
        ax.text(0.55, y + h - 0.3, pkg, color=color, fontsize=13, fontweight="bold", va="center")
        ax.text(9.5, y + h - 0.3, what, color="#8a90a0", fontsize=9.5, va="center", ha="right")
        ax.text(0.55, y + 0.55, wrap(modules(pkg), 84), color="#d8dbe2", fontsize=8.6, va="center",
                family="monospace")
        if i < len(LAYERS) - 1:
            ax.add_patch(FancyArrowPatch((5, y), (5, y - gap), arrowstyle="-|>", mutation_scale=16,
                                         color="#d8dbe2", lw=1.5))
    y = top - len(LAYERS) * (h + gap) - 0.25
    ax.add_patch(FancyArrowPatch((5, y + 0.25 + gap - 0.05), (5, y + 0.25 + 0.02), arrowstyle="-|>",
                                 mutation_scale=16, color="#d8dbe2", lw=1.5))
    for j, (pkg, what, color) in enumerate(BELOW):
        x = 0.3 + j * 4.8
        ax.add_patch(FancyBboxPatch((x, y - 0.55), 4.6, 0.8, boxstyle="round,pad=0.02,rounding_size=0.12",
                                    fc="#1d2027", ec=color, lw=2))
        ax.text(x + 0.25, y - 0.15, pkg, color=color, fontsize=12, fontweight="bold", va="center")
        ax.text(x + 4.4, y - 0.15, what, color="#8a90a0", fontsize=9, va="center", ha="right")
    ax.add_patch(FancyArrowPatch((4.9, y - 0.15), (5.1, y - 0.15), arrowstyle="-|>", mutation_scale=14,
                                 color="#d8dbe2", lw=1.5))
    ax.set_ylim(y - 0.8, 10.45)
    ax.text(5, 10.3, "An arrow is 'may import'. Nothing imports upwards, and there are no circles "
            "(lint-imports, tests/test_imports.py).", color="#d8dbe2", fontsize=9.5, ha="center", va="center")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, facecolor=fig.get_facecolor(), bbox_inches="tight")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
