"""Render the snd-player window offscreen to a PNG, e.g. for the README.

    .venv/bin/python scripts/screenshot.py CKPT [--out docs/player.png] [--frames 600] [--size 1600x1000]
                                               [--seed 0] [--greedy] [--view frame|stack|newest]

The window plays ``--frames`` agent steps as fast as it can, draws the last one into every panel and is
grabbed whole (menus, toolbar, docks, status bar). It is ``snd-player CKPT --frames N --screenshot OUT`` on
Qt's offscreen platform, so it needs no display; pass ``--display`` to use the real one instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, default=Path("docs/player.png"), help="PNG to write (docs/player.png)")
    p.add_argument("--frames", type=int, default=600, help="agent steps played before the grab (600)")
    p.add_argument("--size", default="1600x1000", help="window size WxH (1600x1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--greedy", action="store_true")
    p.add_argument("--view", choices=("frame", "stack", "newest"), default="frame")
    p.add_argument("--display", action="store_true", help="use the real display instead of offscreen")
    args = p.parse_args(argv)
    if not args.display:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    from snd_player.cli import main as player_main

    cmd = [str(args.checkpoint), "--frames", str(args.frames), "--screenshot", str(args.out)]
    cmd += ["--size", args.size, "--seed", str(args.seed), "--view", args.view]
    if args.greedy:
        cmd.append("--greedy")
    return player_main(cmd)


if __name__ == "__main__":
    sys.exit(main())
