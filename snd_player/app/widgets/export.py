"""Right-click on a panel: save it as a PNG, or the data it draws as CSV."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QFileDialog, QMenu, QWidget

Columns = Callable[[], dict[str, np.ndarray]]
"""The panel's data as named columns of equal length (what the CSV holds)."""


def write_csv(path: str | Path, columns: dict[str, np.ndarray]) -> int:
    """Write the columns side by side with a header line; returns the number of data rows."""
    names = list(columns)
    arrays = [np.asarray(columns[k]) for k in names]
    n = min((len(a) for a in arrays), default=0)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(names)
        for i in range(n):
            w.writerow([a[i].item() if hasattr(a[i], "item") else a[i] for a in arrays])
    return n


class ExportMenu:
    """A context menu on a panel with "Save image (PNG)…" and, given ``columns``, "Save data (CSV)…"."""

    def __init__(self, widget: QWidget, name: str, columns: Columns | None) -> None:
        self.widget, self.name, self.columns = widget, name, columns
        # a graphics view gets its mouse through the viewport, which is where the context menu event lands
        target = widget.viewport() if hasattr(widget, "viewport") else widget
        target.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        target.customContextMenuRequested.connect(lambda pos: self.menu().exec(target.mapToGlobal(pos)))

    def menu(self) -> QMenu:
        menu = QMenu(self.widget)
        menu.addAction("Save image (PNG)…", lambda: self._ask("Save image", ".png", "PNG images (*.png)"))
        if self.columns is not None:
            menu.addAction("Save data (CSV)…", lambda: self._ask("Save data", ".csv", "CSV files (*.csv)"))
        return menu

    def _ask(self, title: str, suffix: str, filt: str) -> None:
        out, _ = QFileDialog.getSaveFileName(
            self.widget, title, str(Path.cwd() / f"{self.name}{suffix}"), filt
        )
        if out:
            path = Path(out) if Path(out).suffix else Path(out).with_suffix(suffix)
            self.save_png(path) if suffix == ".png" else self.save_csv(path)

    def save_png(self, path: str | Path) -> bool:
        return self.widget.grab().save(str(path))

    def save_csv(self, path: str | Path) -> int:
        assert self.columns is not None
        return write_csv(path, self.columns())
