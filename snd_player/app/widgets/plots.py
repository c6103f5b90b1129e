"""Scrolling per-frame plots of the episode: intrinsic motivation and the two value heads.

Items are created once and updated with ``setData`` (pyqtgraph's ``scrollingPlots.py``). The curves are
:class:`~snd_player.app.widgets.growing_curve.GrowingCurve` items: one more step repaints a strip a few pixels
wide, not the plot.

Drawing cost is dominated by the axes, not the curves: re-rendering an axis with its grid costs several
times more than a 4500-point curve in Qt's software rasteriser. So axes are cached as pixmaps
(``theme.style_plot``) and the ranges move as rarely as possible: x in steps of 256, y only when the data
leave the current range, then with headroom (:class:`StickyRange`).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt

from snd_player.app.widgets import theme
from snd_player.app.widgets.growing_curve import GrowingCurve
from snd_player.app.widgets.repaint import repaint_on_range_change
from snd_player.core.timeline import EpisodeTimeline

X_STEP = 256


def _curve(view, color: str) -> GrowingCurve:
    # 1-pixel pens: Qt draws those as plain polylines; wider ones need segment lists at twice the cost
    item = GrowingCurve(pg.mkPen(color, width=1))
    view.addItem(item, ignoreBounds=True)  # ranges are set here (StickyRange), never auto
    return item


class RescaleBudget:
    """How many axes may move in the frame being drawn. Re-rendering one axis (ticks, labels, grid) costs
    about 3 ms in pyqtgraph, and a frame that moved two or three overran its 16.7 ms; an axis that has to
    wait leaves its newest points outside the view for a frame or two. ``left`` None: no limit (paused,
    tests)."""

    def __init__(self) -> None:
        self.left: int | None = None

    def allow(self) -> bool:
        if self.left is None:
            return True
        if self.left > 0:
            self.left -= 1
            return True
        return False


UNLIMITED = RescaleBudget()


LEGEND_HEADROOM = 0.75
"""Space above the r_int curve's highest point, as a share of its span: the top 40 % of the plot stays free
for the legend (1 / 1.75 = 57 % of the height holds the data)."""


class StickyRange:
    """An expand-only y range with headroom, reset at each episode, so axes rarely need redrawing."""

    def __init__(self, headroom: float = 0.3, include_zero: bool = False) -> None:
        self.headroom = headroom
        self.include_zero = include_zero
        self.lo: float | None = None
        self.hi: float | None = None
        self.waiting = False
        """A move was refused by the frame's budget: the data are partly outside the range."""

    def reset(self) -> None:
        self.lo = self.hi = None
        self.waiting = False

    def refit(
        self, data: np.ndarray, min_fill: float = 0.4, budget: RescaleBudget = UNLIMITED
    ) -> tuple[float, float] | None:
        """After the data were replaced, not extended: keep the current range while the data fit in it and
        span at least ``min_fill`` of it, else start afresh; returns the new range, or None when kept."""
        if data.size and self.lo is not None and self.hi is not None:
            lo, hi = float(data.min()), float(data.max())
            if self.lo <= lo and hi <= self.hi and hi - lo >= min_fill * (self.hi - self.lo):
                return None
        if not budget.allow():
            self.waiting = True
            return None  # the next frame tries again
        self.reset()
        return self.update(data)

    def update(self, data: np.ndarray, budget: RescaleBudget = UNLIMITED) -> tuple[float, float] | None:
        """The new range when ``data`` leave the current one (and ``budget`` allows a move), else None."""
        if data.size == 0:
            return None
        lo, hi = float(data.min()), float(data.max())
        if self.include_zero:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        if self.lo is not None and self.hi is not None and lo >= self.lo and hi <= self.hi:
            return None
        if not budget.allow():
            self.waiting = True
            return None  # the next frame tries again
        span = max(hi - lo, abs(hi) * 0.05, 1e-6)
        new_lo = lo if (self.include_zero and lo == 0.0) else lo - self.headroom * span
        new_hi = hi + self.headroom * span
        if self.lo is not None and self.hi is not None:
            new_lo, new_hi = min(new_lo, self.lo), max(new_hi, self.hi)
        self.lo, self.hi = new_lo, new_hi
        self.waiting = False
        return new_lo, new_hi


