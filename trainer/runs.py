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

import os
import re
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer.checkpoint import CheckpointError, list_checkpoints, read_metadata
from trainer.metrics import read_metrics
from trainer.runfiles import MAX_METRICS_BYTES, RunError, RunFileError, open_regular, parse_row, read_json

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
        return p.is_dir() and ((p / "checkpoints").is_dir() or (p / "metrics.jsonl").exists())

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
            if int(p.stem) == step:
                return p
        have = ", ".join(str(int(p.stem)) for p in steps) or "none"
        raise RunError(f"{self.path}: no checkpoint at step {step} (have: {have})")


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
    JSON, a NaN step, a string update...) is skipped, never an exception; so is a metrics.jsonl that is not
    a regular file (a FIFO is never opened) or that grows past the size cap. When the
    file is replaced or shrinks (a resume cuts it back to its checkpoint's updates) reading starts over and
    ``poll`` says so, so the caller drops what it had.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._partial = b""
        self._inode: int | None = None

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
            self._offset, self._partial, restarted = 0, b"", True
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
            row, _ = parse_row(line)
            if row is not None:
                rows.append(row)
        return rows, restarted


# ---- the trainer's side: one trainer per run folder ------------------------------------------------
LOCK_NAME = ".lock"


class RunLock:
    """An exclusive ``flock`` on ``<run>/.lock`` held by one trainer. The kernel drops it when the process
    ends however it ends (kill -9 included), so a crash never leaves a folder locked; a stale ``.lock``
    file is harmless because the file's presence means nothing, only the lock on it."""

    def __init__(self, run_dir: Path, fd: int | None) -> None:
        self.run_dir = run_dir
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_run_dir(run_dir: str | Path) -> RunLock:
    """Hold ``run_dir`` for this process, creating the folder; RunError (one line) when a live process holds
    it. The holder's pid and host are written into the lock file so the refusal can name them."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # no flock on this platform (Windows): run unlocked rather than not at all
        return RunLock(run_dir, None)
    path = run_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise RunError(
            f"{run_dir}: a trainer is already running in this folder ({holder}); wait for it to end, stop it, "
            "or pick another --run-dir"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
    return RunLock(run_dir, fd)
