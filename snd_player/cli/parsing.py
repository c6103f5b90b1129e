"""The argument parser of the player's sub-commands (``eval``, ``record``, ``record --compare``,
``record --across-checkpoints``, ``eval --trajectory``): argparse with one-line errors."""

from __future__ import annotations

import argparse
from pathlib import Path

from snd_player.cli.numbers import MAX_SEED, whole_number


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line, ``PROG: error: MESSAGE (see --help)``, with exit status 2
    (argparse's own prints the whole usage block first)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def add_pair_options(p: argparse.ArgumentParser, *, trajectory_end: str, normalised: str) -> None:
    """The options that choose what a pair of agents plays, shared by ``snd-player compare`` (the window)
    and ``snd-player record --compare`` (the video): which checkpoint of each run folder, the seed, greedy
    actions, a trajectory to replay, normalised plots. ``trajectory_end`` says what happens when the
    trajectory ends; ``normalised`` is the help of ``--normalised``."""
    p.add_argument(
        "--checkpoint",
        dest="which",
        default=None,
        help="of each run folder: best (default: the highest recent score, ties to the newest), latest or a "
        "step number",
    )
    p.add_argument(
        "--seed",
        type=whole_number(0, MAX_SEED),
        default=0,
        help="env and action-sampling seed of both (default 0)",
    )
    p.add_argument("--greedy", action="store_true", help="argmax actions instead of sampling")
    p.add_argument(
        "--trajectory",
        type=Path,
        default=None,
        help=f"both play this trajectory file's actions on its seed; {trajectory_end}",
    )
    p.add_argument("--normalised", action="store_true", help=normalised)
