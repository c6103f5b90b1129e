"""The player's panels drawn offscreen into one image per agent step, for ``snd-player record --panels``.

Why not grab the window's own widgets? Rendering five pyqtgraph widgets offscreen costs tens of
milliseconds per frame (a scene graph, item caches and a widget grab each), far from the 60 video frames/s
that recording aims at on two CPU cores. This renderer paints the same panels (game frame, intrinsic
motivation, values, policy, rooms), in the same colours (``snd_player.media.theme``), with one
``QPainter`` on a ``QImage`` whose memory is a numpy array (this module: the layout, the static parts, the
header, game frame and policy; :mod:`~snd_player.media.dashboard_plots` the time plots and projection,
:mod:`~snd_player.media.dashboard_rooms` the rooms, :mod:`~snd_player.media.painting` the helpers):

- everything that never changes (panel boxes, titles, legends, action names, the empty room grid) is
  painted once into a background that each frame starts from with one ``memcpy``;
- curves are peak-downsampled to one min/max pair per pixel column (as pyqtgraph's ``'peak'`` mode), so a
  4500-step episode costs the same as a short one, and handed to Qt as a ``QPolygonF`` filled from numpy;
- the image is ``Format_RGB32`` (Qt's fastest raster format), i.e. BGRA bytes, which the encoder takes as
  ``bgra`` without a colour conversion in Python.

It needs a ``QGuiApplication`` for fonts; :func:`ensure_gui_app` makes one, with the ``offscreen`` platform
when there is no display, so recording works on a headless machine.
"""

from __future__ import annotations

import math
import os
import sys
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PyQt6.QtCore import QRect, QRectF, Qt
from PyQt6.QtGui import QColor, QFontMetrics, QFontMetricsF, QGuiApplication, QImage, QPainter, QPen
from pyqtgraph.colormap import get as pg_colormap

from snd_player.core.timeline import EpisodeTimeline, RoomStats, is_montezuma
from snd_player.media import theme
from snd_player.media.dashboard_layout import DashboardInfo, Layout
from snd_player.media.dashboard_plots import DashboardPlots
from snd_player.media.dashboard_rooms import DashboardRooms
from snd_player.media.painting import (
    _color,
    _font,
    _Plot,
    _PolylineBuffer,
    _qimage_array,
    scale_nearest,
)

if TYPE_CHECKING:
    from snd_player.core.session import StepRecord


_APP: QGuiApplication | None = None


def ensure_gui_app() -> QGuiApplication:
    """The running Qt application, or a new one (offscreen when there is no display).

    A ``QApplication``, not merely a ``QGuiApplication``, although only QPainter and fonts are needed: Qt
    allows one application object per process, and widgets created later in the same process (the window,
    pytest-qt) need the widget kind.
    """
    app = QGuiApplication.instance()
    if app is not None:
        return app  # type: ignore[return-value]
    headless = not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
    if headless and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtWidgets import QApplication

    global _APP
    _APP = QApplication(sys.argv[:1] or ["snd-player"])  # kept alive for the life of the process
    return _APP


