"""Rooms visited: Montezuma's 24-room level-1 pyramid, a heat map of positions in the current room, and the
(level, room) pairs reached beyond level 1. Other games get a line saying what they offer."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PyQt6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from snd_player.app.widgets import theme
from snd_player.core.session import StepRecord
from snd_player.core.timeline import (
    EpisodeTimeline,
    HeatGrid,
    RoomKey,
    RoomStats,
    mr_room_cell,
)
from snd_player.media.painting import cell_texts, pyramid_cells


class PyramidMap(QWidget):
    """4 x 9 grid of the level-1 rooms: filled when visited (brighter = more steps), current one outlined."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(240, 110)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.visits: Counter[RoomKey] = Counter()
        self.episode_rooms: set[RoomKey] = set()
        self.current: RoomKey | None = None
        self.drawn: list[tuple[QRectF, str]] = []
        """The texts of the last paint with their rectangles (tests check that none overlap)."""
        self._cells: list[tuple[QRectF, int]] = []
        self.setMouseTracking(True)
        self.setToolTip(PYRAMID_TIP)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt name
        return True

    def heightForWidth(self, w: int) -> int:  # noqa: N802 - Qt name
        # cells 1.45 times wider than high, as painted: a wide dock gets cells big enough for both numbers
        return max(self.minimumHeight(), int((w - 8) / 9.0 / 1.45 * 4 + 8))

    def set_state(
        self, visits: Counter[RoomKey], episode_rooms: set[RoomKey], current: RoomKey | None
    ) -> None:
        self.visits, self.episode_rooms, self.current = visits, episode_rooms, current
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        cells, _ = pyramid_cells(
            QRectF(4, 4, w - 8, h - 8), self.visits, self.episode_rooms, self.current, aspect=1.45
        )
        ch = cells[0].rect.height() + 4
        f_small = QFont(self.font())
        f_small.setPointSizeF(max(7.0, ch * 0.2))
        f_big = QFont(self.font())
        f_big.setPointSizeF(max(7.5, ch * 0.26))
        f_big.setBold(True)
        fm = {"small": QFontMetricsF(f_small), "big": QFontMetricsF(f_big)}
        fonts = {"small": f_small, "big": f_big}
        self.drawn, self._cells = [], []
        for c in cells:
            p.setBrush(c.fill)
            p.setPen(QPen(QColor(c.outline), c.width))
            p.drawRoundedRect(c.rect, 4, 4)
            self._cells.append((c.rect, c.room))
            p.setPen(QColor("#0d0f13") if c.steps else QColor(theme.MUTED))
            for r, text, kind in cell_texts(c.rect, c.room, c.steps, fm["small"], fm["big"]):
                p.setFont(fonts[kind])
                p.drawText(r, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, text)
                self.drawn.append((r, text))
        p.end()

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802 - Qt name
        pos = ev.position()
        for rect, room in self._cells:
            if rect.contains(pos):
                n = {rm: k for (lv, rm), k in self.visits.items() if lv == 0}.get(room, 0)
                self.setToolTip(f"room {room}: {n} steps spent there (all episodes of this session)")
                break
        else:
            self.setToolTip(PYRAMID_TIP)
        super().mouseMoveEvent(ev)


PYRAMID_TIP = (
    "Montezuma's Revenge level 1, 24 rooms: the small number is the room, the bold one the steps spent there"
)
PYRAMID_LEGEND = (
    "cell: <b>room</b> number (top left) · steps spent there, all episodes (bottom right) · "
    "white outline: the current room"
)


