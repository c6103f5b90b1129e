"""Numbers from a command line, parsed and range-checked before use (issue 26 item 2): digits 0-9 only
(Python's int() takes "٣" and str.isdigit() takes "²"), finite (no nan, inf, 1e400) and within a range,
so a bad value is one error line and never an OverflowError or a traceback from the emulator binding.

Light on purpose (no torch, no numpy): ``snd-player`` checks its arguments before its heavy imports.
"""

from __future__ import annotations

MAX_SEED = 2**31 - 1
"""Seeds reach the ALE and procgen as C ints."""


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


__all__ = ["MAX_SEED", "non_ascii_number"]