def _time_plot(plot: pg.PlotItem, left: str, color: str) -> None:
    theme.style_plot(plot)
    plot.setLabel("left", left, color=color)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setXRange(0, X_STEP, padding=0)
    plot.disableAutoRange()
    # the axis grows with its widest tick text (a fixed width put "V_ext" on top of "-0.0001"); it never
    # shrinks within a session, so the plot does not jitter sideways as ranges change
    for name in ("left", "right"):
        plot.getAxis(name).setStyle(autoExpandTextSpace=True, autoReduceTextSpace=False)


def align_axes(axes: list[pg.AxisItem]) -> None:
    """Give stacked plots' left axes the width of the widest, so their x axes line up."""
    w = max(a.textWidth for a in axes)
    for a in axes:
        if a.textWidth != w:
            a.textWidth = w
            a._updateWidth()  # pyqtgraph's own resize after a text-width change


class FittedLabel:
    """An axis label that falls back to a short form when the long one is taller than its axis (at
    1280x720 "r_int (trained on)" and "distillation error" ran into each other)."""

    def __init__(self, plot: pg.PlotItem, side: str, full: str, short: str, color: str) -> None:
        self.axis, self.full, self.short, self.color = plot.getAxis(side), full, short, color
        self.text = full
        plot.vb.sigResized.connect(self.fit)

    def fit(self, *_: object) -> None:
        self.axis.setLabel(self.full, color=self.color)  # measure the long form at the current font
        room = self.axis.geometry().height()
        text = self.full if self.axis.label.boundingRect().width() <= room - 4 else self.short
        if text != self.full:
            self.axis.setLabel(text, color=self.color)
        self.text = text


def _cursor(plot: pg.PlotItem) -> pg.InfiniteLine:
    line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.CURSOR, width=1))
    line.setZValue(20)
    plot.addItem(line, ignoreBounds=True)
    return line


