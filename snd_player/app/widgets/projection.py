"""Target features of the episode projected to 2-D (see ``snd_player.core.projection`` for why PCA).

Points are grouped, one long-lived scatter item per group, so a new frame only re-sends the points of its own
group: rooms for games that have them, stretches of 64 steps coloured by time otherwise (Procgen).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtGui import QColor

from snd_player.app.widgets import theme
from snd_player.app.widgets.plots import UNLIMITED, StickyRange
from snd_player.app.widgets.repaint import repaint_on_range_change
from snd_player.core.projection import Basis
from snd_player.core.timeline import EpisodeTimeline

TIME_BUCKET = 32
"""Steps per scatter item when colouring by time (a new step re-sends only its bucket's points)."""
TIME_SPAN, TIME_COLORS = theme.TIME_SPAN, theme.TIME_COLORS
TRAIL = 12


def time_span(t: int) -> int:
    """Index of the colour of step t."""
    return min(t // TIME_SPAN, len(TIME_COLORS) - 1)


def time_label(span: int) -> str:
    lo = span * TIME_SPAN
    return f"t {lo}+" if span == len(TIME_COLORS) - 1 else f"t {lo}-{lo + TIME_SPAN - 1}"


class ProjectionView(pg.PlotWidget):
    def __init__(self, by_room: bool, parent=None) -> None:
        super().__init__(parent=parent)
        self.plot = self.getPlotItem()
        theme.style_plot(self.plot)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "PC 1", color=theme.MUTED)
        self.plot.setLabel("left", "PC 2", color=theme.MUTED)
        self.plot.disableAutoRange()  # sticky ranges: axes are redrawn only when points leave the view
        repaint_on_range_change(self, [self.plot.vb])
        self.budget = UNLIMITED  # axes that may move this frame (the window sets it)
        self.range_x = StickyRange(headroom=0.2)
        self.range_y = StickyRange(headroom=0.2)
        self.by_room = by_room
        self.legend = pg.LegendItem(
            offset=(-4, 4), labelTextColor=theme.TEXT, labelTextSize="8pt", verSpacing=-6, colCount=2
        )
        self.legend.setParentItem(self.plot.vb)
        self.legend.setBrush(pg.mkBrush(20, 22, 27, 200))
        self._groups: dict[tuple[int, int], pg.ScatterPlotItem] = {}
        self._group_n: dict[tuple[int, int], int] = {}
        self.trail = pg.PlotDataItem(pen=pg.mkPen(theme.CURSOR, width=1))
        self.trail.setZValue(20)
        self.current = pg.ScatterPlotItem(
            size=14, symbol="o", pen=pg.mkPen("#ffffff", width=2), brush=pg.mkBrush(255, 255, 255, 40)
        )
        self.current.setZValue(21)
        self.plot.addItem(self.trail)
        self.plot.addItem(self.current)
        self.note = pg.TextItem("", color=theme.MUTED, anchor=(0.5, 0.5))
        self.plot.addItem(self.note, ignoreBounds=True)
        self.coords = np.zeros((0, 2), np.float32)
        self._basis: Basis | None = None
        self._n = 0
        self._episode = -1
        self._cursor = -1
        self.enabled = True

    def set_no_motivation(self, algo: str) -> None:
        self.enabled = False
        self.note.setText(f"no intrinsic motivation ({algo.upper()}): no target features")
        self.note.setPos(0, 0)
        self.plot.setXRange(-1, 1)
        self.plot.setYRange(-1, 1)

    def _group_key(self, level: int, room: int, t: int) -> tuple[int, int]:
        if self.by_room and room >= 0:
            return (max(level, 0), room)  # Pitfall reports rooms without levels (-1)
        return (-1, t // TIME_BUCKET)

    def _group_item(self, key: tuple[int, int]) -> pg.ScatterPlotItem:
        item = self._groups.get(key)
        if item is None:
            if key[0] >= 0:
                color = theme.room_color(*key)
                label = f"room {key[1]}" if key[0] == 0 else f"L{key[0] + 1} room {key[1]}"
            else:
                span = time_span(key[1] * TIME_BUCKET)
                color = QColor(TIME_COLORS[span])
                label = time_label(span)
            item = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(QColor(color)), name=label)
            self.plot.addItem(item)
            self._groups[key] = item
            t0 = key[1] * TIME_BUCKET
            if key[0] >= 0 or t0 == time_span(t0) * TIME_SPAN:  # time: one entry per colour
                self.legend.addItem(item, label)
        return item

    def _clear_groups(self) -> None:
        for item in self._groups.values():
            self.plot.removeItem(item)
        self.legend.clear()
        self._groups.clear()
        self._group_n.clear()

    def columns(self) -> dict[str, np.ndarray]:
        """What the plot draws, for Save data (CSV)."""
        n = len(self.coords)
        return {"step": np.arange(n), "pc1": self.coords[:, 0], "pc2": self.coords[:, 1]}

    def update_from(self, tl: EpisodeTimeline, basis: Basis | None, cursor: int, n: int | None = None) -> None:
        """Project the first ``n`` steps of ``tl`` (default: all), ring the one at ``cursor``."""
        if not self.enabled:
            return
        n = len(tl) if n is None else min(n, len(tl))
        if basis is None or n == 0:
            if n and self.note.textItem.toPlainText() == "":
                self.note.setText("collecting features for the first PCA fit…")
            return
        new_basis = basis is not self._basis
        new_episode = tl.episode != self._episode
        waiting = self.range_x.waiting or self.range_y.waiting  # an axis move waits for budget
        if not (new_basis or new_episode or n != self._n or cursor != self._cursor or waiting):
            return
        self.note.setText("")
        feats = tl.features[:n]
        refit = False
        if new_basis or new_episode or n < self._n:
            self.coords = basis.project(feats)
            dirty_from = 0
            if new_episode:
                self._clear_groups()
            self._basis = basis
            self._episode = tl.episode
            refit = not new_episode and n >= self._n  # the same points, projected anew
            if not refit:
                self.range_x.reset()
                self.range_y.reset()
            for k in self._group_n:
                self._group_n[k] = -1
            pc1, pc2 = basis.explained
            self.plot.setTitle(
                f"PCA refit #{basis.version} · variance PC1 {pc1:.0%}, PC2 {pc2:.0%}",
                color=theme.TEXT,
                size="9pt",
            )
        else:
            dirty_from = self._n
            if n > self._n:
                self.coords = np.concatenate([self.coords[: self._n], basis.project(feats[self._n : n])])
        self._n = n
        level, room = tl.array("level")[:n], tl.array("room")[:n]
        t = np.arange(n)
        if self.by_room:
            keys = level.astype(np.int64) * 1000 + np.where(room >= 0, room, -1)
        else:
            keys = t // TIME_BUCKET
        dirty = set(np.unique(keys[dirty_from:]).tolist()) if dirty_from < n else set()
        if dirty_from == 0:
            dirty = set(np.unique(keys).tolist())
        for k in dirty:
            sel = keys == k
            i0 = int(np.argmax(sel))
            gk = self._group_key(int(level[i0]), int(room[i0]), int(i0))
            item = self._group_item(gk)
            pts = self.coords[sel]
            had = self._group_n.get(gk, -1)
            if dirty_from > 0 and 0 < had < len(pts) and had == int(sel[:dirty_from].sum()):
                item.addPoints(x=pts[had:, 0], y=pts[had:, 1])  # only the new steps (setData re-sent all)
            else:
                item.setData(pts[:, 0], pts[:, 1])
            self._group_n[gk] = len(pts)
        for gk, item in list(self._groups.items()):
            if self._group_n.get(gk, -1) == -1:  # group no longer present (after a truncation)
                item.setData([], [])
        # a refit keeps the axes while the new projection still fills them (an axis redrawn costs about
        # 3 ms; refits come every 64 steps)
        for rng, data, set_range in (
            (self.range_x, self.coords[:, 0], self.plot.setXRange),
            (self.range_y, self.coords[:, 1], self.plot.setYRange),
        ):
            new = rng.refit(data, budget=self.budget) if refit else rng.update(data, self.budget)
            if new is not None:
                set_range(*new, padding=0)
        self._cursor = cursor
        c = min(max(cursor, 0), n - 1)
        lo = max(0, c - TRAIL)
        self.trail.setData(self.coords[lo : c + 1, 0], self.coords[lo : c + 1, 1])
        self.current.setData([self.coords[c, 0]], [self.coords[c, 1]])
