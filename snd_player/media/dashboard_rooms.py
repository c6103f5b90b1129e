"""The rooms panel of the offscreen dashboard: Montezuma's level-1 pyramid with the steps spent in each
room, a heat map of positions in the current room, and bars for the (level, room) pairs beyond level 1
(other games: what they offer). A part of :class:`snd_player.media.dashboard.Dashboard`, which owns the
image, the fonts and the pens these methods paint with."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QColor, QFontMetrics, QImage, QPainter

from snd_player.core.timeline import EpisodeTimeline, RoomStats, mr_room_cell
from snd_player.media import theme
from snd_player.media.dashboard_layout import DashboardInfo, Layout
from snd_player.media.painting import cell_texts, pyramid_cells, scale_nearest

if TYPE_CHECKING:
    from snd_player.core.session import StepRecord


class DashboardRooms:
    """Paints the rooms panel (a base of ``Dashboard``; see the module doc)."""

    info: DashboardInfo
    layout: Layout

    def _draw_rooms(self, p: QPainter, rec: StepRecord, tl: EpisodeTimeline, stats: RoomStats | None) -> None:
        r = self.layout.rooms
        visits = stats.visits(tl) if stats is not None else tl.room_steps
        ep_rooms = tl.rooms
        known = [k for k in visits if k[1] >= 0]
        p.setFont(self._f_text)
        p.setPen(QColor(theme.TEXT))
        line_y = r.y() + 40
        if not known and rec.room < 0:
            # no rooms to map: the episode in numbers instead
            episodes = stats.episodes if stats is not None else 0
            lines = [
                f"episode {rec.episode + 1} · step {rec.t} · score {rec.score:g}",
                f"episodes finished: {episodes}",
            ]
            if rec.lives >= 0:
                lines.append(f"lives {rec.lives}")
            if getattr(rec, "level_seed", -1) >= 0:  # Procgen: which generated level this is
                lines.append(f"level seed {rec.level_seed}")
            for i, text in enumerate(lines):
                p.setPen(QColor(theme.TEXT))
                p.drawText(
                    QRectF(r.x() + 10, line_y + 22 * i, r.width() - 20, 20), Qt.AlignmentFlag.AlignLeft, text
                )
            return
        episodes = (stats.episodes + 1) if stats is not None else 1
        p.drawText(
            QRectF(r.x() + 10, line_y, r.width() - 20, 20),
            Qt.AlignmentFlag.AlignLeft,
            f"{len(ep_rooms)} this episode · {len(known)} in {episodes} episode"
            + ("s" if episodes != 1 else ""),
        )
        current = (rec.level, rec.room) if rec.room >= 0 else None
        grid_top = line_y + 26
        if not self._montezuma:
            self._room_bars(
                p,
                QRectF(r.x() + 10, grid_top, r.width() - 20, r.bottom() - grid_top - 8),
                visits,
                ep_rooms,
                current,
            )
            return
        beyond = sorted(k for k in known if k[0] > 0 or mr_room_cell(k[1]) is None)
        grid_bottom = self._pyramid(
            p,
            QRectF(r.x() + 6, grid_top, r.width() - 12, r.bottom() - grid_top - 30),
            visits,
            ep_rooms,
            current,
        )
        p.setFont(self._f_small)
        p.setPen(QColor(theme.MUTED))
        fm = QFontMetrics(self._f_small)
        note = "cell: room (top left), steps there (bottom right); white: now"
        p.drawText(
            QRectF(r.x() + 10, grid_bottom + 4, r.width() - 20, 16),
            Qt.AlignmentFlag.AlignLeft,
            fm.elidedText(note, Qt.TextElideMode.ElideRight, r.width() - 20),
        )
        y = grid_bottom + 20
        if beyond:
            p.setPen(QColor(theme.TEXT))
            text = "beyond level 1: " + ", ".join(f"L{lv + 1}·{rm} ({visits[(lv, rm)]})" for lv, rm in beyond)
            p.drawText(
                QRectF(r.x() + 10, y, r.width() - 20, 16),
                Qt.AlignmentFlag.AlignLeft,
                fm.elidedText(text, Qt.TextElideMode.ElideRight, r.width() - 20),
            )
            y += 16
        if current is not None and stats is not None and rec.x >= 0 and rec.y >= 0:
            self._heat(p, QRectF(r.x() + 10, y + 6, r.width() - 20, r.bottom() - y - 14), stats, tl, current)

    def _heat(self, p: QPainter, area: QRectF, stats: RoomStats, tl: EpisodeTimeline, current) -> None:
        """The window's heat map: positions in the current room over all episodes, log scale, y up."""
        if area.height() < 40:
            return
        heat = stats.heat_for(current, tl).astype(np.float32)  # (X bins, Y bins)
        level = np.log1p(heat) / max(float(np.log1p(heat.max())), 1e-6)
        rgb = self._heat_lut[(level.T[::-1] * 255).astype(np.uint8)]  # rows = y, top row = highest y
        h, w = rgb.shape[:2]
        k = max(1, int(min((area.height() - 16) / h, area.width() / w)))
        big = np.ascontiguousarray(scale_nearest(rgb, k))  # alive while the QImage borrows its memory
        img = QImage(big.data, big.shape[1], big.shape[0], big.strides[0], QImage.Format.Format_RGB888)
        p.setFont(self._f_small)
        p.setPen(QColor(theme.MUTED))
        name = f"room {current[1]}" if current[0] <= 0 else f"level {current[0] + 1} room {current[1]}"
        p.drawText(
            QRectF(area.x(), area.y(), area.width(), 14),
            Qt.AlignmentFlag.AlignLeft,
            f"positions in {name} (log)",
        )
        p.drawImage(QPointF(area.x() + (area.width() - w * k) / 2, area.y() + 16), img)

    def _room_bars(self, p: QPainter, area: QRectF, visits, ep_rooms, current) -> None:
        """Games without a map: one bar per room, length by steps (all episodes), in room-id order; this
        episode's rooms in full colour, the current one outlined in white."""
        rooms = [k for k in visits if k[1] >= 0]
        rows = max(1, int(area.height() // 17))
        if len(rooms) > rows:  # the most visited ones, still in id order so that bars do not jump around
            rooms = sorted(rooms, key=lambda k: -visits[k])[:rows]
        rooms.sort()
        top = max((visits[k] for k in rooms), default=1)
        label_w = 70.0
        h = min(17.0, area.height() / max(len(rooms), 1))
        p.setFont(self._f_small)
        for i, key in enumerate(rooms):
            y = area.y() + i * h
            lv, rm = key
            p.setPen(QColor(theme.TEXT if key in ep_rooms else theme.MUTED))
            label = f"room {rm}" if lv <= 0 else f"L{lv + 1} room {rm}"
            p.drawText(
                QRectF(area.x(), y, label_w - 6, h),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                label,
            )
            n = visits[key]
            w = max(2.0, (area.width() - label_w - 50) * n / top)
            color = theme.room_color(lv, rm, 255 if key in ep_rooms else 110)
            bar = QRectF(area.x() + label_w, y + 2, w, h - 4)
            p.fillRect(bar, color)
            if key == current:
                p.setPen(self._pen("#ffffff", 2.0))
                p.drawRect(bar)
            p.setPen(QColor(theme.MUTED))
            p.drawText(
                QRectF(bar.right() + 5, y, 48, h),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                str(n),
            )

    def _pyramid(self, p: QPainter, area: QRectF, visits, ep_rooms, current) -> float:
        """The window's level-1 map: filled when visited (log shading by steps), this episode's rooms
        outlined, the current room in white. Returns the bottom of the grid."""
        cells, bottom = pyramid_cells(area, visits, ep_rooms, current, aspect=1.25, top_aligned=True)
        for c in cells:
            p.setPen(self._pen(c.outline, c.width))
            p.setBrush(c.fill)
            p.drawRect(c.rect)
            p.setPen(QColor("#0d0f13") if c.steps else QColor(theme.MUTED))
            # the window's rule: the count only where it does not touch the room number
            for tr, text, kind in cell_texts(c.rect, c.room, c.steps, self._fm_room, self._fm_count):
                p.setFont(self._f_room if kind == "small" else self._f_count)
                p.drawText(tr, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, text)
        p.setBrush(Qt.BrushStyle.NoBrush)
        return bottom
