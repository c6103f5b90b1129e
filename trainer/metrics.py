"""Per-update metrics: one JSON row per update in metrics.jsonl, mirrored to TensorBoard.

On resume the file is cut back to the rows of the updates the checkpoint contains, so after a kill -9 no
row is duplicated or missing; TensorBoard's ``purge_step`` does the same for the event files.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
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


class MetricsWriter:
    def __init__(self, run_dir: Path, tensorboard: bool, purge_step: int | None = None) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"
        self._f = open(self.path, "a", encoding="utf-8")
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imported lazily: slow import

            self._tb = SummaryWriter(str(Path(run_dir) / "tb"), purge_step=purge_step)

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
                    self._tb.add_scalar(k, v, step)

    def flush(self) -> None:
        """Put buffered TensorBoard events on disk (the JSON rows are flushed as they are written)."""
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        try:
            self._f.close()  # may raise again what a failed write raised (a full disk)
        finally:
            if self._tb is not None:
                self._tb.close()
