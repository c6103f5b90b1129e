"""The time plots and the feature projection of the offscreen dashboard: intrinsic motivation (r_int over
the distillation error), the two values with the game's rewards marked, and the projected target features
coloured by room or by time. A part of :class:`snd_player.media.dashboard.Dashboard`, which owns the image,
the fonts, the pens and the plot geometry these methods paint with."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PyQt6.QtCore import QPointF, QRect, QRectF, Qt
from PyQt6.QtGui import QColor, QFontMetrics, QPainter, QPen

from snd_player.core.timeline import EpisodeTimeline
from snd_player.media import theme
from snd_player.media.dashboard_layout import DashboardInfo, Layout
from snd_player.media.painting import (
    _STAR,
    _TRIANGLE,
    _color,
    _Plot,
    data_range,
    fmt_tick,
    nice_ticks,
    peak_downsample,
)

if TYPE_CHECKING:
    from snd_player.core.projection import FeatureProjector


class DashboardPlots:
    """Paints the intrinsic, values and projection panels (a base of ``Dashboard``; see the module doc)."""

    info: DashboardInfo
    layout: Layout
    _int: _Plot
    _err: _Plot
    _val: _Plot
    _proj: _Plot
    _projector: FeatureProjector

    def _axes(
        self,
        p: QPainter,
        plot: _Plot,
        x_hi: float,
        left: tuple[float, float] | None,
        right: tuple[float, float] | None,
        left_color: str,
        right_color: str,
        x_labels: bool = True,
    ) -> None:
        """Grid, x ticks (episode steps, labelled unless ``x_labels`` is False) and the tick labels of the
        left and right y axes."""
        a = plot.area
        p.setFont(self._f_tick)
        grid = self._pen(theme.GRID)
        xt = nice_ticks(0, x_hi, 6)
        for v in xt:
            x = int(plot.x_of(v, x_hi))
            p.setPen(grid)
            p.drawLine(x, a.top(), x, a.bottom())
            if x_labels:
                p.setPen(QColor(theme.MUTED))
                p.drawText(QRectF(x - 30, a.bottom() + 3, 60, 14), Qt.AlignmentFlag.AlignHCenter, f"{v:g}")
        for rng, color, is_left in ((left, left_color, True), (right, right_color, False)):
            if rng is None:
                continue
            lo, hi = rng
            ticks = nice_ticks(lo, hi, 4)
            step = ticks[1] - ticks[0] if len(ticks) > 1 else abs(hi - lo)
            for v in ticks:
                y = int(plot.y_of(v, lo, hi))
                if is_left:
                    p.setPen(grid)
                    p.drawLine(a.left(), y, a.right(), y)
                p.setPen(_color(color, 220))
                label = fmt_tick(v, step)
                if is_left:
                    p.drawText(
                        QRectF(a.left() - 52, y - 7, 48, 14),
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                        label,
                    )
                else:
                    p.drawText(
                        QRectF(a.right() + 5, y - 7, 50, 14),
                        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                        label,
                    )
        p.setPen(self._pen(theme.GRID))
        p.drawRect(a)

    def _curve(
        self,
        p: QPainter,
        plot: _Plot,
        slot: int,
        y: np.ndarray,
        x_hi: float,
        rng: tuple[float, float],
        color: str,
        bold: bool = False,
    ) -> None:
        if y.size == 0:
            return
        xs, ys = peak_downsample(y, plot.area.width())
        px, py = plot.x_of(xs, x_hi), plot.y_of(ys, *rng)
        p.setPen(self._pen(color, 1.0))
        # a 1-pixel pen takes Qt's fast path; a wider pen costs ten times more, so a bold curve is the
        # same polyline drawn twice, one pixel apart
        for dy in (0.0, 1.0) if bold else (0.0,):
            poly = self._poly[slot].fill(px, py + dy)
            if y.size == 1:
                p.drawPoint(poly[0])
            else:
                p.drawPolyline(poly)

    def _driven(self, p: QPainter, plots: tuple[_Plot, ...], tl: EpisodeTimeline, n: int, x_hi: float) -> None:
        """The steps a person drove (drive mode) as translucent bands behind the curves, as in the window."""
        spans = tl.driven_spans(n)
        if not spans:
            return
        band = _color(theme.DRIVEN, 60)
        for plot in plots:
            a = plot.area
            for s, e in spans:
                x0, x1 = float(plot.x_of(s - 0.5, x_hi)), float(plot.x_of(e - 0.5, x_hi))
                p.fillRect(QRectF(max(x0, a.left()), a.top(), max(x1 - x0, 1.0), a.height()), band)

    def _cursor(self, p: QPainter, plot: _Plot, t: int, x_hi: float) -> None:
        x = float(plot.x_of(t, x_hi))
        p.setPen(self._cursor_pen)
        p.drawLine(QPointF(x, plot.area.top()), QPointF(x, plot.area.bottom()))

    @staticmethod
    def _x_hi(n: int) -> float:
        # the whole episode so far, in steps of 256 so the axis does not crawl every frame (as the window)
        return float(max(256, int(math.ceil((n + 1) / 256.0)) * 256))

    def _draw_intrinsic(self, p: QPainter, tl: EpisodeTimeline, n: int, t: int) -> None:
        plot, x_hi = self._int, self._x_hi(n)
        if not self.info.has_motivation:
            self._axes(p, plot, x_hi, None, None, theme.R_INT, theme.ERROR, x_labels=False)
            self._axes(p, self._err, x_hi, None, None, theme.R_INT, theme.ERROR)
            p.setFont(self._f_text)
            p.setPen(QColor(theme.MUTED))
            p.drawText(
                plot.area, Qt.AlignmentFlag.AlignCenter, f"no intrinsic motivation ({self.info.algo.upper()})"
            )
            return
        r = tl.array("r_int")[:n]
        e = tl.array("int_error")[:n]
        lr = data_range(r, include_zero=True)
        rr = data_range(e, include_zero=True)
        self._axes(p, plot, x_hi, lr, None, theme.R_INT, theme.ERROR, x_labels=False)
        self._axes(p, self._err, x_hi, rr, None, theme.ERROR, theme.ERROR)
        self._driven(p, (plot, self._err), tl, n, x_hi)
        changes = tl.room_changes()
        changes = changes[changes < n]
        if changes.size:
            p.setPen(self._pen(theme.ROOM_LINE, 1.0, dash=True))
            p.setFont(self._f_tick)
            room = tl.array("room")
            last_label = -1e9
            a, b = plot.area, self._err.area
            for c in changes:
                x = float(plot.x_of(float(c), x_hi))
                p.drawLine(QPointF(x, a.top()), QPointF(x, a.bottom()))
                p.drawLine(QPointF(x, b.top()), QPointF(x, b.bottom()))
                if x - last_label > 34:  # label the room entered, unless it would overlap the previous one
                    p.drawText(QPointF(x + 2, a.top() + 11), str(int(room[c])))
                    last_label = x
        self._curve(p, self._err, 0, e, x_hi, rr, theme.ERROR)
        self._curve(p, plot, 1, r, x_hi, lr, theme.R_INT, bold=True)
        self._cursor(p, plot, t, x_hi)
        self._cursor(p, self._err, t, x_hi)

    def _draw_values(self, p: QPainter, tl: EpisodeTimeline, n: int, t: int) -> None:
        plot, x_hi = self._val, self._x_hi(n)
        ve = tl.array("v_ext")[:n]
        vi = tl.array("v_int")[:n]
        lr = data_range(ve)
        rr = data_range(vi)
        self._axes(p, plot, x_hi, lr, rr, theme.V_EXT, theme.V_INT)
        self._driven(p, (plot,), tl, n, x_hi)
        self._curve(p, plot, 2, vi, x_hi, rr, theme.V_INT)
        self._curve(p, plot, 3, ve, x_hi, lr, theme.V_EXT, bold=True)
        raw = tl.array("raw_reward")[:n]
        for hits, color, shape in (
            (np.flatnonzero(raw > 0), theme.R_EXT, _STAR),
            (np.flatnonzero(raw < 0), theme.R_NEG, _TRIANGLE),  # a penalty is not a find
        ):
            if not hits.size:
                continue
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.setPen(self._pen("#000000", 0.6))
            p.setBrush(QColor(color))
            xs = plot.x_of(hits.astype(np.float64), x_hi)
            ys = plot.y_of(ve[hits], *lr)
            for x, y in zip(xs[-64:], ys[-64:]):
                p.drawPolygon([QPointF(x + 7 * dx, y + 7 * dy) for dx, dy in shape])
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self._cursor(p, plot, t, x_hi)

    def _markers_legend(self, p: QPainter, r: QRect) -> None:
        """Right end of the values title line: the two reward markers."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setFont(self._f_small)
        fm = QFontMetrics(self._f_small)
        x, y = r.right() - 10, r.y() + 13
        for label, color, shape in (
            ("reward < 0", theme.R_NEG, _TRIANGLE),
            ("reward > 0", theme.R_EXT, _STAR),
        ):
            x -= fm.horizontalAdvance(label)
            p.setPen(QColor(theme.MUTED))
            p.drawText(x, y + 4, label)
            x -= 12
            p.setPen(self._pen("#000000", 0.6))
            p.setBrush(QColor(color))
            p.drawPolygon([QPointF(x + 6 * dx, y + 6 * dy) for dx, dy in shape])
            x -= 18
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def _draw_projection(self, p: QPainter, tl: EpisodeTimeline, n: int, t: int) -> None:
        """The window's feature projection: this episode's target features on their two main directions
        (the same incremental PCA, fed with the recorded steps), coloured by room or by time."""
        plot = self._proj
        a = plot.area
        feats = tl.features[:n]
        if not self.info.has_motivation or feats.shape[1] == 0:
            p.setFont(self._f_small)
            p.setPen(QColor(theme.MUTED))
            p.drawText(a, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, "no target features")
            return
        episode, fed = self._proj_state
        if episode != tl.episode:
            fed = 0
        for i in range(fed, n):
            self._projector.add(feats[i])
        self._proj_state = (tl.episode, n)
        basis = self._projector.basis
        if basis is None:
            p.setFont(self._f_small)
            p.setPen(QColor(theme.MUTED))
            p.drawText(a, Qt.AlignmentFlag.AlignCenter, "collecting features for the first fit…")
            return
        xy = basis.project(feats).astype(np.float64)  # (n, 2)
        (x_lo, x_hi), (y_lo, y_hi) = data_range(xy[:, 0]), data_range(xy[:, 1])
        px = a.x() + (xy[:, 0] - x_lo) / (x_hi - x_lo) * (a.width() - 1)
        py = a.y() + (1.0 - (xy[:, 1] - y_lo) / (y_hi - y_lo)) * (a.height() - 1)
        room, level = tl.array("room")[:n], tl.array("level")[:n]
        if (room >= 0).any():  # by room, as the window does for games with rooms
            keys = np.maximum(level, 0).astype(np.int64) * 1000 + np.maximum(room, 0)
            colors = {int(k): theme.room_color(int(k) // 1000, int(k) % 1000) for k in np.unique(keys)}
        else:  # by time
            keys = np.minimum(np.arange(n) // theme.TIME_SPAN, len(theme.TIME_COLORS) - 1)
            colors = {int(k): QColor(theme.TIME_COLORS[int(k)]) for k in np.unique(keys)}
        for k, color in colors.items():
            sel = keys == k
            p.setPen(QPen(color, 3.0))
            p.drawPoints(self._poly[4].fill(px[sel], py[sel]))
        c = min(max(t, 0), n - 1)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(self._pen("#ffffff", 2.0))
        p.drawEllipse(QPointF(px[c], py[c]), 6.0, 6.0)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
