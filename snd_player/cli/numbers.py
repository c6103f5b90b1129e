"""argparse ``type`` functions of the player's command lines: whole and finite numbers in a range, written with
ASCII digits (``--seed 2**70``, ``1e400`` or ``²²`` is one argparse error line, never a traceback from the
emulator). Here, not in :mod:`trainer.numbers`, because only the command-line layer may import argparse."""

from __future__ import annotations

import argparse
import math
import re
from typing import Any

from trainer.numbers import MAX_SEED

__all__ = ["MAX_SEED", "finite_number", "whole_number"]


def whole_number(lo: int, hi: int) -> Any:
    """An argparse ``type`` for a whole number in [lo, hi] written with the digits 0-9 (so ``2**70`` as a
    seed, ``1e400`` or ``²²`` is one argparse error line, never a traceback from the emulator)."""

    def parse(text: str) -> int:
        if not re.fullmatch(r"[+-]?[0-9][0-9_]*", text.strip(), flags=re.ASCII):
            raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number in [{lo}, {hi}]")
        value = int(text)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number in [{lo}, {hi}]")
        return value

    parse.__name__ = "whole number"
    return parse


def finite_number(lo: float, hi: float) -> Any:
    """An argparse ``type`` for a finite number in [lo, hi] (``nan``, ``inf`` and ``1e400`` refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text) if text.isascii() else math.nan
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and lo <= value <= hi):
            raise argparse.ArgumentTypeError(f"{text!r}: expected a number in [{lo:g}, {hi:g}]")
        return value

    parse.__name__ = "number"
    return parse
