"""The one reader for the files of a run folder (config.json, metrics.jsonl, the TensorBoard folder, and any
file added later): what ``trainer.validate`` is for checkpoints, this is for everything around them.

Every read goes through the same checks, so the trainer (resume, config loading, metrics) and the player's run
reader (``trainer.runs``) agree on what a folder holds and refuse the same things in the same words:

- **regular files only**: a FIFO would block the reader forever and a device (a symlink to ``/dev/zero``)
  would stream without end; both are refused after an ``O_NONBLOCK`` open, before a byte is read;
- **a size cap before reading** (``MAX_CONFIG_BYTES``, ``MAX_METRICS_BYTES``, ``MAX_ROW_BYTES``);
- **UTF-8 and JSON errors named with the file and the line**;
- **nesting depth bounded** (``MAX_DEPTH``): a deeply nested document is refused instead of raising
  RecursionError;
- **types checked per field** of a metrics row (``row_problem``): a row with a bad field is skipped, never a
  crash, and the caller is told which lines were skipped and why (:class:`MetricRows`), so ``--resume`` can
  count them and set them aside.

Errors are :class:`RunFileError`, one line starting with the path.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

MAX_CONFIG_BYTES = 1 << 20
"""config.json: ours is about 3 kB."""
MAX_METRICS_BYTES = 1 << 30
"""metrics.jsonl: a paper-length run (128M steps in 16,384-step updates) writes about 8,000 rows of a few kB."""
MAX_ROW_BYTES = 4 << 20
"""One metrics row: its longest lists (episode scores, rooms) hold a few hundred numbers."""
MAX_DEPTH = 16
"""Nesting of JSON containers: our files nest 3 deep (a config's sub-configs, a row's room pairs)."""

INT_FIELDS = ("update", "global_step")
"""Fields every metrics row has: whole numbers >= 0."""
LIST_FIELDS = ("episode_scores", "episode_lengths", "episode_rooms", "rooms")
"""Fields that are lists where present."""


class RunError(ValueError):
    """A run folder that cannot be used; the message is one line naming the folder and what was expected.
    (``trainer.runs.RunError``: defined here so that every run-file error is one.)"""


class RunFileError(RunError):
    """A run-folder file that cannot be read; the message is one line that starts with the path."""


def _kind_of_mode(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def open_regular(path: Path, what: str) -> BinaryIO:
    """``path`` opened for binary reading when it is a regular file (a symlink to one is fine), else
    RunFileError naming what it is and ``what`` was expected. FileNotFoundError passes through."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise RunFileError(f"{path}: is a folder, expected {what}") from None
    except OSError as e:
        raise RunFileError(f"{path}: cannot open to read ({e.strerror or e})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise RunFileError(f"{path}: is {_kind_of_mode(mode)}, not a regular file (expected {what})")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: Path, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (checked before reading, and while reading, as
    the file may grow)."""
    with open_regular(path, what) as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise RunFileError(f"{path}: {size:,} bytes, more than the {max_bytes:,} expected of {what}")
        try:
            data = f.read(max_bytes + 1)
        except OSError as e:
            raise RunFileError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(data) > max_bytes:
        raise RunFileError(f"{path}: more than the {max_bytes:,} bytes expected of {what}")
    return data


def depth(x: Any) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(x, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            deepest = max(deepest, d + 1)
            stack.extend((c, d + 1) for c in v)
    return deepest


def parse_json(raw: bytes) -> tuple[Any, str | None]:
    """``(value, None)``, or ``(None, why)`` for bytes that are not UTF-8 JSON nested at most MAX_DEPTH deep;
    ``why`` is short (no file, no line) and names the byte or column."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"not UTF-8 text (byte 0x{raw[e.start]:02x} at column {e.start + 1})"
    try:
        value = json.loads(text)
    except RecursionError:
        return None, f"JSON nested deeper than {MAX_DEPTH} levels"
    except json.JSONDecodeError as e:
        return None, f"not valid JSON ({e.msg} at column {e.colno})"
    if depth(value) > MAX_DEPTH:
        return None, f"JSON nested deeper than {MAX_DEPTH} levels"
    return value, None


