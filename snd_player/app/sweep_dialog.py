"""The runs of a sweep folder (or any folder of runs) as a list: last score and rooms of each; open one, or
select two and compare them. The list comes from ``trainer.sweep.sweep_table`` (no Qt there)."""

from __future__ import annotations

import sys
from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from trainer.sweep import RunRow, is_sweep_like, sweep_table

COLUMNS = ("run", "algo", "env", "seed", "step", "score", "rooms", "state")


def _cells(r: RunRow) -> tuple[str, ...]:
    state = "finished" if r.finished else (f"stopped at {r.step:,} of {r.total:,}" if r.total else "")
    return (r.name, r.algo, r.env, "" if r.seed is None else str(r.seed), f"{r.step:,}",
            _score(r.score), "-" if r.rooms is None else str(r.rooms), state)  # fmt: skip


def _score(v: float | None) -> str:
    """Whole points from 100 on; three figures below, where a tiny run's 0.5 would otherwise read 0."""
    return "-" if v is None else (f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}")


class SweepDialog(QDialog):
    """Pick one run to open (double-click or Open) or two to compare (Compare)."""

    def __init__(self, parent: QWidget | None, folder: Path) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.rows = sweep_table(self.folder)
        self.picked: tuple[Path, ...] = ()
        self.setWindowTitle(f"snd-player: runs of {self.folder}")
        self.resize(900, 420)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"{len(self.rows)} runs in {self.folder}: open one, or select two and compare"))
        self.table = QTableWidget(len(self.rows), len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for i, r in enumerate(self.rows):
            for j, text in enumerate(_cells(r)):
                item = QTableWidgetItem(text)
                if j >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, parent=self)
        self.open_button = QPushButton("Open")
        self.compare_button = QPushButton("Compare")
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.compare_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.rejected.connect(self.reject)
        self.open_button.clicked.connect(lambda: self._pick(1))
        self.compare_button.clicked.connect(lambda: self._pick(2))
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.cellDoubleClicked.connect(lambda row, _col: self._pick_rows([row]))
        lay.addWidget(buttons)
        self._update_buttons()

    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.table.selectedIndexes()})

    def _update_buttons(self) -> None:
        n = len(self.selected_rows())
        self.open_button.setEnabled(n == 1)
        self.compare_button.setEnabled(n == 2)

    def _pick(self, n: int) -> None:
        rows = self.selected_rows()
        if len(rows) == n:
            self._pick_rows(rows)

    def _pick_rows(self, rows: list[int]) -> None:
        self.picked = tuple(self.rows[i].path for i in rows)
        self.accept()


def pick_from_sweep(folder: Path) -> tuple[Path, ...] | None:
    """None when ``folder`` is no folder of runs; else the runs picked in the dialog (empty when cancelled)."""
    if not is_sweep_like(folder):
        return None
    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841  (the dialog needs one)
    from snd_player.app.lifetime import destroy_now

    dlg = SweepDialog(None, folder)
    dlg.exec()
    picked = dlg.picked
    destroy_now(dlg)  # now, not whenever the cycle collector gets to it (see snd_player.app.lifetime)
    return picked
