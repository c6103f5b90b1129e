"""Scrolling per-frame plots of the episode: intrinsic motivation and the two value heads.

Items are created once and updated with ``setData`` (pyqtgraph's ``scrollingPlots.py``); curves use peak
downsampling and clip to the visible range, so a 4500-step episode costs the same to draw as a short one.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from snd_player.timeline import EpisodeTimeline
from snd_player.widgets import theme


def _curve(plot_or_view, color: str, name: str | None = None, width: float = 1.4) -> pg.PlotDataItem:
    item = pg.PlotDataItem(pen=pg.mkPen(color, width=width), name=name)
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    plot_or_view.addItem(item)
    return item


class _TimePlot(pg.PlotWidget):
    """A plot over episode steps with a cursor at the current step and a second y axis on the right."""

    def __init__(self, title: str, left: tuple[str, str], right: tuple[str, str] | None, parent=None) -> None:
        super().__init__(parent=parent)
        self.plot = self.getPlotItem()
        theme.style_plot(self.plot)
        self.plot.setLabel("bottom", "episode step", color=theme.MUTED)
        self.plot.setLabel("left", left[0], color=left[1])
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setXRange(0, 256, padding=0)
        self.plot.enableAutoRange(axis="y")
        self.legend = self.plot.addLegend(offset=(8, 4), labelTextColor=theme.TEXT, labelTextSize="9pt")
        self.legend.setBrush(pg.mkBrush(20, 22, 27, 200))
        self.title = title
        self.right_view: pg.ViewBox | None = None
        if right is not None:
            # second y axis sharing x (pyqtgraph MultiplePlotAxes example)
            self.right_view = pg.ViewBox(enableMenu=False)
            self.plot.showAxis("right")
            self.plot.scene().addItem(self.right_view)
            self.plot.getAxis("right").linkToView(self.right_view)
            self.plot.getAxis("right").setLabel(right[0], color=right[1])
            self.right_view.setXLink(self.plot)
            self.right_view.enableAutoRange(axis="y")
            self.right_view.setZValue(-10)  # behind the left axis' curves
            self.plot.vb.sigResized.connect(self._sync_views)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.CURSOR, width=1, alpha=120))
        self.cursor.setZValue(20)
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self._n_drawn = -1
        self._follow = True
        self.plot.vb.sigRangeChangedManually.connect(self._stop_following)
        self.scene().sigMouseClicked.connect(self._double_click)

    def _sync_views(self) -> None:
        if self.right_view is not None:
            self.right_view.setGeometry(self.plot.vb.sceneBoundingRect())
            self.right_view.linkedViewChanged(self.plot.vb, self.right_view.XAxis)

    def _stop_following(self, *_: object) -> None:
        self._follow = False

    def _double_click(self, ev) -> None:
        if ev.double():
            self._follow = True
            self._n_drawn = -1

    def _x_range(self, n: int) -> None:
        if self._follow:
            # the whole episode so far, in steps of 256 so the axis does not crawl every frame
            hi = max(256, int(np.ceil((n + 1) / 256.0)) * 256)
            self.plot.setXRange(0, hi, padding=0)


class IntrinsicPlot(_TimePlot):
    """Raw distillation error (right axis) and the intrinsic reward trained on (left), room changes marked."""

    def __init__(self, parent=None) -> None:
        super().__init__(
            "intrinsic motivation",
            ("r_int", theme.R_INT),
            ("distillation error", theme.ERROR),
            parent,
        )
        assert self.right_view is not None
        # r_int = clip(eta * error): the two coincide on their own axes until the clip bites, so the error
        # is a filled area under the reward line rather than a second line hidden beneath the first
        self.error = _curve(self.right_view, theme.ERROR, width=1.0)
        err_fill = pg.mkColor(theme.ERROR)
        err_fill.setAlpha(70)
        self.error.setFillLevel(0.0)
        self.error.setFillBrush(pg.mkBrush(err_fill))
        self.reward = _curve(self.plot, theme.R_INT, "r_int (trained on, left)")
        self.legend.addItem(self.error, "distillation error (right, filled)")
        self.error.setZValue(-1)
        # room changes as vertical segments in a [0, 1] overlay view that follows the x axis
        self.marks_view = pg.ViewBox(enableMenu=False, enableMouse=False)
        self.plot.scene().addItem(self.marks_view)
        self.marks_view.setXLink(self.plot)
        self.marks_view.setYRange(0, 1, padding=0)
        self.marks_view.setZValue(-5)
        self.plot.vb.sigResized.connect(lambda: self.marks_view.setGeometry(self.plot.vb.sceneBoundingRect()))
        self.rooms = pg.PlotCurveItem(
            pen=pg.mkPen(theme.ROOM_LINE, width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
        )
        self.marks_view.addItem(self.rooms)
        self.rooms_label = pg.PlotDataItem(
            pen=pg.mkPen(theme.ROOM_LINE, width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
        )
        self.legend.addItem(self.rooms_label, "room change")
        self.note = pg.TextItem("", color=theme.MUTED, anchor=(0.5, 0.5))
        self.plot.addItem(self.note, ignoreBounds=True)

    def set_no_motivation(self, algo: str) -> None:
        self.note.setText(f"no intrinsic motivation ({algo.upper()})")
        self.note.setPos(128, 0.5)
        self.plot.setYRange(0, 1)

    def update_from(self, tl: EpisodeTimeline, cursor: int) -> None:
        n = len(tl)
        self.cursor.setValue(cursor)
        if n == self._n_drawn:
            return
        self._n_drawn = n
        x = np.arange(n, dtype=np.float32)
        r, e = tl.array("r_int"), tl.array("int_error")
        self.reward.setData(x, r)
        self.error.setData(x, e)
        if self._follow and n:
            # both axes from 0, so the reward line runs along the top of the error area until it is clipped
            self.plot.setYRange(0.0, max(float(r.max()), 1e-6) * 1.05, padding=0)
            assert self.right_view is not None
            self.right_view.setYRange(0.0, max(float(e.max()), 1e-6) * 1.05, padding=0)
        ch = tl.room_changes().astype(np.float32)
        if ch.size:
            xs = np.repeat(ch, 2)
            ys = np.tile(np.array([0.0, 1.0], np.float32), ch.size)
            self.rooms.setData(xs, ys, connect="pairs")
        else:
            self.rooms.setData([], [])
        self._x_range(n)


class ValuePlot(_TimePlot):
    """V_ext (left axis) and V_int (right axis) per step; steps with a game reward are starred."""

    def __init__(self, parent=None) -> None:
        super().__init__("values", ("V_ext", theme.V_EXT), ("V_int", theme.V_INT), parent)
        assert self.right_view is not None
        self.v_ext = _curve(self.plot, theme.V_EXT, "V_ext")
        self.v_int = _curve(self.right_view, theme.V_INT)
        self.legend.addItem(self.v_int, "V_int (right)")
        self.rewards = pg.ScatterPlotItem(
            symbol="star", size=13, pen=pg.mkPen("#000000", width=0.5), brush=pg.mkBrush(theme.R_EXT)
        )
        self.rewards.setZValue(10)
        self.plot.addItem(self.rewards)
        self.legend.addItem(self.rewards, "game reward")

    def update_from(self, tl: EpisodeTimeline, cursor: int) -> None:
        n = len(tl)
        self.cursor.setValue(cursor)
        if n == self._n_drawn:
            return
        self._n_drawn = n
        x = np.arange(n, dtype=np.float32)
        v_ext = tl.array("v_ext")
        self.v_ext.setData(x, v_ext)
        self.v_int.setData(x, tl.array("v_int"))
        hits = np.flatnonzero(tl.array("raw_reward") != 0)
        self.rewards.setData(x[hits], v_ext[hits])
        self._x_range(n)
