"""A run folder as a value: its config, its metric rows, its checkpoints and the lock of the trainer in it.

One reader for the trainer (resume, the folder lock) and the player (open a run, follow it, compare), so
both agree on what a run holds; every file is read through ``trainer.runfiles`` (regular files only, size
caps, rows type-checked). No Qt here; no tensors are loaded (checkpoint facts come from the
safetensors metadata alone, which is cheap).

Layout written by ``trainer train``::

    <run>/config.json
    <run>/metrics.jsonl                     one JSON row per update
    <run>/tb/                               TensorBoard events
    <run>/checkpoints/<step:012d>.safetensors  (+ <step:012d>.state.pt, the trainer's resume state)
    <run>/checkpoints/best.safetensors
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer.checkpoint import CheckpointError, list_checkpoints, read_metadata, step_of
from trainer.metrics import read_metrics
from trainer.runfiles import (
    MAX_METRICS_BYTES,
    MAX_ROW_BYTES,
    RunError,
    RunFileError,
    open_regular,
    parse_json,
    parse_row,
    read_json,
)

__all__ = ["CheckpointInfo", "MetricsTail", "Run", "RunError", "RunFileError", "RunLock", "lock_run_dir"]

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint's metadata says about it (no tensor is read)."""

    path: Path
    step: int
    is_best: bool
    score: float | None  # mean score of the recent episodes when it was written
    rooms: int | None  # rooms seen by then ((level, room) pairs)
    meta: dict[str, Any]

    @property
    def label(self) -> str:
        """One short line for choosers and video captions."""
        parts = [f"best (step {self.step:,})" if self.is_best else f"step {self.step:,}"]
        if self.score is not None:
            parts.append(f"score {self.score:.0f}")
        if self.rooms is not None:
            parts.append(f"rooms {self.rooms}")
        return " · ".join(parts)


def checkpoint_info(path: Path) -> CheckpointInfo:
    """Facts of one checkpoint from its metadata; raises CheckpointError for an unreadable file."""
    path = Path(path)
    meta = read_metadata(path)
    step = meta.get("global_step")  # the training facts (trainer.loop._facts) sit at the top level
    score = meta.get("recent_score_mean")
    rooms = meta.get("rooms_total")
    return CheckpointInfo(
        path=path,
        step=int(step) if isinstance(step, int) else -1,
        is_best=path.stem == "best",
        score=float(score) if isinstance(score, (int, float)) else None,
        rooms=int(rooms) if isinstance(rooms, int) else None,
        meta=meta,
    )


