"""The training panel: a run's ``metrics.jsonl`` as curves, growing while the trainer writes.

Six small plots over agent steps, two a row: game score (mean and max per update), rooms (per episode and
cumulative), mean intrinsic reward, the PPO losses, the motivation's losses, and training speed. A dashed
line in each marks the step of the checkpoint being played; each title names its curves in their colours. Rows are fed in with :meth:`add_rows` (the
run controller reads them with :class:`trainer.runs.MetricsTail`, only the new bytes each poll), so
the panel itself never touches the file.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from snd_player.app.widgets import theme

# (title, [(metrics key, legend label, colour, dashed)])
PLOTS: tuple[tuple[str, tuple[tuple[str, str, str, bool], ...]], ...] = (
    ("score", (("score_mean", "mean", theme.ACCENT, False), ("score_max", "max", theme.R_EXT, False))),
    (
        "rooms",
        (
            ("rooms_episode_mean", "per ep.", theme.ROOM_LINE, False),
            ("rooms_total", "total", "#a3e635", False),
        ),
    ),
    ("intrinsic reward", (("r_int_mean", "r_int mean", theme.R_INT, False),)),
    (
        "PPO",
        (
            ("loss_policy", "policy", theme.ACCENT, False),
            ("loss_value_ext", "V_ext", "#74c0fc", False),
            ("loss_value_int", "V_int", theme.V_INT, False),
        ),
    ),
    (
        "loss",  # "motivation: predictor target" was cut at 1280x720 (issue 27 item 6)
        (("loss_predictor", "predictor", theme.ERROR, False), ("loss_target", "target", "#e599f7", False)),
    ),
    ("speed", (("steps_per_s", "steps/s", theme.TEXT, False),)),
)
KEYS = tuple(k for _, items in PLOTS for k, *_ in items)
SYMBOLS_BELOW = 40
"""Curves with fewer points than this draw a dot at each."""


def _value(row: dict[str, Any], key: str) -> float:
    v = row.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else float("nan")


def compact_steps(v: float) -> str:
    """Agent steps as a short tick label: 2k, 1.5M, 128M."""
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.4g}M"
    if a >= 1e3:
        return f"{v / 1e3:.4g}k"
    return f"{v:g}"


class StepAxis(pg.AxisItem):
    """An x axis of agent steps labelled 2k, 4k (a narrow plot has no room for 1000 2000 3000)."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        return [compact_steps(v * scale) for v in values]


class TrainingPanel(QWidget):
    """Curves of a run's metric rows; ``add_rows`` appends, ``clear_rows`` starts over, ``mark_step`` moves
    the checkpoint line.

    A grid of small plot widgets with QLabel titles rather than one pyqtgraph layout: a pyqtgraph title
    keeps its text's width as a minimum, which in a narrow dock pushed the second column out of view."""

    COLUMNS = 2

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(2)
        self.steps: list[float] = []
        self.values: dict[str, list[float]] = {k: [] for k in KEYS}
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.markers: list[pg.InfiniteLine] = []
        self.marked_step: int | None = None
        for i, (title, items) in enumerate(PLOTS):
            row, col = divmod(i, self.COLUMNS)
            # the legend is the title, in the curves' colours: small plots have no room for a legend box
            names = " ".join(f"<span style='color:{color}'>{label}</span>" for _, label, color, _ in items)
            label = QLabel(f"{title}: {names}" if len(items) > 1 else names)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            widget = pg.PlotWidget(axisItems={"bottom": StepAxis("bottom")})
            widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            widget.setMinimumHeight(60)
            plot = widget.getPlotItem()
            theme.style_plot(plot)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.getAxis("left").setWidth(40)
            for key, _label, color, dashed in items:
                pen = pg.mkPen(
                    color, width=1.5, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
                )
                self.curves[key] = plot.plot([], [], pen=pen, symbolSize=4, symbolPen=None, symbolBrush=color)
            marker = pg.InfiniteLine(
                angle=90, movable=False, pen=pg.mkPen(theme.CURSOR, width=1, style=Qt.PenStyle.DashLine)
            )
            marker.setVisible(False)
            plot.addItem(marker, ignoreBounds=True)
            self.markers.append(marker)
            self.plots[title] = plot
            grid.addWidget(label, 2 * row, col)
            grid.addWidget(widget, 2 * row + 1, col)
            grid.setRowStretch(2 * row + 1, 1)

    @property
    def rows(self) -> int:
        return len(self.steps)

    def clear_rows(self) -> None:
        self.steps.clear()
        for v in self.values.values():
            v.clear()
        self._redraw()

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        """Append metric rows (each with ``global_step``) and redraw."""
        rows = [r for r in rows if isinstance(r.get("global_step"), (int, float))]
        if not rows:
            return
        for r in rows:
            self.steps.append(float(r["global_step"]))
            for k in KEYS:
                self.values[k].append(_value(r, k))
        self._redraw()

    def mark_step(self, step: int | None) -> None:
        """The dashed line at the open checkpoint's step (None hides it)."""
        self.marked_step = step
        for m in self.markers:
            m.setVisible(step is not None)
            if step is not None:
                m.setValue(step)

    def columns(self) -> dict[str, np.ndarray]:
        """The rows drawn, for right-click → Save data (CSV): one column per curve, NaN where an
        update has no value."""
        return {"global_step": np.asarray(self.steps, np.float64)} | {
            k: np.asarray(v, np.float64) for k, v in self.values.items()
        }

    def curve_data(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) handed to the curve of ``key`` (rows without that value are left out)."""
        c = self.curves[key]
        if c.xData is None:
            return np.zeros(0), np.zeros(0)
        return np.asarray(c.xData), np.asarray(c.yData)

    def _redraw(self) -> None:
        x = np.asarray(self.steps, np.float64)
        for k, curve in self.curves.items():
            y = np.asarray(self.values[k], np.float64)
            ok = np.isfinite(y)
            # updates without a value (no episode ended in them: no score) are left out, and the line joins
            # the updates that have one; with few such points each gets a dot, so a lone one is visible
            curve.setData(x[ok], y[ok])
            curve.setSymbol("o" if ok.sum() < SYMBOLS_BELOW else None)
        if x.size:  # one step axis for all six, so the marked checkpoint lines up (a score may start late)
            for plot in self.plots.values():
                plot.setXRange(float(x[0]), float(x[-1]), padding=0.04)
