"""Numbers from a command line, parsed and range-checked before use (issue 26 item 2): digits 0-9 only
(Python's int() takes "٣" and str.isdigit() takes "²"), finite (no nan, inf, 1e400) and within a range,
so a bad value is one error line and never an OverflowError or a traceback from the emulator binding.

Light on purpose (no torch, no numpy): ``snd-player`` checks its arguments before its heavy imports.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_SEED = 2**31 - 1
"""Seeds reach the ALE and procgen as C ints."""


def whole_number(lo: int, hi: int) -> Any:
    """An argparse ``type`` for a whole number in [lo, hi] written with the digits 0-9 (so ``2**70`` as a
    seed, ``1e400`` or ``²²`` is one argparse error line, never a traceback from the emulator)."""

    def parse(text: str) -> int:
        if not re.fullmatch(r"[+-]?[0-9][0-9_]*", text.strip(), flags=re.ASCII):
            raise _type_error(f"{text!r}: expected a whole number in [{lo}, {hi}]")
        value = int(text)
        if not lo <= value <= hi:
            raise _type_error(f"{text!r}: expected a whole number in [{lo}, {hi}]")
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
            raise _type_error(f"{text!r}: expected a number in [{lo:g}, {hi:g}]")
        return value

    parse.__name__ = "number"
    return parse


TEXT_FLAGS = ("--run-dir", "--env", "--preset", "--algo", "--device", "--encoder", "--amp")
"""Flags whose values are names or paths, where any character is fine."""


def non_ascii_number(argv: list[str]) -> str | None:
    """One line for the first option value that holds a digit other than 0-9 (``²²``, ``٣``: Python's int()
    and str.isdigit() accept some of them), or None. Checked before tyro parses the command line."""
    for i, arg in enumerate(argv):
        if not arg.startswith("--"):
            continue
        flag, eq, value = arg.partition("=")
        if not eq:
            if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
                continue
            value = argv[i + 1]
        if flag in TEXT_FLAGS:
            continue
        if any(c.isnumeric() and not c.isascii() for c in value):
            return f"{flag} {value!r}: expected a number written with the digits 0-9"
    return None


__all__ = ["MAX_SEED", "finite_number", "non_ascii_number", "whole_number"]


def _type_error(message: str) -> Exception:
    """argparse's ArgumentTypeError (its message is what argparse prints), imported only when a value is
    refused: the trainer's config imports this module, and the player's offscreen layers never parse."""
    import argparse

    return argparse.ArgumentTypeError(message)