class DrivenBands:
    """Steps a person drove (drive mode) as translucent bands behind a plot's curves, one region item per
    run of driven steps; items are kept and moved, and touched only when the runs change."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.spans: list[tuple[int, int]] = []
        self.items: list[pg.LinearRegionItem] = []
        color = pg.mkColor(theme.DRIVEN)
        color.setAlpha(60)
        self._brush = pg.mkBrush(color)

    def update(self, spans: list[tuple[int, int]]) -> None:
        if spans == self.spans:
            return
        self.spans = list(spans)
        while len(self.items) < len(spans):
            item = pg.LinearRegionItem(
                movable=False, brush=self._brush, pen=pg.mkPen(None), orientation="vertical"
            )
            item.setZValue(-10)
            self.plot.addItem(item, ignoreBounds=True)
            self.items.append(item)
        for i, item in enumerate(self.items):
            if i < len(spans):
                a, b = spans[i]
                item.setRegion((a - 0.5, b - 0.5))
            item.setVisible(i < len(spans))


class _Follow:
    """Mixin: follow the whole episode until the user pans or zooms; a double-click follows again."""

    def _init_follow(self, plots: list[pg.PlotItem]) -> None:
        self._follow = True
        self.budget = UNLIMITED  # the window sets its per-frame budget
        self._x_waiting = False
        self._n_drawn = -1
        self._x_hi = 0
        self._last_args: tuple | None = None
        for p in plots:
            p.vb.sigRangeChangedManually.connect(self._stop_following)
        # curves repaint only the strips they change (GrowingCurve); a range or the layout moving (X_STEP
        # steps, sticky y ranges, an axis growing wider) repaints the whole view
        repaint_on_range_change(self, [p.vb for p in plots])
        self.scene().sigMouseClicked.connect(self._double_click)

    def _stop_following(self, *_: object) -> None:
        self._follow = False

    def _double_click(self, ev) -> None:
        if ev.double():
            self._follow = True
            self._n_drawn = -1
            self._x_hi = 0
            self._reset_ranges()
            if self._last_args is not None:  # redraw now: paused, no new step would come to do it
                self.update_from(*self._last_args)

    def _reset_ranges(self) -> None:
        raise NotImplementedError

    def _x_range(self, plot: pg.PlotItem, n: int) -> None:
        hi = max(X_STEP, int(np.ceil((n + 1) / X_STEP)) * X_STEP)
        self._x_waiting = self._follow and hi != self._x_hi
        if self._x_waiting and self.budget.allow():
            self._x_hi = hi
            self._x_waiting = False
            plot.setXRange(0, hi, padding=0)

    def _waiting(self) -> bool:
        """A range move waits for a frame with budget (redraw even without a new step)."""
        return self._x_waiting or any(r.waiting for r in self._ranges())

    def _ranges(self) -> list[StickyRange]:
        raise NotImplementedError


class IntrinsicPlot(_Follow, pg.GraphicsLayoutWidget):
    """r_int as trained on (top) over the raw distillation error (bottom), room changes as dashed lines.

    r_int = clip(eta * error): on one axis pair the two curves would coincide until the clip bites, so each
    gets its own plot, x-linked."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.ci.setContentsMargins(2, 2, 6, 2)
        self.ci.setSpacing(0)
        self.p_r = self.addPlot(row=0, col=0)
        self.p_e = self.addPlot(row=1, col=0)
        _time_plot(self.p_r, "r_int (trained on)", theme.R_INT)
        _time_plot(self.p_e, "distillation error", theme.ERROR)
        self.labels = [
            FittedLabel(self.p_r, "left", "r_int (trained on)", "r_int", theme.R_INT),
            FittedLabel(self.p_e, "left", "distillation error", "error", theme.ERROR),
        ]
        self.p_e.setXLink(self.p_r)
        self.p_r.getAxis("bottom").setStyle(showValues=False)
        self.p_e.setLabel("bottom", "episode step", color=theme.MUTED)
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 2)
        self.reward = _curve(self.p_r, theme.R_INT)
        self.error = _curve(self.p_e, theme.ERROR)
        dash = pg.mkPen(theme.ROOM_LINE, width=1, style=Qt.PenStyle.DashLine)
        self.rooms_r = pg.PlotCurveItem(pen=dash)
        self.rooms_e = pg.PlotCurveItem(pen=dash)
        for p, item in ((self.p_r, self.rooms_r), (self.p_e, self.rooms_e)):
            item.setZValue(-5)
            p.addItem(item, ignoreBounds=True)
        self.cursors = [_cursor(self.p_r), _cursor(self.p_e)]
        # top right: the episode grows from the left, so that corner stays clear longest
        legend = pg.LegendItem(offset=(-10, 2), labelTextColor=theme.TEXT, labelTextSize="8pt", colCount=3)
        legend.setParentItem(self.p_r.vb)
        legend.setBrush(pg.mkBrush(20, 22, 27, 150))
        legend.addItem(self.reward, "r_int")
        legend.addItem(self.error, "error (below)")
        legend.addItem(pg.PlotDataItem(pen=dash), "room change")
        self.note = pg.TextItem("", color=theme.MUTED, anchor=(0.5, 0.5))
        self.p_r.addItem(self.note, ignoreBounds=True)
        # headroom for the legend in the top right: RND's r_int sits at 1.0 (normalised), which with the
        # usual 30 % ran under the legend at 1280x720 (issue 27 item 6)
        self.range_r = StickyRange(headroom=LEGEND_HEADROOM, include_zero=True)
        self.range_e = StickyRange(include_zero=True)
        self._changes: np.ndarray = np.zeros(0)
        self.enabled = True
        self.driven = [DrivenBands(self.p_r), DrivenBands(self.p_e)]
        self._init_follow([self.p_r, self.p_e])

    def _reset_ranges(self) -> None:
        self.range_r.reset()
        self.range_e.reset()

    def _ranges(self) -> list[StickyRange]:
        return [self.range_r, self.range_e]

    def set_no_motivation(self, algo: str) -> None:
        self.enabled = False
        self.note.setText(f"no intrinsic motivation ({algo.upper()})")
        self.note.setPos(X_STEP / 2, 0.5)
        self.p_r.setYRange(0, 1, padding=0)
        self.p_e.setYRange(0, 1, padding=0)

    def _marks(self, item: pg.PlotCurveItem, changes: np.ndarray, rng: StickyRange) -> None:
        if changes.size == 0 or rng.lo is None or rng.hi is None:
            item.setData([], [])
            return
        ys = np.tile(np.array([rng.lo, rng.hi], np.float64), changes.size)
        item.setData(np.repeat(changes.astype(np.float64), 2), ys, connect="pairs")

    def columns(self) -> dict[str, np.ndarray]:
        """What the plot draws, for Save data (CSV)."""
        if self._last_args is None:
            return {"step": np.zeros(0)}
        tl = self._last_args[0]
        return {
            "step": np.arange(len(tl)),
            "r_int": tl.array("r_int"),
            "distillation_error": tl.array("int_error"),
        }

    def update_from(self, tl: EpisodeTimeline, cursor: int, n: int | None = None) -> None:
        """Draw the first ``n`` steps of ``tl`` (default: all), the cursor at ``cursor``."""
        self._last_args = (tl, cursor, n)
        for c in self.cursors:
            c.setValue(cursor)
        n = len(tl) if n is None else min(n, len(tl))
        if n == self._n_drawn and not self._waiting():
            return
        if n < self._n_drawn:  # a new episode or a truncated one: ranges start afresh
            self._reset_ranges()
        self._n_drawn = n
        r, e = tl.array("r_int")[:n], tl.array("int_error")[:n]
        self.reward.setData(r)
        self.error.setData(e)
        changes = tl.room_changes()
        changes = changes[changes < n]
        follow = self._follow and self.enabled  # without motivation the [0, 1] range keeps the note in view
        new_r = self.range_r.update(r, self.budget) if follow else None
        new_e = self.range_e.update(e, self.budget) if follow else None
        if new_r is not None:
            self.p_r.setYRange(*new_r, padding=0)
        if new_e is not None:
            self.p_e.setYRange(*new_e, padding=0)
        if new_r is not None or new_e is not None or changes.size != self._changes.size:
            self._changes = changes
            self._marks(self.rooms_r, changes, self.range_r)
            self._marks(self.rooms_e, changes, self.range_e)
        spans = tl.driven_spans(n)
        for bands in self.driven:
            bands.update(spans)
        self._x_range(self.p_r, n)
        align_axes([self.p_r.getAxis("left"), self.p_e.getAxis("left")])


