"""The player's panels drawn offscreen into one image per agent step, for ``snd-player record --panels``.

Why not grab the window's own widgets? Rendering five pyqtgraph widgets offscreen costs tens of
milliseconds per frame (a scene graph, item caches and a widget grab each), far from the 60 video frames/s
that recording aims at on two CPU cores. This renderer paints the same panels (game frame, intrinsic
motivation, values, policy, rooms), in the same colours (``snd_player.media.theme``), with one
``QPainter`` on a ``QImage`` whose memory is a numpy array:

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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from PyQt6.QtCore import QPointF, QRect, QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QFontMetrics, QFontMetricsF, QGuiApplication, QImage, QPainter, QPen
from pyqtgraph.colormap import get as pg_colormap
from pyqtgraph.functions import create_qpolygonf, ndarray_from_qpolygonf

from snd_player.core.timeline import MR_PYRAMID_ROWS, EpisodeTimeline, RoomStats, is_montezuma, mr_room_cell
from snd_player.media import theme

if TYPE_CHECKING:
    from snd_player.core.session import Session, StepRecord


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


@dataclass(frozen=True)
class DashboardInfo:
    """The facts the dashboard shows that do not change during a recording."""

    algo: str
    env_id: str
    is_procgen: bool
    action_names: tuple[str, ...]
    has_motivation: bool
    global_step: int | None = None
    checkpoint: str = ""
    greedy: bool = False
    seed: int = 0
    room_source: str = ""

    @classmethod
    def from_session(cls, session: Session) -> DashboardInfo:
        meta: dict[str, Any] = session.meta
        step = meta.get("global_step")
        return cls(
            algo=session.algo,
            env_id=session.env_id,
            is_procgen=session.is_procgen,
            action_names=tuple(session.action_meanings),
            has_motivation=session.has_motivation,
            global_step=int(step) if isinstance(step, int | float) else None,
            checkpoint=session.checkpoint.name if session.checkpoint is not None else "",
            greedy=session.greedy,
            seed=session.seed,
            room_source=session.room_source,
        )


MIN_HEIGHT = 540


@dataclass(frozen=True)
class Layout:
    """Pixel rectangles of the dashboard, derived from the game frame's size and its integer scale."""

    width: int
    height: int
    header: QRect
    game: QRect
    status: QRect
    intrinsic: QRect
    values: QRect
    policy: QRect
    projection: QRect
    rooms: QRect

    @classmethod
    def for_frame(cls, frame_h: int, frame_w: int, scale: int) -> Layout:
        pad, header_h, status_h = 8, 30, 26
        gw, gh = frame_w * scale, frame_h * scale
        # at least 540 pixels high, so the panels stay readable next to a small game frame
        height = _round_up(max(header_h + pad + gh + pad + status_h + pad, MIN_HEIGHT), 8)
        left_w = max(gw, 320) + 2 * pad
        # at least 960 pixels for the panels: policy, feature projection and rooms share the bottom row
        width = _round_up(left_w + max(960, round(height * 16 / 9) - left_w), 8)
        game_h = height - header_h - 3 * pad - status_h
        game = QRect((left_w - gw) // 2, header_h + pad + (game_h - gh) // 2, gw, gh)
        status = QRect(pad, height - pad - status_h, left_w - 2 * pad, status_h)
        x0, y0 = left_w, header_h + pad
        rw, avail = width - x0 - pad, height - y0 - pad
        h_int = int(avail * 0.29)
        h_val = int(avail * 0.25)
        h_bot = avail - h_int - h_val - 2 * pad
        w_pol = int(rw * 0.36)
        w_proj = int(rw * 0.30)
        y_bot = y0 + h_int + h_val + 2 * pad
        return cls(
            width=width,
            height=height,
            header=QRect(0, 0, width, header_h),
            game=game,
            status=status,
            intrinsic=QRect(x0, y0, rw, h_int),
            values=QRect(x0, y0 + h_int + pad, rw, h_val),
            policy=QRect(x0, y_bot, w_pol, h_bot),
            projection=QRect(x0 + w_pol + pad, y_bot, w_proj, h_bot),
            rooms=QRect(x0 + w_pol + w_proj + 2 * pad, y_bot, rw - w_pol - w_proj - 2 * pad, h_bot),
        )


def _round_up(v: int, m: int) -> int:
    return int(math.ceil(v / m) * m)


def nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """About n round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]."""
    span = hi - lo
    if not math.isfinite(span) or span <= 0:
        return [lo]
    raw = span / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def fmt_tick(v: float, step: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        return f"{v:.1e}".replace("e+0", "e").replace("e-0", "e-")
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 2
    return f"{v:.{min(decimals, 4)}f}"


def data_range(*arrays: np.ndarray, include_zero: bool = False) -> tuple[float, float]:
    """A padded [lo, hi] for the values of the arrays (at least a small span, never NaN)."""
    vals = [a for a in arrays if a.size]
    if not vals:
        return (0.0, 1.0)
    lo = min(float(a.min()) for a in vals)
    hi = max(float(a.max()) for a in vals)
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return (0.0, 1.0)
    span = hi - lo
    if span < 1e-9:
        span = max(abs(hi), 1e-3)
        return (lo - 0.5 * span, hi + 0.5 * span)
    return (lo - 0.06 * span, hi + 0.06 * span)


def peak_downsample(y: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) with at most 2*width points: min and max per bin, in step order (pyqtgraph's 'peak' mode)."""
    n = y.size
    if n <= 2 * width:
        return np.arange(n, dtype=np.float64), y.astype(np.float64)
    k = int(math.ceil(n / width))
    m = n // k
    body = y[: m * k].reshape(m, k)
    lo, hi = body.min(1), body.max(1)
    ys = np.empty(2 * m, np.float64)
    ys[0::2], ys[1::2] = lo, hi
    xs = np.repeat(np.arange(m, dtype=np.float64) * k + (k - 1) / 2.0, 2)
    if m * k < n:  # the ragged tail, point by point, so the curve reaches the cursor
        tail = np.arange(m * k, n, dtype=np.float64)
        xs = np.concatenate([xs, tail])
        ys = np.concatenate([ys, y[m * k :].astype(np.float64)])
    return xs, ys


class _PolylineBuffer:
    """A reusable QPolygonF whose points are written from numpy (no Python loop per point)."""

    def __init__(self) -> None:
        self.poly = create_qpolygonf(0)
        self.size = 0

    def fill(self, px: np.ndarray, py: np.ndarray):
        n = px.size
        if n != self.size:
            self.poly = create_qpolygonf(n)
            self.size = n
        if n:
            buf = ndarray_from_qpolygonf(self.poly)
            buf[:, 0] = px
            buf[:, 1] = py
        return self.poly


def scale_nearest(frame: np.ndarray, k: int) -> np.ndarray:
    """(H, W, C) -> (k*H, k*W, C), each pixel a k x k block (crisp, as the emulator draws it)."""
    if k == 1:
        return frame
    return cv2.resize(frame, (frame.shape[1] * k, frame.shape[0] * k), interpolation=cv2.INTER_NEAREST)


def _color(c: str | QColor, alpha: int | None = None) -> QColor:
    q = QColor(c)
    if alpha is not None:
        q.setAlpha(alpha)
    return q


def _font(px: int, bold: bool = False, mono: bool = False) -> QFont:
    f = QFont("DejaVu Sans Mono" if mono else "DejaVu Sans")
    f.setPixelSize(px)
    f.setBold(bold)
    f.setHintingPreference(QFont.HintingPreference.PreferFullHinting)
    return f


_STAR = [
    (
        math.cos(math.pi / 2 + i * math.pi / 5) * (1.0 if i % 2 == 0 else 0.45),
        -math.sin(math.pi / 2 + i * math.pi / 5) * (1.0 if i % 2 == 0 else 0.45),
    )
    for i in range(10)
]
_TRIANGLE = [(0.0, 0.8), (-0.8, -0.6), (0.8, -0.6)]  # pointing down


class _Plot:
    """Geometry of one time plot: the inner data area of a panel and the mapping of data to pixels."""

    def __init__(
        self, panel: QRect, left_w: int = 54, right_w: int = 54, top: int = 26, bottom: int = 22
    ) -> None:
        self.panel = panel
        self.area = QRect(
            panel.x() + left_w,
            panel.y() + top,
            panel.width() - left_w - right_w,
            panel.height() - top - bottom,
        )

    def x_of(self, x: np.ndarray | float, x_hi: float) -> Any:
        a = self.area
        return a.x() + np.asarray(x, np.float64) * (a.width() - 1) / x_hi

    def y_of(self, y: np.ndarray | float, lo: float, hi: float) -> Any:
        a = self.area
        return a.y() + (a.height() - 1) * (1.0 - (np.asarray(y, np.float64) - lo) / (hi - lo))


class Dashboard:
    """Renders one StepRecord (with its episode so far) into a BGRA image of ``layout.width x layout.height``.

    ``render`` returns a view of the internal buffer, valid until the next call; copy it to keep it.
    """

    def __init__(self, info: DashboardInfo, frame_shape: tuple[int, ...], scale: int = 3) -> None:
        ensure_gui_app()
        self.info = info
        self.frame_h, self.frame_w = int(frame_shape[0]), int(frame_shape[1])
        self.scale = int(scale)
        self.layout = Layout.for_frame(self.frame_h, self.frame_w, self.scale)
        w, h = self.layout.width, self.layout.height
        self._img = QImage(w, h, QImage.Format.Format_RGB32)
        self._buf = _qimage_array(self._img)  # (H, W, 4) BGRA view of the image memory
        self._bg = np.empty_like(self._buf)
        self._f_title = _font(15, bold=True)
        self._f_text = _font(13)
        self._f_small = _font(11)
        self._f_tick = _font(10)
        self._f_mono = _font(13, mono=True)
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

    def _draw_game(self, p: QPainter, rec: StepRecord) -> None:
        L = self.layout
        parts = [f"score {rec.score:g}"]
        if rec.lives >= 0:
            parts.append(f"lives {rec.lives}")
        if rec.room >= 0:
            parts.append(f"room {rec.room}" if rec.level <= 0 else f"level {rec.level + 1} room {rec.room}")
        elif self.info.is_procgen and rec.level >= 0:
            parts.append(f"level {rec.level}")
        p.setFont(self._f_mono)
        p.setPen(QColor(theme.TEXT))
        p.drawText(L.status, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "  ·  ".join(parts))
        p.setPen(QColor(theme.CHOSEN))
        p.drawText(
            L.status,
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            rec.action_name + ("  DONE" if rec.done else ""),
        )

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

    def _draw_policy(self, p: QPainter, rec: StepRecord) -> None:
        r = self.layout.policy
        x0 = r.x() + self._policy_label_w()
        w = r.right() - 12 - x0
        top, h = self._policy_rows()
        bar, chosen = QColor(theme.BAR), QColor(theme.CHOSEN)
        p.setPen(self._pen(theme.GRID))
        for v in (0.25, 0.5, 0.75, 1.0):
            x = int(x0 + v * w)
            p.drawLine(x, int(top), x, int(top + h * len(rec.probs)))
        for i, pr in enumerate(rec.probs):
            bw = max(float(pr) * w, 1.0 if pr > 0 else 0.0)
            p.fillRect(QRectF(x0, top + i * h + h * 0.14, bw, h * 0.72), chosen if i == rec.action else bar)
        # title: the chosen action, its probability and the policy's entropy
        title_x = r.x() + 10 + self._fm_title.horizontalAdvance("policy") + 14
        base = r.y() + 18
        p.setFont(self._f_text)
        p.setPen(chosen)
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
        cw = min(area.width() / 9.0, area.height() / 4.0 * 1.25)
        ch = cw / 1.25
        x0 = area.x() + (area.width() - 9 * cw) / 2
        y0 = area.y()
        level1 = {rm: n for (lv, rm), n in visits.items() if lv == 0}
        top = max(level1.values(), default=1)
        for row, (col0, rooms) in enumerate(MR_PYRAMID_ROWS):
            for i, room in enumerate(rooms):
                rect = QRectF(x0 + (col0 + i) * cw + 2, y0 + row * ch + 2, cw - 4, ch - 4)
                n = level1.get(room, 0)
                if n:
                    k = 0.35 + 0.65 * math.log1p(n) / math.log1p(top)
                    base = theme.room_color(0, room)
                    fill = QColor(int(base.red() * k), int(base.green() * k), int(base.blue() * k))
                else:
                    fill = QColor(theme.PANEL_2)
                if current == (0, room):
                    pen = self._pen("#ffffff", 3.0)
                elif (0, room) in ep_rooms:
                    pen = self._pen(theme.TEXT, 1.2)
                else:
                    pen = self._pen(theme.GRID)
                p.setPen(pen)
                p.setBrush(fill)
                p.drawRect(rect)
                p.setPen(QColor("#0d0f13") if n else QColor(theme.MUTED))
                # the window's rule: the count only where it does not touch the room number
                for tr, text, kind in cell_texts(rect, room, n, self._fm_room, self._fm_count):
                    p.setFont(self._f_room if kind == "small" else self._f_count)
                    p.drawText(tr, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, text)
        p.setBrush(Qt.BrushStyle.NoBrush)
        return y0 + 4 * ch


def cell_texts(
    rect: QRectF, room: int, steps: int, small: QFontMetricsF, big: QFontMetricsF
) -> list[tuple[QRectF, str, str]]:
    """Where the room number (top left, small font) and the steps spent there (bottom right, bold) go in
    a cell, as (rect, text, "small"|"big"). When both do not fit without touching ("1" and "780" read
    "1780" in a cramped dock), the count is left out: the cell's tooltip still has it."""
    inner = rect.adjusted(4, 2, -3, -2)
    num = str(room)
    num_rect = QRectF(inner.left(), inner.top(), small.horizontalAdvance(num), small.height())
    out = [(num_rect, num, "small")]
    if steps:
        label = f"{steps}" if steps < 10000 else f"{steps / 1000:.0f}k"
        w, h = big.horizontalAdvance(label), big.height()
        cnt_rect = QRectF(inner.right() - w, inner.bottom() - h, w, h)
        if inner.contains(cnt_rect) and not num_rect.adjusted(-1, 0, 1, 0).intersects(cnt_rect):
            out.append((cnt_rect, label, "big"))
    return out


def _qimage_array(img: QImage) -> np.ndarray:
    """A writable (H, W, 4) uint8 view of a 32-bit QImage's pixels."""
    ptr = img.bits()
    ptr.setsize(img.sizeInBytes())
    arr = np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)
    return arr[:, : img.width()]
