"""``snd-player compare A B [--seed S]``: two agents side by side in a window.

A and B are checkpoint files or run folders (their best checkpoint); two checkpoints of different games are
refused with one line before anything is built (:meth:`snd_player.core.compare.Comparison.open`), and the
window is :func:`snd_player.app.compare_window.run_window`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from snd_player.app.compare_window import run_window
from snd_player.cli.numbers import whole_number
from snd_player.cli.parsing import add_pair_options
from snd_player.core.compare import CompareError, Comparison


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="snd-player compare",
        description="Two agents side by side on the same env seed, in lock step, with their intrinsic "
        "motivation and V_int in shared plots.",
    )
    p.add_argument(
        "a", type=Path, help="checkpoint file or run folder (its best checkpoint, or --checkpoint)"
    )
    p.add_argument(
        "b", type=Path, help="checkpoint file or run folder (its best checkpoint, or --checkpoint)"
    )
    add_pair_options(
        p, trajectory_end="the window pauses at its end", normalised="start with the plots normalised to 0..1"
    )
    p.add_argument("--size", default="1280x720", help="window size WxH (default 1280x720)")
    p.add_argument(
        "--frames", type=whole_number(1, 10**9), default=None, help="play this many pair steps, then pause"
    )
    p.add_argument("--screenshot", type=Path, default=None, help="after --frames, save a PNG and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"snd-player compare: --size must look like 1280x720 (got {args.size})", file=sys.stderr)
        return 2
    import torch

    from snd_player.core.trajectory import TrajectoryError, load
    from trainer.checkpoint import CheckpointError
    from trainer.envs import EnvError
    from trainer.runs import RunError

    torch.set_num_threads(1)
    try:
        traj = None if args.trajectory is None else load(args.trajectory)
        if traj is not None:  # the file's steps, then a pause (Play goes on with each agent's own actions)
            args.frames = len(traj) if args.frames is None else min(args.frames, len(traj))
        cmp = Comparison.open(
            args.a, args.b, seed=args.seed, greedy=args.greedy, trajectory=traj, which=args.which
        )
    except (CompareError, RunError, CheckpointError, EnvError, TrajectoryError, OSError) as e:
        print(f"snd-player compare: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    if traj is not None and args.screenshot is None:
        print(
            f"snd-player compare: both agents play the {args.frames} steps of {args.trajectory}, then the window "
            "pauses; Play goes on with each agent's own actions"
        )
    rc = run_window(
        cmp, size=(w, h), frames=args.frames, screenshot=args.screenshot, normalised=args.normalised
    )
    del cmp  # the emulators must go before interpreter teardown, or nanobind reports them as leaks
    import gc

    gc.collect()
    return rc
