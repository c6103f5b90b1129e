"""Optional Weights & Biases tracking of a training run (``trainer train --track``, as CleanRL's ``--track``).

TensorBoard stays the default; --track adds W&B on top. wandb is an optional extra (``pip install
'snd[wandb]'``) imported only when asked for, so a missing install is one line at start-up, before the run
folder is touched. ``WANDB_MODE=offline`` (wandb's own switch) keeps everything on disk under the run folder
for a later ``wandb sync``. A resumed run logs into the same W&B run: its id is kept in ``<run>/wandb-id``.
W&B API: https://docs.wandb.ai/ref/python/init (``id``, ``resume="allow"``, ``dir``, ``config``) and
``Run.log(data, step=...)``, ``Run.finish()``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ID_FILE = "wandb-id"


class TrackingError(ValueError):
    """--track cannot be honoured; one line saying why and what to install."""


def require_wandb() -> Any:
    """The wandb module, or TrackingError naming the extra to install."""
    try:
        import wandb
    except ImportError:
        raise TrackingError(
            "--track needs wandb, which is not installed here: pip install 'snd[wandb]' (or leave out --track; "
            "TensorBoard events are written either way)"
        ) from None
    return wandb


class WandbTracker:
    """One W&B run per run folder; every update's finite scalars logged at its global step."""

    def __init__(self, run_dir: Path, config: dict[str, Any], project: str, entity: str | None) -> None:
        wandb = require_wandb()
        run_dir = Path(run_dir)
        id_path = run_dir / ID_FILE
        run_id = id_path.read_text(encoding="utf-8").strip() if id_path.is_file() else ""
        if not run_id:
            run_id = uuid.uuid4().hex[:12]
            id_path.write_text(run_id + "\n", encoding="utf-8")
        self.run = wandb.init(project=project, entity=entity, name=run_dir.name, id=run_id, resume="allow",
                              dir=str(run_dir), config=config)  # fmt: skip

    def log(self, row: dict[str, Any], scalars: Iterable[str]) -> None:
        data = {k: row[k] for k in scalars if isinstance(row.get(k), (int, float)) and math.isfinite(row[k])}
        self.run.log(data, step=int(row["global_step"]))

    def close(self) -> None:
        self.run.finish()