def read_json(path: Path, what: str, max_bytes: int = MAX_CONFIG_BYTES) -> Any:
    """One JSON document (config.json and the like); RunFileError naming the file and line otherwise."""
    raw = read_bytes(path, what, max_bytes)
    value, why = parse_json(raw)
    if why is None:
        return value
    if why.startswith("not UTF-8"):
        start = raw.decode("utf-8", errors="replace").find("\ufffd")
        line = raw[: max(start, 0)].count(b"\n") + 1
        why = f"not UTF-8 text (line {line})"
    elif why.startswith("not valid JSON"):
        try:
            json.loads(raw.decode("utf-8"))
        except json.JSONDecodeError as e:
            why = f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})"
    raise RunFileError(f"{path}: {why}; expected {what}")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _json_kind(x: Any) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "a boolean"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return {dict: "an object", list: "a list", str: "a string", int: "a whole number", float: "a number"}.get(
        type(x), type(x).__name__
    )


def row_problem(row: Any) -> str | None:
    """Why a parsed metrics line is not a usable row, or None: an object whose ``update`` and ``global_step``
    are whole numbers >= 0, whose list fields are lists and whose other values are numbers (finite), null,
    booleans, strings or lists: never a nested object, so a consumer can plot any field it knows."""
    if not isinstance(row, dict):
        return f"{_json_kind(row)}, not an object"
    for key in INT_FIELDS:
        v = row.get(key)
        if not _is_int(v) or v < 0:
            return f"{key!r} is {_json_kind(v) if key in row else 'missing'}, expected a whole number >= 0"
    for key, v in row.items():
        if key in LIST_FIELDS and not isinstance(v, list):
            return f"{key!r} is {_json_kind(v)}, expected a list"
        if isinstance(v, float) and not math.isfinite(v):
            return f"{key!r} is {v}, expected a finite number or null"
        if isinstance(v, dict):
            return f"{key!r} is an object, expected a number"
    return None


@dataclass
class MetricRows:
    """What a metrics.jsonl holds: the usable rows, and the lines that were skipped."""

    path: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    """The bytes of each usable row's line (no newline), in step with ``rows``."""
    bad: list[tuple[int, str]] = field(default_factory=list)
    """(line number, why) of every complete line that is not a usable row."""
    torn: bool = False
    """The last line has no newline yet (a live trainer writing it, or a kill during a write): not counted."""

    def warning(self) -> str | None:
        """One line for the skipped rows, or None: the file, how many, and their line numbers."""
        if not self.bad:
            return None
        n = len(self.bad)
        shown = ", ".join(str(i) for i, _ in self.bad[:10]) + (f" and {n - 10} more" if n > 10 else "")
        line, why = self.bad[0]
        where = f"line {line}: {why}" if n == 1 else f"lines {shown}; line {line}: {why}"
        return f"{self.path}: {n} unreadable row{'s' * (n != 1)} skipped ({where})"


def iter_lines(data: bytes) -> Iterator[tuple[int, bytes, bool]]:
    """``(line number, line without its newline, complete)`` of a JSON-lines byte string."""
    start, n = 0, 1
    while start < len(data):
        end = data.find(b"\n", start)
        if end < 0:
            yield n, data[start:], False
            return
        yield n, data[start:end], True
        start, n = end + 1, n + 1


def parse_row(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """One metrics line: ``(row, None)`` or ``(None, why)``."""
    if len(line) > MAX_ROW_BYTES:
        return None, f"{len(line):,} bytes, more than the {MAX_ROW_BYTES:,} of a row"
    row, why = parse_json(line)
    if why is None:
        why = row_problem(row)
    return (row, None) if why is None else (None, why)


def read_metric_rows(path: Path, max_bytes: int = MAX_METRICS_BYTES) -> MetricRows:
    """Every usable row of a metrics.jsonl, with the lines skipped; an empty result when the file is missing.
    RunFileError when it is not a regular file or larger than ``max_bytes``."""
    out = MetricRows(Path(path))
    try:
        data = read_bytes(path, "a metrics.jsonl of JSON rows", max_bytes)
    except FileNotFoundError:
        return out
    for n, line, complete in iter_lines(data):
        if not complete:
            out.torn = True
            break
        if not line.strip():
            continue
        row, why = parse_row(line)
        if why is not None:
            out.bad.append((n, why))
        else:
            out.rows.append(row)
            out.lines.append(line)
    return out


def check_folder(path: Path, what: str) -> None:
    """RunFileError when ``path`` exists and is not a folder (e.g. a file named ``tb`` where TensorBoard's
    event folder goes, which would fail later with a bare "File exists")."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as e:
        raise RunFileError(f"{path}: cannot look at it ({e.strerror or e}); expected {what}") from None
    if not stat.S_ISDIR(mode):
        kind = "a file" if stat.S_ISREG(mode) else _kind_of_mode(mode)
        raise RunFileError(f"{path}: is {kind}, expected {what}; move it away or pick another --run-dir")