class Dashboard(DashboardPlots, DashboardRooms):
    """Renders one StepRecord (with its episode so far) into a BGRA image of ``layout.width x layout.height``.

    ``render`` returns a view of the internal buffer, valid until the next call; copy it to keep it.
    """

    def __init__(self, info: DashboardInfo, frame_shape: tuple[int, ...], scale: int = 3) -> None:
        ensure_gui_app()
        self.info = info
        self.frame_h, self.frame_w = int(frame_shape[0]), int(frame_shape[1])
        self.scale = int(scale)
        self._f_mono = _font(13, mono=True)
        self.layout = Layout.for_frame(self.frame_h, self.frame_w, self.scale)
        if self._status_needs_two_lines(self.layout.status.width()):
            self.layout = Layout.for_frame(self.frame_h, self.frame_w, self.scale, status_lines=2)
        w, h = self.layout.width, self.layout.height
        self._img = QImage(w, h, QImage.Format.Format_RGB32)
        self._buf = _qimage_array(self._img)  # (H, W, 4) BGRA view of the image memory
        self._bg = np.empty_like(self._buf)
        self._f_title = _font(15, bold=True)
        self._f_text = _font(13)
        self._f_small = _font(11)
        self._f_tick = _font(10)
        self._f_room = _font(10)
        self._f_count = _font(12, bold=True)
        self._fm_text = QFontMetrics(self._f_text)
        self._fm_room, self._fm_count = QFontMetricsF(self._f_room), QFontMetricsF(self._f_count)
        self._heat_lut = pg_colormap("inferno").getLookupTable(nPts=256, alpha=False).astype(np.uint8)
        self._fm_title = QFontMetrics(self._f_title)
        # r_int = clip(eta * error): on one pair of axes the two curves coincide (the legend promised two
        # and one showed), so error gets its own plot under r_int, as in the window
        ri = self.layout.intrinsic
        h_top = int((ri.height() - 26 - 22) * 0.55)
        self._int = _Plot(QRect(ri.x(), ri.y(), ri.width(), 26 + h_top + 4), bottom=4)
        self._err = _Plot(
            QRect(ri.x(), ri.y() + 26 + h_top + 4, ri.width(), ri.height() - 26 - h_top - 4), top=4
        )
        self._proj = _Plot(self.layout.projection, left_w=10, right_w=10, top=26, bottom=10)
        from snd_player.core.projection import FeatureProjector

        self._projector = FeatureProjector()
        self._proj_state: tuple[int, int] = (-1, -1)  # (episode, steps fed) to the projector
        self._val = _Plot(self.layout.values)
        self._poly = [_PolylineBuffer() for _ in range(5)]
        self._montezuma = is_montezuma(info.env_id)
        self._pen_cache: dict[tuple[str, float, bool], QPen] = {}
        self._cursor_pen = QPen(_color(theme.CURSOR, 150), 1.0)
        self._paint_background()

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels; both even, as H.264 with 4:2:0 chroma needs."""
        return self.layout.width, self.layout.height

    # -- static parts -------------------------------------------------------------------------------------
    def _pen(self, color: str, width: float = 1.0, dash: bool = False) -> QPen:
        key = (color, width, dash)
        pen = self._pen_cache.get(key)
        if pen is None:
            pen = QPen(QColor(color), width)
            if dash:
                pen.setStyle(Qt.PenStyle.DashLine)
            self._pen_cache[key] = pen
        return pen

    def _panel(self, p: QPainter, r: QRect, title: str) -> None:
        p.fillRect(r, QColor(theme.BG))
        p.setPen(self._pen(theme.GRID))
        p.drawRect(r.adjusted(0, 0, -1, -1))
        if title:
            p.setFont(self._f_title)
            p.setPen(QColor(theme.TEXT))
            p.drawText(
                r.adjusted(10, 4, -10, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, title
            )

    def _legend(self, p: QPainter, r: QRect, title: str, items: list[tuple[str, str, bool]]) -> None:
        """Coloured line samples with labels, right of the title (dashed when the flag is set)."""
        x = r.x() + 18 + self._fm_title.horizontalAdvance(title)
        y = r.y() + 13
        p.setFont(self._f_small)
        fm = QFontMetrics(self._f_small)
        for label, color, dash in items:
            p.setPen(self._pen(color, 2.0, dash))
            p.drawLine(x, y, x + 18, y)
            p.setPen(QColor(theme.MUTED))
            p.drawText(x + 23, y + 4, label)
            x += 23 + fm.horizontalAdvance(label) + 16

    def _paint_background(self) -> None:
        L, info = self.layout, self.info
        p = QPainter(self._img)
        p.fillRect(0, 0, L.width, L.height, QColor(theme.PANEL))
        p.fillRect(L.header, QColor(theme.PANEL_2))
        p.setFont(self._f_title)
        p.setPen(QColor(theme.ACCENT))
        algo = info.algo.upper()
        p.drawText(L.header.adjusted(12, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, algo)
        x = 12 + self._fm_title.horizontalAdvance(algo) + 14
        p.setFont(self._f_text)
        p.setPen(QColor(theme.TEXT))
        steps = f"{info.global_step:,} steps trained" if info.global_step is not None else "steps unknown"
        text = f"{info.env_id}   ·   {steps}"
        if info.checkpoint:
            text += f"   ·   {info.checkpoint}"
        p.drawText(L.header.adjusted(x, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, text)
        column = QRect(
            0, L.header.bottom() + 1, L.game.right() + L.game.left() + 1, L.height - L.header.height()
        )
        p.fillRect(column.adjusted(8, 8, -8, -L.status.height() - 12), QColor(theme.BG))
        p.fillRect(L.game.adjusted(-2, -2, 2, 2), QColor(theme.GRID))
        self._panel(p, L.intrinsic, "intrinsic motivation")
        if info.has_motivation:
            items = [("r_int (top)", theme.R_INT, False), ("distillation error (below)", theme.ERROR, False)]
            if not info.is_procgen:
                items.append(("room change", theme.ROOM_LINE, True))
            self._legend(p, L.intrinsic, "intrinsic motivation", items)
        self._panel(p, L.values, "values")
        self._legend(
            p,
            L.values,
            "values",
            [
                ("V_ext (left)", theme.V_EXT, False),
                ("V_int (right)", theme.V_INT, False),
            ],
        )
        self._markers_legend(p, L.values)
        self._panel(p, L.policy, "policy")
        self._panel(p, L.projection, "feature projection")
        self._panel(p, L.rooms, "rooms")
        # action names, one row per action
        rows = self._policy_rows()
        p.setFont(self._f_small)
        p.setPen(QColor(theme.MUTED))
        for i, name in enumerate(info.action_names):
            top, h = rows[0] + i * rows[1], rows[1]
            p.drawText(
                QRectF(L.policy.x() + 6, top, self._policy_label_w() - 10, h),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                name.lower(),
            )
        p.setFont(self._f_small)
        p.drawText(
            L.rooms.adjusted(10, 24, -10, 0),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
            info.room_source,
        )
        p.end()
        self._bg[...] = self._buf

    def _policy_label_w(self) -> int:
        fm = QFontMetrics(self._f_small)
        return 16 + max((fm.horizontalAdvance(n.lower()) for n in self.info.action_names), default=40)

    def _policy_rows(self) -> tuple[float, float]:
        """(top of the first row, row height) of the policy bars."""
        r = self.layout.policy
        top, bottom = r.y() + 30, r.bottom() - 8
        return float(top), (bottom - top) / max(len(self.info.action_names), 1)

    # -- per frame ----------------------------------------------------------------------------------------
    def render(
        self, rec: StepRecord, timeline: EpisodeTimeline, rooms: RoomStats | None = None
    ) -> np.ndarray:
        """Paint the dashboard for ``rec`` (the newest step of ``timeline``); returns (H, W, 4) BGRA uint8."""
        np.copyto(self._buf, self._bg)
        self._blit_frame(rec.frame)
        p = QPainter(self._img)
        try:
            self._draw_header(p, rec)
            self._draw_game(p, rec)
            n = min(len(timeline), rec.t + 1)
            self._draw_intrinsic(p, timeline, n, rec.t)
            self._draw_values(p, timeline, n, rec.t)
            self._draw_policy(p, rec)
            self._draw_projection(p, timeline, n, rec.t)
            self._draw_rooms(p, rec, timeline, rooms)
        finally:
            p.end()
        return self._buf

    def _blit_frame(self, frame: np.ndarray) -> None:
        """The game frame at its integer scale with crisp pixels, written straight into the BGRA buffer."""
        g = self.layout.game
        if frame.shape[:2] != (self.frame_h, self.frame_w):
            raise ValueError(
                f"frame is {frame.shape[:2]}, the dashboard was laid out for {(self.frame_h, self.frame_w)}"
            )
        bgra = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGRA)  # small: convert before scaling
        self._buf[g.y() : g.y() + g.height(), g.x() : g.x() + g.width()] = scale_nearest(bgra, self.scale)

    def _draw_header(self, p: QPainter, rec: StepRecord) -> None:
        p.setFont(self._f_text)
        p.setPen(QColor(theme.TEXT))
        mode = "greedy" if self.info.greedy else "sampled"
        text = f"{mode} actions · seed {self.info.seed} · episode {rec.episode + 1} · step {rec.t}"
        p.drawText(
            self.layout.header.adjusted(0, 0, -12, 0),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            text,
        )

    def _status_text(self, score: float, lives: int, room: int, level: int) -> str:
        parts = [f"score {score:g}"]
        if lives >= 0:
            parts.append(f"lives {lives}")
        if room >= 0:
            parts.append(f"room {room}" if level <= 0 else f"level {level + 1} room {room}")
        elif self.info.is_procgen and level >= 0:
            parts.append(f"level {level}")
        return "  ·  ".join(parts)

    @staticmethod
    def _action_text(name: str, driven: bool, done: bool) -> str:
        return ("◆ driven: " if driven else "") + name + ("  DONE" if done else "")

    def _status_needs_two_lines(self, width: int) -> bool:
        """Whether the widest score line and the widest action label of this game overlap on one line of
        ``width`` pixels (Atari at 2x and 3x: "score 12345 · lives 5 · level 2 room 23" beside
        "◆ driven: DOWNRIGHTFIRE  DONE"). Decided once, so the video's size and layout never change mid-way."""
        fm = QFontMetrics(self._f_mono)
        if self.info.is_procgen:
            widest = self._status_text(99999, -1, -1, 999)
        else:
            widest = self._status_text(99999, 9, 23, 8)
        name = max(self.info.action_names, key=fm.horizontalAdvance, default="NOOP")
        return (
            fm.horizontalAdvance(widest) + 16 + fm.horizontalAdvance(self._action_text(name, True, True))
            > width
        )

    def _draw_game(self, p: QPainter, rec: StepRecord) -> None:
        L = self.layout
        score_row, action_row = L.status, L.status
        if L.status_lines == 2:  # two lines: the score on the first, the action right-aligned under it
            half = L.status.height() // 2
            score_row = L.status.adjusted(0, 0, 0, -half)
            action_row = L.status.adjusted(0, L.status.height() - half, 0, 0)
        p.setFont(self._f_mono)
        p.setPen(QColor(theme.TEXT))
        p.drawText(
            score_row,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            self._status_text(rec.score, rec.lives, rec.room, rec.level),
        )
        driven = getattr(
            rec, "driven", False
        )  # a person chose this step's action (drive mode), as the window
        p.setPen(QColor(theme.DRIVEN if driven else theme.CHOSEN))
        p.drawText(
            action_row,
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            self._action_text(rec.action_name, driven, rec.done),
        )

    def _draw_policy(self, p: QPainter, rec: StepRecord) -> None:
        r = self.layout.policy
        x0 = r.x() + self._policy_label_w()
        w = r.right() - 12 - x0
        top, h = self._policy_rows()
        bar, chosen = QColor(theme.BAR), QColor(theme.CHOSEN)
        # a driven step: the person's action in the driven colour, the agent's own choice as a chosen bar
        driven = getattr(rec, "driven", False) and 0 <= rec.agent_action < len(rec.probs)
        own = rec.agent_action if driven else rec.action
        person = QColor(theme.DRIVEN)
        p.setPen(self._pen(theme.GRID))
        for v in (0.25, 0.5, 0.75, 1.0):
            x = int(x0 + v * w)
            p.drawLine(x, int(top), x, int(top + h * len(rec.probs)))
        for i, pr in enumerate(rec.probs):
            bw = max(float(pr) * w, 1.0 if pr > 0 else 0.0)
            colour = person if driven and i == rec.action else chosen if i == own else bar
            p.fillRect(QRectF(x0, top + i * h + h * 0.14, bw, h * 0.72), colour)
        # title: the chosen action, its probability and the policy's entropy
        title_x = r.x() + 10 + self._fm_title.horizontalAdvance("policy") + 14
        base = r.y() + 18
        p.setFont(self._f_text)
        p.setPen(person if driven else chosen)
        p.drawText(title_x, base, rec.action_name)
        x = title_x + self._fm_text.horizontalAdvance(rec.action_name) + 10
        p.setPen(QColor(theme.TEXT))
        a = len(rec.probs)
        max_h = math.log(a) if a > 1 else 0.0
        pa = float(rec.probs[rec.action]) if 0 <= rec.action < a else float("nan")
        text = f"p={pa:.2f}   entropy {rec.entropy:.2f}/{max_h:.2f}"
        if x + self._fm_text.horizontalAdvance(text) > r.right() - 8:  # a narrow panel: the short form
            text = f"p={pa:.2f}  H {rec.entropy:.2f}"
        p.drawText(x, base, text)
