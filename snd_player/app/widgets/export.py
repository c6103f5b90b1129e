"""Right-click on a panel: save it as a PNG, or the data it draws as CSV."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

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


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


class ExportMenu:
    """A context menu on a panel with "Save image (PNG)…" and, given ``columns``, "Save data (CSV)…".

    The menu is asked for by the widget itself, not its viewport: a graphics view hands the viewport's
    context-menu event to its own ``event()``, which looks at the view's policy (set on the viewport, as
    before issue 27, no menu opened on the plots). A panel of several plots (the training panel) gets the
    event from a child plot that ignores it (its pyqtgraph menu is off)."""

    def __init__(self, widget: QWidget, name: str, columns: Columns | None) -> None:
        self.widget, self.name, self.columns = widget, name, columns
        self.said = ""  # the last line said about a save (also shown in the window's status bar)
        widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        widget.customContextMenuRequested.connect(lambda pos: self.menu().exec(widget.mapToGlobal(pos)))

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
            self.save(Path(out) if Path(out).suffix else Path(out).with_suffix(suffix))

    def save(self, path: str | Path) -> bool:
        """Save by the name's ending: ``.csv`` the data, an image ending the picture; anything else is said
        (a ``.csv`` typed into "Save image" wrote nothing and said nothing)."""
        path = Path(path)
        suffix = path.suffix.lower()
        try:
            if suffix == ".csv":
                if self.columns is None:
                    return self._say(f"{path.name}: the {self.name} panel has no data to save as CSV; "
                                     "save it as an image (.png)", ok=False)  # fmt: skip
                n = self.save_csv(path)
                return self._say(f"saved {n} rows of {self.name} to {path}", ok=True)
            if suffix not in IMAGE_SUFFIXES:
                return self._say(
                    f"{path.name}: expected a name ending .png (image) or .csv (data)", ok=False
                )
            if not self.save_png(path):
                return self._say(f"could not write {path}", ok=False)
        except OSError as e:
            return self._say(f"could not write {path}: {e.strerror or e}", ok=False)
        return self._say(f"saved {path}", ok=True)

    def _say(self, text: str, ok: bool) -> bool:
        self.said = text
        win = self.widget.window()
        bar = getattr(win, "statusBar", None)
        if callable(bar):
            bar().showMessage(text, 8000)
        elif not ok:
            QMessageBox.warning(self.widget, "Save", text)
        return ok

    def save_png(self, path: str | Path) -> bool:
        return self.widget.grab().save(str(path))

    def save_csv(self, path: str | Path) -> int:
        assert self.columns is not None
        return write_csv(path, self.columns())
