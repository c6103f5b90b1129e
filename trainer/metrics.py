"""Per-update metrics: one JSON row per update in metrics.jsonl, mirrored to TensorBoard.

On resume the file is cut back to the rows of the updates the checkpoint contains, so after a kill -9 no
row is duplicated or missing; TensorBoard's ``purge_step`` does the same for the event files.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from trainer.runfiles import MetricRows, read_metric_rows


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """All usable rows of a metrics.jsonl (``trainer.runfiles.read_metric_rows``: a torn last line from a crash
    and lines that are not rows are skipped; a FIFO, a device or an oversized file is a RunFileError)."""
    return read_metric_rows(path).rows


def truncate_metrics(path: Path, max_update: int) -> MetricRows:
    """Keep the usable rows with ``update <= max_update``, byte for byte; lines that are not rows are left out
    (the caller keeps a copy of the file aside when ``bad`` is not empty). Returns what was read."""
    path = Path(path)
    read = read_metric_rows(path)
    if not path.exists():
        return read
    kept = [line + b"\n" for row, line in zip(read.rows, read.lines, strict=True) if row["update"] <= max_update]
    tmp = path.with_suffix(".jsonl.tmp")
    with open(tmp, "wb") as f:
        f.writelines(kept)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return read


def _finite(x: Any) -> Any:
    """JSON has no NaN/inf: store them as null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


_TB_THREAD_ERRORS: list[OSError] = []
"""OSErrors that killed TensorBoard's writer thread (a full disk), newest last."""


def _quiet_tensorboard_thread() -> None:
    """TensorBoard writes its events in a thread of its own (``_AsyncWriterThread``); on a full disk that
    thread died with a traceback on stderr (``threading.excepthook``) before the trainer's one line. Its
    OSError is kept instead, and the training thread's next TensorBoard call raises it (see
    :meth:`MetricsWriter._tb_call`), to be reported once. Installed once per process and left installed:
    the thread may end after the writer is closed; every other thread's error goes to the previous hook."""
    previous = threading.excepthook
    if getattr(previous, "_snd_quiet_tb", False):
        return

    def hook(args: threading.ExceptHookArgs) -> None:
        if type(args.thread).__name__ == "_AsyncWriterThread" and isinstance(args.exc_value, OSError):
            _TB_THREAD_ERRORS.append(args.exc_value)
            return
        previous(args)

    hook._snd_quiet_tb = True  # type: ignore[attr-defined]
    threading.excepthook = hook


class MetricsWriter:
    def __init__(self, run_dir: Path, tensorboard: bool, purge_step: int | None = None, tracker: Any = None) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"
        self._tracker = tracker  # trainer.tracking.WandbTracker under --track
        self._f = open(self.path, "a", encoding="utf-8")
        self._tb = None
        self._tb_dir = Path(run_dir) / "tb"
        self._tb_errors_before = len(_TB_THREAD_ERRORS)
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imported lazily: slow import

            _quiet_tensorboard_thread()
            self._tb = self._tb_call(SummaryWriter, str(self._tb_dir), purge_step=purge_step)

    def _tb_call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args)`` of TensorBoard, its writer thread's error first; an OSError names tb/."""
        try:
            if len(_TB_THREAD_ERRORS) > self._tb_errors_before:
                raise _TB_THREAD_ERRORS[-1]
            return fn(*args, **kwargs)
        except OSError as e:
            raise OSError(e.errno, e.strerror or str(e), e.filename or str(self._tb_dir)) from None

    def write(self, row: dict[str, Any], scalars: Iterable[str]) -> None:
        """Append one row (flushed at once, so a killed run keeps every finished update)."""
        clean = {k: (_finite(v) if not isinstance(v, list) else v) for k, v in row.items()}
        self._f.write(json.dumps(clean) + "\n")
        self._f.flush()
        if self._tb is not None:
            step = int(row["global_step"])
            for k in scalars:
                v = row.get(k)
                if isinstance(v, (int, float)) and math.isfinite(v):
                    self._tb_call(self._tb.add_scalar, k, v, step)
        if self._tracker is not None:
            self._tracker.log(clean, scalars)

    def flush(self) -> None:
        """Put buffered TensorBoard events on disk (the JSON rows are flushed as they are written)."""
        if self._tb is not None:
            self._tb_call(self._tb.flush)

    def close(self) -> None:
        try:
            self._f.close()  # may raise again what a failed write raised (a full disk)
        finally:
            if self._tb is not None:
                self._tb_call(self._tb.close)
            if self._tracker is not None:
                self._tracker.close()
