"""Render the training panel and compare mode offscreen to PNGs, e.g. for the README.

    .venv/bin/python scripts/screenshot_runs.py RUN_A RUN_B [--out-dir docs] [--frames 200] [--size 1280x720]

``docs/training-panel.png``: the player on RUN_A's best checkpoint with the Training run panel (its
metrics.jsonl as curves, the checkpoint's step marked). ``docs/compare.png``: RUN_A's and RUN_B's best
checkpoints side by side on seed 0. Both are the real command lines (``snd-player RUN --screenshot``,
``snd-player compare A B --screenshot``) on Qt's offscreen platform, so no display is needed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_a", type=Path)
    p.add_argument("run_b", type=Path)
    p.add_argument("--out-dir", type=Path, default=Path("docs"))
    p.add_argument("--frames", type=int, default=200, help="agent steps played before each grab (200)")
    p.add_argument("--size", default="1280x720", help="window size WxH (1280x720)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

    from snd_player.cli import main as player_main

    common = ["--frames", str(args.frames), "--size", args.size, "--seed", str(args.seed)]
    rc = player_main([str(args.run_a), *common, "--screenshot", str(args.out_dir / "training-panel.png")])
    if rc:
        return rc
    return player_main(["compare", str(args.run_a), str(args.run_b), *common,
                        "--screenshot", str(args.out_dir / "compare.png")])  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