class Run:
    """A training run folder (see the module docstring for its layout)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @staticmethod
    def is_run(path: str | Path) -> bool:
        p = Path(path)
        return p.is_dir() and (
            (p / "checkpoints").is_dir() or (p / "metrics.jsonl").exists() or _is_trainer_config(p / "config.json")
        )

    def is_starting(self) -> bool:
        """A run with no checkpoint yet: its trainer has just started (config.json is written first, then the
        observation normaliser warms up, then the first update ends and writes the first checkpoint)."""
        return not self.step_checkpoints() and self.best_path() is None

    @property
    def ckpt_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    def config(self) -> dict[str, Any] | None:
        """The run's config.json as a dict, or None when it is missing or unreadable (``trainer.runfiles``:
        a FIFO, a device, an oversized or deeply nested file is unreadable, never a hang or a crash)."""
        try:
            cfg = read_json(self.config_path, "the run's config.json")
        except (OSError, RunFileError):
            return None
        return cfg if isinstance(cfg, dict) else None

    def metrics(self) -> list[dict[str, Any]]:
        """Every usable metrics row (a partial last line that a live trainer is writing, and lines that are
        not rows, are skipped); RunFileError for a metrics.jsonl that is not a regular file or too large."""
        return read_metrics(self.metrics_path)

    def step_checkpoints(self) -> list[Path]:
        """Step checkpoints, oldest first (``best`` not included)."""
        return list_checkpoints(self.ckpt_dir)

    def best_path(self) -> Path | None:
        p = self.ckpt_dir / "best.safetensors"
        return p if p.is_file() else None

    def checkpoints(self) -> list[CheckpointInfo]:
        """Readable step checkpoints with their facts, oldest first; unreadable ones are left out."""
        out = []
        for p in self.step_checkpoints():
            try:
                out.append(checkpoint_info(p))
            except (CheckpointError, OSError):
                continue
        return out

    def resolve(self, which: str = "best") -> Path:
        """The checkpoint named by ``best``, ``latest`` or a step number; RunError when there is none."""
        steps = self.step_checkpoints()
        if which == "best":
            best = self.best_path()
            if best is not None:
                return best
            which = "latest"  # a run without a best file (an old layout): its newest checkpoint
        if which == "latest":
            if not steps:
                raise RunError(f"{self.path}: no checkpoint yet (expected {self.ckpt_dir}/<step>.safetensors)")
            return steps[-1]
        digits = str(which).replace("_", "").replace(",", "")
        if not re.fullmatch(r"[0-9]{1,15}", digits, flags=re.ASCII):  # int() would take "٣" as 3
            raise RunError(f"--checkpoint {which!r}: expected best, latest or a step number (digits 0-9)")
        step = int(digits)
        for p in steps:
            if step_of(p) == step:
                return p
        have = ", ".join(str(step_of(p)) for p in steps) or "none"
        raise RunError(f"{self.path}: no checkpoint at step {step} (have: {have})")


def _is_trainer_config(path: Path) -> bool:
    """``config.json`` as ``trainer train`` writes it before anything else (a run folder seconds old), not any
    file of that name."""
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(d, dict) and {"algo", "run_dir", "total_steps"} <= d.keys()


# ---- the player's side: open a path, follow a growing metrics file ---------------------------------------
def run_of_checkpoint(path: str | Path) -> Run | None:
    """The run a checkpoint file belongs to (``<run>/checkpoints/<name>.safetensors``), or None."""
    p = Path(path)
    if p.parent.name != "checkpoints" or not Run.is_run(p.parent.parent):
        return None
    return Run(p.parent.parent)


def resolve_target(path: str | Path, which: str | None = None) -> tuple[Path, Run | None]:
    """A checkpoint file, or a run folder (or its ``checkpoints/``) resolved with ``which``
    (``best`` by default, ``latest`` or a step number): the checkpoint to open and the run it belongs to.

    RunError (one line) for a folder that is no run, an empty run, or ``which`` given with a single file.
    """
    p = Path(path)
    if p.is_dir():
        if p.name == "checkpoints" and Run.is_run(p.parent):
            p = p.parent
        if not Run.is_run(p):
            raise RunError(
                f"{p}: is a folder but not a training run (expected checkpoints/ or metrics.jsonl, "
                "as `trainer train --run-dir` writes)"
            )
        run = Run(p)
        return run.resolve(which or "best"), run
    if which is not None:
        raise RunError(f"--checkpoint {which} picks a checkpoint of a run folder; {p} is a single file")
    return p, run_of_checkpoint(p)


class MetricsTail:
    """Reads a metrics.jsonl that a live trainer appends to, a few new bytes at a time.

    Each :meth:`poll` reads only the bytes added since the previous one; a partial last line is kept until
    its newline arrives, and a complete line that is not a usable row (``trainer.runfiles.parse_row``: not
    JSON, a NaN step, a string update...) is skipped, never an exception; a JSON row with a number that cannot
    be drawn is kept in :attr:`bad_rows` (:func:`metric_row_problem`) for the caller's one warning. So is a
    metrics.jsonl that is not a regular file (a FIFO is never opened) or that grows past the size cap. When the
    file is replaced or shrinks (a resume cuts it back to its checkpoint's updates) reading starts over and
    ``poll`` says so, so the caller drops what it had.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._partial = b""
        self._inode: int | None = None
        self._line = 0  # complete lines read so far, for the line numbers of bad rows
        self.bad_rows: list[tuple[int, str]] = []  # (line number, why) of rows skipped as unreadable numbers

    def poll(self) -> tuple[list[dict[str, Any]], bool]:
        """``(new complete rows, restarted)``; restarted is True when earlier rows no longer hold."""
        try:
            st = self.path.stat()
        except OSError:
            return [], False
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_METRICS_BYTES:
            return [], False
        restarted = False
        if (self._inode is not None and st.st_ino != self._inode) or st.st_size < self._offset:
            self._offset, self._partial, self._line, restarted = 0, b"", 0, True
        self._inode = st.st_ino
        if st.st_size == self._offset:
            return [], restarted
        try:
            with open_regular(self.path, "a metrics.jsonl") as f:  # replaced by a FIFO since the stat: refused
                f.seek(self._offset)
                data = f.read(st.st_size - self._offset)
        except (OSError, RunFileError):
            return [], restarted
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        rows = []
        for line in lines:
            self._line += 1
            row, why = parse_row(line)
            if row is not None:
                why = metric_row_problem(row)  # NaN or 1e400 (inf) broke every poll of the player (issue 30)
            if why is None:
                rows.append(row)
                continue
            # a JSON row that cannot be drawn is reported; a line that is not JSON (or nested too deep, or
            # too long) is skipped quietly
            obj, not_json = parse_json(line) if len(line) <= MAX_ROW_BYTES else (None, "too long")
            if not_json is None and isinstance(obj, dict):
                self.bad_rows.append((self._line, metric_row_problem(obj) or why))
        return rows, restarted


def metric_row_problem(row: dict[str, Any]) -> str | None:
    """Why a metrics row cannot be drawn, or None: ``global_step`` must be a whole number >= 0 and every
    number finite (the trainer writes null for a NaN; JSON's 1e400 reads as inf)."""
    step = row.get("global_step")
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not math.isfinite(step) or step < 0 \
            or step != int(step):  # fmt: skip
        return f"global_step is {step!r}, expected a whole number >= 0"
    for key, value in row.items():
        if isinstance(value, float) and not math.isfinite(value):
            return f"{key} is {value!r}, expected a finite number"
    return None


# ---- the trainer's side: one trainer per run folder ------------------------------------------------
LOCK_NAME = ".lock"
"""Who holds the folder ("pid N on HOST"), for the refusal to name; the lock itself is on the folder."""


class RunLock:
    """An exclusive ``flock`` on the run folder itself (opened ``O_RDONLY | O_DIRECTORY``), held by one
    trainer. A folder is not deleted by accident while its trainer runs, where a lock file was (issue 30:
    deleting ``.lock`` let a second trainer in). The kernel drops the lock when the process ends however it
    ends (kill -9 included), so a crash never leaves a folder locked."""

    def __init__(self, run_dir: Path, fd: int | None) -> None:
        self.run_dir = run_dir
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            if _holder(self.run_dir)[1] == os.getpid():
                (self.run_dir / LOCK_NAME).unlink(missing_ok=True)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(run_dir: Path) -> tuple[str, int | None]:
    """What ``<run>/.lock`` says ("pid N on HOST", or "another process") and N when HOST is this host.
    Read without blocking and only from a regular file (a FIFO there once hung the trainer)."""
    from trainer.validate import open_regular

    try:
        with open_regular(run_dir / LOCK_NAME) as f:
            text = f.read(200).decode(errors="replace").strip()
    except (OSError, ValueError):
        return "another process", None
    parts = text.split()
    pid = None
    if len(parts) == 4 and parts[0] == "pid" and parts[1].isascii() and parts[1].isdigit():
        pid = int(parts[1]) if parts[3] == socket.gethostname() else None
    return text or "another process", pid


def _live_trainer(run_dir: Path, pid: int | None) -> bool:
    """True when ``pid`` (from ``.lock``) is another process of this host that is alive and has a file of
    ``run_dir`` open (its metrics, its lock): a trainer that this folder's flock does not show, such as one
    that locked only the old ``.lock`` file. A pid reused by an unrelated process does not count."""
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's: cannot look further, so the safe answer
    fd_dir = Path(f"/proc/{pid}/fd")
    if not fd_dir.is_dir():
        return True  # no /proc (macOS): alive is all that can be known
    try:
        here = str(run_dir.resolve())
        for fd in fd_dir.iterdir():
            target = os.readlink(fd)
            if target == here or target.startswith(here + os.sep):
                return True
    except OSError:
        return True
    return False


def lock_run_dir(run_dir: str | Path) -> RunLock:
    """Hold ``run_dir`` for this process, creating the folder; RunError (one line) when a live trainer holds
    it. The holder's pid and host are written into ``<run>/.lock`` (replaced whole, whatever was there) so
    the refusal can name them."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # no flock on this platform (Windows): run unlocked rather than not at all
        return RunLock(run_dir, None)
    fd = os.open(run_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunError(
            f"{run_dir}: a trainer is already running in this folder ({_holder(run_dir)[0]}); wait for it to "
            "end, stop it, or pick another --run-dir"
        ) from None
    except OSError:
        pass  # a file system without flock on folders: the pid check below is what is left
    except BaseException:
        os.close(fd)
        raise
    text, pid = _holder(run_dir)
    if _live_trainer(run_dir, pid):
        os.close(fd)
        raise RunError(
            f"{run_dir}: a trainer is already running in this folder ({text}, alive); wait for it to end, stop "
            "it, or pick another --run-dir"
        )
    _write_holder(run_dir)
    return RunLock(run_dir, fd)


def _write_holder(run_dir: Path) -> None:
    """``pid N on HOST`` into ``<run>/.lock``, written beside it and renamed over it (so a FIFO or any other
    non-file there is replaced, never opened); a folder of that name is left, the lock does not need it."""
    from trainer.checkpoint import atomic_write

    try:
        text = f"pid {os.getpid()} on {socket.gethostname()}\n"
        atomic_write(run_dir / LOCK_NAME, lambda tmp: tmp.write_text(text))
    except OSError:
        pass
