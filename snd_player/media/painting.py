"""Small painting helpers shared by the offscreen painters (:mod:`snd_player.media.dashboard`, its plots and
rooms, :mod:`snd_player.media.compare_video`, :mod:`snd_player.media.evolution`) and the window's room map:
axis ticks, peak downsampling, a numpy-filled ``QPolygonF``, fonts, plot geometry and a numpy view of a
``QImage``."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PyQt6.QtCore import QRect, QRectF
from PyQt6.QtGui import QColor, QFont, QFontMetricsF, QImage
from pyqtgraph.functions import create_qpolygonf, ndarray_from_qpolygonf


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


@dataclass(frozen=True)
class PyramidCell:
    """One room of Montezuma's level-1 map as both room maps draw it (the window's Rooms panel and the
    video dashboard): where, which room, the steps spent there, the fill, and the outline's colour and width
    (white and 3 for the current room, the text colour for this episode's rooms, the grid's otherwise)."""

    rect: QRectF
    room: int
    steps: int
    fill: QColor
    outline: str
    width: float


def pyramid_cells(
    area: QRectF,
    visits: Mapping[tuple[int, int], int],
    episode_rooms: Collection[tuple[int, int]],
    current: tuple[int, int] | None,
    aspect: float,
    top_aligned: bool = False,
) -> tuple[list[PyramidCell], float]:
    """The 24 cells of the level-1 pyramid fitted into ``area`` (cells ``aspect`` times as wide as high,
    centred; at the top of ``area`` when ``top_aligned``), filled by visits with log shading (a room seen for
    5 steps is visible beside one seen for 5,000); returns them and the bottom of the grid."""
    from snd_player.core.timeline import MR_PYRAMID_ROWS
    from snd_player.media import theme

    cw = min(area.width() / 9.0, area.height() / 4.0 * aspect)
    ch = cw / aspect
    x0 = area.x() + (area.width() - 9 * cw) / 2
    y0 = area.y() if top_aligned else area.y() + (area.height() - 4 * ch) / 2
    level1 = {rm: n for (lv, rm), n in visits.items() if lv == 0}
    top = max(level1.values(), default=1)
    cells = []
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
                outline, width = "#ffffff", 3.0
            elif (0, room) in episode_rooms:
                outline, width = theme.TEXT, 1.2
            else:
                outline, width = theme.GRID, 1.0
            cells.append(PyramidCell(rect, room, n, fill, outline, width))
    return cells, y0 + 4 * ch


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
