"""A per-step curve that repaints only the steps that changed.

A pyqtgraph ``PlotDataItem`` announces a new bounding rectangle with every ``setData``, and Qt then repaints
the whole plot area: background, grid, every curve, legend and cursor, 60 times a second, although one
more step changes a strip a few pixels wide. :class:`GrowingCurve` keeps a copy of the values it shows;
``setData`` finds the first step that differs and asks for a repaint of the strip from there to the end,
and ``paint`` draws only the steps inside the rectangle Qt exposes. Its bounding rectangle is the view's
visible area, which changes only with the view's range (``X_STEP`` steps, sticky y ranges).

The item draws one polyline of x = 0, 1, ... n-1 against y with a 1-pixel cosmetic pen (STYLE.md item 8:
created once, updated with ``setData``). It offers what the rest of the player and pyqtgraph's legend read
of a ``PlotDataItem``: ``xData``/``yData``, ``getData`` and ``opts``.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtWidgets import QGraphicsItem

MARGIN_PX = 3.0
"""Pixels added on both sides of a repainted strip: the pen and Qt's rounding to whole pixels."""


class GrowingCurve(pg.GraphicsObject):
    def __init__(self, pen: object) -> None:
        super().__init__()
        self._pen = pg.mkPen(pen)
        self._pen.setCosmetic(True)
        # no cap: a strip draws a piece of the polyline, and a square cap at the piece's first point put a
        # pixel on a peak that the whole polyline does not have
        self._pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        # what LegendItem's sample reads of a curve
        self.opts = {"pen": self._pen, "symbol": None, "fillLevel": None, "antialias": False}
        self._y = np.zeros(0, np.float64)
        self._bounds: QRectF | None = None
        self.strips = 0
        """Partial repaints asked for (tests read it)."""
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    # -- data -----------------------------------------------------------------------------------------------
    @property
    def yData(self) -> np.ndarray | None:  # noqa: N802 - pyqtgraph's name
        return self._y if self._y.size else None

    @property
    def xData(self) -> np.ndarray | None:  # noqa: N802 - pyqtgraph's name
        return np.arange(self._y.size, dtype=np.float64) if self._y.size else None

    def getData(self) -> tuple[np.ndarray | None, np.ndarray | None]:  # noqa: N802 - pyqtgraph's name
        return self.xData, self.yData

    def setData(self, y: np.ndarray) -> None:  # noqa: N802 - pyqtgraph's name
        """Show ``y`` (one value per step, copied); repaint from the first step that changed."""
        new = np.array(y, dtype=np.float64)
        old = self._y
        m = min(old.size, new.size)
        diff = np.flatnonzero(old[:m] != new[:m])
        first = int(diff[0]) if diff.size else m
        if first == m and old.size == new.size:
            return
        self._y = new
        self._repaint_from(first, max(old.size, new.size))

    def _repaint_from(self, first: int, end: int) -> None:
        view = self.viewRect()
        px = self.pixelWidth()
        if first == 0 or view is None or not px:
            self.update()
            return
        margin = MARGIN_PX * px
        x0 = first - 1 - margin  # the segment into the first changed step changes too
        x1 = end - 1 + margin
        self.strips += 1
        self.update(QRectF(x0, view.top(), x1 - x0, view.height()))

    # -- geometry -------------------------------------------------------------------------------------------
    def viewTransformChanged(self) -> None:  # noqa: N802 - pyqtgraph's name
        super().viewTransformChanged()
        self.prepareGeometryChange()  # the visible area moved: Qt repaints the whole item once
        self._bounds = None

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt name
        if self._bounds is None:
            view = self.viewRect()
            if view is None:  # not in a view yet
                return QRectF()
            self._bounds = QRectF(view)
        return self._bounds

    # -- drawing --------------------------------------------------------------------------------------------
    def paint(self, p, opt, widget) -> None:  # noqa: ANN001 - Qt's signature
        n = self._y.size
        if n == 0:
            return
        r = opt.exposedRect
        # a few pixels' worth of steps beyond the exposed rectangle, so the piece's ends are clipped away
        extra = 2 + math.ceil(MARGIN_PX * (self.pixelWidth() or 1.0))
        i0 = max(0, math.floor(r.left()) - extra)
        i1 = min(n, math.ceil(r.right()) + extra + 1)
        if i1 - i0 < 1:
            return
        p.setPen(self._pen)
        if i1 - i0 == 1:
            p.drawPoint(pg.QtCore.QPointF(float(i0), float(self._y[i0])))
            return
        poly = pg.functions.create_qpolygonf(i1 - i0)
        xy = pg.functions.ndarray_from_qpolygonf(poly)
        xy[:, 0] = np.arange(i0, i1)
        xy[:, 1] = self._y[i0:i1]
        p.drawPolyline(poly)