class RoomsPanel(QWidget):
    """The dock's content; ``update_from`` is cheap enough to call a few times a second."""

    def __init__(self, source: str, montezuma: bool, heat_grid: HeatGrid, parent=None) -> None:
        super().__init__(parent)
        self.montezuma = montezuma
        self.heat_grid = heat_grid
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(4)
        self.source = QLabel(source)
        self.source.setStyleSheet(f"color: {theme.MUTED};")
        self.source.setWordWrap(True)
        lay.addWidget(self.source)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.summary)
        self.pyramid = PyramidMap() if montezuma else None
        if self.pyramid is not None:
            lay.addWidget(self.pyramid)
            self.pyramid_legend = QLabel(PYRAMID_LEGEND)
            self.pyramid_legend.setWordWrap(True)
            self.pyramid_legend.setStyleSheet(f"color: {theme.MUTED}; font-size: 8pt;")
            lay.addWidget(self.pyramid_legend)
        self.heat_plot = pg.PlotWidget()
        hp = self.heat_plot.getPlotItem()
        theme.style_plot(hp)
        hp.setMenuEnabled(False)
        hp.hideButtons()
        hp.showGrid(x=False, y=False)
        hp.setMouseEnabled(x=False, y=False)
        hp.setLabel("bottom", "x", color=theme.MUTED)
        hp.setLabel("left", "y", color=theme.MUTED)
        self.heat = pg.ImageItem()  # column-major: heat[i, j] is x bin i, y bin j
        self.heat.setColorMap(pg.colormap.get("inferno"))
        hp.addItem(self.heat)
        g = heat_grid
        self._heat_rect = QRectF(g.x_lo, g.y_lo, g.x_hi - g.x_lo, g.y_hi - g.y_lo)
        hp.setXRange(g.x_lo, g.x_hi, padding=0)
        hp.setYRange(g.y_lo, g.y_hi, padding=0)
        self.heat_plot.setMinimumHeight(120)
        lay.addWidget(self.heat_plot, 1)
        self.beyond = QLabel("")
        self.beyond.setWordWrap(True)
        self.beyond.setStyleSheet(f"color: {theme.TEXT};")
        lay.addWidget(self.beyond)
        lay.addStretch(0)
        self._seeds: set[int] = set()

    def update_from(self, stats: RoomStats, timeline: EpisodeTimeline | None, rec: StepRecord | None) -> None:
        current = (rec.level, rec.room) if rec is not None and rec.room >= 0 else None
        visits = stats.visits(timeline)
        ep_rooms = timeline.rooms if timeline is not None else set()
        rooms_known = [k for k in visits if k[1] >= 0]
        if not rooms_known and current is None:
            self._no_rooms(stats, rec)
            return
        self.summary.setText(
            f"this episode <b>{len(ep_rooms)}</b> rooms · session <b>{len(rooms_known)}</b> rooms "
            f"over {stats.episodes + 1} episodes"
        )
        if self.pyramid is not None:
            self.pyramid.set_state(visits, ep_rooms, current)
        has_xy = rec is not None and rec.x >= 0 and rec.y >= 0
        self.heat_plot.setVisible(has_xy)
        if current is not None and has_xy:
            heat = stats.heat_for(current, timeline).astype(np.float32)
            hi = max(float(heat.max()), 1.0)
            self.heat.setImage(
                np.log1p(heat), autoLevels=False, levels=(0.0, float(np.log1p(hi))), rect=self._heat_rect
            )
            name = f"room {current[1]}" if current[0] == 0 else f"level {current[0] + 1} room {current[1]}"
            self.heat_plot.getPlotItem().setTitle(f"{name}: positions (log)", color=theme.TEXT, size="9pt")
        beyond = sorted(k for k in rooms_known if k[0] > 0 or (self.montezuma and mr_room_cell(k[1]) is None))
        if self.montezuma:
            listed = ", ".join(f"L{lv + 1}·{rm} ({visits[(lv, rm)]})" for lv, rm in beyond)
            self.beyond.setText("beyond level 1: " + (listed or "none yet"))
        else:
            listed = ", ".join(f"{rm} ({visits[(lv, rm)]})" for lv, rm in sorted(rooms_known)[:40])
            self.beyond.setText(f"rooms (steps spent): {listed}")

    def _no_rooms(self, stats: RoomStats, rec: StepRecord | None) -> None:
        """Games without rooms: say what there is instead (Procgen: the level being played)."""
        self.heat_plot.setVisible(False)
        self.beyond.setText("")
        if rec is None:
            return
        if rec.level_seed >= 0:
            self._seeds.add(rec.level_seed)
            self.summary.setText(
                f"level seed <b>{rec.level_seed}</b> · episode {rec.episode + 1} · "
                f"{len(self._seeds)} distinct level(s) this session<br>"
                f"<span style='color:{theme.MUTED}'>(mode 'exploration' plays one fixed level)</span>"
            )
        else:
            self.summary.setText(f"episode {rec.episode + 1} · the game reports no rooms or levels")