class ValuePlot(_Follow, pg.PlotWidget):
    """V_ext (left axis) and V_int (right axis) per step; steps with a game reward are starred."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.plot = self.getPlotItem()
        self.plot.layout.setContentsMargins(2, 2, 6, 2)  # room for the right axis' label
        _time_plot(self.plot, "V_ext", theme.V_EXT)
        self.plot.setLabel("bottom", "episode step", color=theme.MUTED)
        # a second y axis sharing x (pyqtgraph's MultiplePlotAxes example)
        self.right_view = pg.ViewBox(enableMenu=False)
        self.plot.showAxis("right")
        self.plot.scene().addItem(self.right_view)
        right = self.plot.getAxis("right")
        right.linkToView(self.right_view)
        right.setLabel("V_int", color=theme.V_INT)
        self.right_view.setXLink(self.plot)
        self.right_view.disableAutoRange()
        repaint_on_range_change(self, [self.right_view])
        self.plot.vb.sigResized.connect(self._sync_views)
        self.v_int = _curve(self.right_view, theme.V_INT)
        self.v_ext = _curve(self.plot, theme.V_EXT)
        self.rewards = pg.ScatterPlotItem(
            symbol="star", size=14, pen=pg.mkPen("#000000", width=0.5), brush=pg.mkBrush(theme.R_EXT)
        )
        # a penalty (Pitfall's -100 for a log) is not a find: another shape and colour
        self.penalties = pg.ScatterPlotItem(
            symbol="t", size=12, pen=pg.mkPen("#000000", width=0.5), brush=pg.mkBrush(theme.R_NEG)
        )
        for item in (self.rewards, self.penalties):
            item.setZValue(10)
            self.plot.addItem(item)
        # top right: the episode grows from the left, so that corner stays clear longest
        legend = pg.LegendItem(offset=(-10, 2), labelTextColor=theme.TEXT, labelTextSize="8pt", colCount=2)
        legend.setParentItem(self.plot.vb)
        legend.setBrush(pg.mkBrush(20, 22, 27, 150))
        legend.addItem(self.v_ext, "V_ext (left)")
        legend.addItem(self.v_int, "V_int (right)")
        legend.addItem(self.rewards, "reward &gt; 0")  # legend labels are HTML
        legend.addItem(self.penalties, "reward &lt; 0")
        self.cursor = _cursor(self.plot)
        self._stars: dict[int, tuple] = {}  # item -> (timeline, length, starred steps) drawn
        self.range_ext = StickyRange()
        self.range_int = StickyRange()
        self.driven = DrivenBands(self.plot)
        self._init_follow([self.plot])

    def _sync_views(self) -> None:
        self.right_view.setGeometry(self.plot.vb.sceneBoundingRect())
        self.right_view.linkedViewChanged(self.plot.vb, self.right_view.XAxis)

    def _reset_ranges(self) -> None:
        self.range_ext.reset()
        self.range_int.reset()

    def _ranges(self) -> list[StickyRange]:
        return [self.range_ext, self.range_int]

    def columns(self) -> dict[str, np.ndarray]:
        """What the plot draws, for Save data (CSV)."""
        if self._last_args is None:
            return {"step": np.zeros(0)}
        tl = self._last_args[0]
        return {
            "step": np.arange(len(tl)),
            "v_ext": tl.array("v_ext"),
            "v_int": tl.array("v_int"),
            "game_reward": tl.array("raw_reward"),
        }

    def update_from(self, tl: EpisodeTimeline, cursor: int, n: int | None = None) -> None:
        """Draw the first ``n`` steps of ``tl`` (default: all), the cursor at ``cursor``."""
        self._last_args = (tl, cursor, n)
        self.cursor.setValue(cursor)
        n = len(tl) if n is None else min(n, len(tl))
        if n == self._n_drawn and not self._waiting():
            return
        if n < self._n_drawn:
            self._reset_ranges()
        self._n_drawn = n
        v_ext, v_int = tl.array("v_ext")[:n], tl.array("v_int")[:n]
        self.v_ext.setData(v_ext)
        self.v_int.setData(v_int)
        raw = tl.array("raw_reward")[:n]
        for item, hits in (
            (self.rewards, np.flatnonzero(raw > 0)),
            (self.penalties, np.flatnonzero(raw < 0)),
        ):
            # a step's value never changes once played: re-set the stars only when the set of steps does
            # (re-setting them every frame cost more than drawing both curves)
            shown = self._stars.get(id(item))
            if shown is None or shown[0] is not tl or n < shown[1] or not np.array_equal(shown[2], hits):
                self._stars[id(item)] = (tl, n, hits)
                item.setData(hits.astype(np.float64), v_ext[hits])
        if self._follow:
            if (new := self.range_ext.update(v_ext, self.budget)) is not None:
                self.plot.setYRange(*new, padding=0)
            if (new := self.range_int.update(v_int, self.budget)) is not None:
                self.right_view.setYRange(*new, padding=0)
        self.driven.update(tl.driven_spans(n))
        self._x_range(self.plot, n)
