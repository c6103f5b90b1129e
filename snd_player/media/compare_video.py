"""``snd-player record --compare A B --out ab.mp4``: the compare window's view as a video.

The frames come from the same :class:`~snd_player.core.compare.Comparison` (two sessions in lock step on one
seed) and the same :class:`~snd_player.core.compare.PairTimeline` as the window's; :class:`CompareRenderer`
paints them with one ``QPainter`` on a ``QImage`` (as :mod:`snd_player.media.dashboard` does for one agent): the
two game frames side by side, each with its label, score and rooms, and on the right the intrinsic reward
and V_int of both, A (blue) on the left axis and B (orange) on the right axis, or both normalised to 0..1.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PyQt6.QtCore import QPointF, QRect, QRectF, Qt
from PyQt6.QtGui import QColor, QImage, QPainter, QPen

from snd_player.core.compare import Comparison, PairRecord, PairTimeline, min_max, side_label
from snd_player.media import theme
from snd_player.media.dashboard import ensure_gui_app
from snd_player.media.painting import (
    _font,
    _PolylineBuffer,
    _qimage_array,
    data_range,
    fmt_tick,
    nice_ticks,
    peak_downsample,
)

COLOR_A = theme.ACCENT
COLOR_B = theme.R_INT
GAME_W = 320
"""Width of each game frame in the video: Atari's 160 pixels at 2x."""
WIDTH = 1280


def fit_frame(frame: np.ndarray, width: int = GAME_W) -> np.ndarray:
    """An RGB frame at ``width`` pixels wide: whole-pixel magnification when it divides (Atari 2x), area
    averaging when shrinking (Procgen's 512x512)."""
    h, w = frame.shape[:2]
    if width % w == 0:
        k = width // w
        return cv2.resize(frame, (w * k, h * k), interpolation=cv2.INTER_NEAREST)
    return cv2.resize(frame, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)


class CompareRenderer:
    """Paints one PairRecord (with the pair episode so far) into a BGRA image of ``size``."""

    def __init__(
        self, comparison: Comparison, frame_shape: tuple[int, ...], normalised: bool = False
    ) -> None:
        ensure_gui_app()
        self.labels = (side_label(comparison.a), side_label(comparison.b))
        self.normalised = normalised
        self.seed = comparison.seed
        pad, head, foot = 8, 26, 44
        gh = fit_frame(np.zeros(frame_shape, np.uint8)).shape[0]
        self.height = int(math.ceil((head + pad + gh + pad + foot + pad) / 8) * 8)
        self.games = [QRect(pad + i * (GAME_W + pad), head + pad, GAME_W, gh) for i in range(2)]
        self.heads = [QRect(g.x(), 4, GAME_W, head) for g in self.games]
        self.foots = [QRect(g.x(), g.bottom() + pad, GAME_W, foot) for g in self.games]
        x0 = self.games[1].right() + 2 * pad
        pw, ph = WIDTH - x0 - pad, (self.height - 3 * pad) // 2
        self.panels = [QRect(x0, pad + i * (ph + pad), pw, ph) for i in range(2)]
        self.areas = [QRect(p.x() + 52, p.y() + 24, p.width() - 104, p.height() - 44) for p in self.panels]
        self._img = QImage(WIDTH, self.height, QImage.Format.Format_RGB32)
        self._buf = _qimage_array(self._img)
        self._poly = _PolylineBuffer()
        self._f_title, self._f_text, self._f_tick = _font(14, bold=True), _font(12), _font(10)

    @property
    def size(self) -> tuple[int, int]:
        return WIDTH, self.height

    def render(self, pair: PairRecord, pt: PairTimeline) -> np.ndarray:
        """(H, W, 4) BGRA uint8, a view valid until the next call."""
        self._img.fill(QColor(theme.PANEL))
        for i, rec in enumerate((pair.a, pair.b)):
            g = self.games[i]
            bgra = cv2.cvtColor(fit_frame(np.ascontiguousarray(rec.frame)), cv2.COLOR_RGB2BGRA)
            self._buf[g.y() : g.y() + g.height(), g.x() : g.x() + g.width()] = bgra
        p = QPainter(self._img)
        try:
            for i, (rec, held, color, name) in enumerate(
                ((pair.a, pair.a_held, COLOR_A, "A"), (pair.b, pair.b_held, COLOR_B, "B"))
            ):
                self._side(p, i, rec, held, color, name, pt)
            t = pair.t
            for k, (title, key) in enumerate(
                (("intrinsic reward r_int", "r_int"), ("intrinsic value V_int", "v_int"))
            ):
                self._plot(p, k, title, pt.curve(0, key, t), pt.curve(1, key, t), t, pt.n)
        finally:
            p.end()
        return self._buf

    def _side(self, p: QPainter, i: int, rec, held: bool, color: str, name: str, pt: PairTimeline) -> None:
        p.setFont(self._f_title)
        p.setPen(QColor(color))
        h = self.heads[i]
        p.drawText(h, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        p.setFont(self._f_text)
        p.setPen(QColor(theme.TEXT))
        p.drawText(
            h.adjusted(18, 0, 0, 0),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            self.labels[i],
        )
        if held:
            g = self.games[i]
            p.fillRect(g, QColor(0, 0, 0, 140))
            p.setFont(self._f_title)
            p.setPen(QColor(theme.TEXT))
            p.drawText(g, Qt.AlignmentFlag.AlignCenter, "episode over\nwaiting for the other")
        f = self.foots[i]
        score = rec.score + (rec.raw_reward if (held or rec.done) else 0.0)
        p.setFont(self._f_text)
        p.setPen(QColor(theme.TEXT))
        top = f.adjusted(0, 0, 0, -f.height() // 2)
        p.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"score {score:g}")
        p.setPen(QColor(theme.CHOSEN))
        p.drawText(
            top, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "" if held else rec.action_name
        )
        p.setPen(QColor(theme.MUTED))
        bottom = f.adjusted(0, f.height() // 2, 0, 0)
        p.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, pt.rooms_text(i))

    def _plot(self, p: QPainter, k: int, title: str, a: np.ndarray, b: np.ndarray, t: int, n: int) -> None:
        panel, area = self.panels[k], self.areas[k]
        p.fillRect(panel, QColor(theme.BG))
        p.setPen(QColor(theme.GRID))
        p.drawRect(panel.adjusted(0, 0, -1, -1))
        p.setFont(self._f_title)
        p.setPen(QColor(theme.TEXT))
        mode = "each min–max over the episode so far" if self.normalised else "A left axis, B right axis"
        p.drawText(panel.adjusted(10, 3, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, title)
        p.setFont(self._f_tick)
        p.setPen(QColor(theme.MUTED))
        p.drawText(
            panel.adjusted(0, 5, -10, 0), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, mode
        )
        if self.normalised:
            a, b = min_max(a), min_max(b)
            ra = rb = data_range(a, b, np.array([0.0, 1.0]))
        else:
            ra, rb = data_range(a), data_range(b)
        x_hi = float(max(64, int(math.ceil((n + 1) / 64)) * 64))

        def x_of(x):
            return area.x() + np.asarray(x, np.float64) * (area.width() - 1) / x_hi

        def y_of(y, rng):
            lo, hi = rng
            return area.y() + (area.height() - 1) * (1.0 - (np.asarray(y, np.float64) - lo) / (hi - lo))

        grid = QPen(QColor(theme.GRID))
        for v in nice_ticks(0, x_hi, 6):
            x = int(x_of(v))
            p.setPen(grid)
            p.drawLine(x, area.top(), x, area.bottom())
            p.setPen(QColor(theme.MUTED))
            p.drawText(QRectF(x - 30, area.bottom() + 3, 60, 14), Qt.AlignmentFlag.AlignHCenter, f"{v:g}")
        for rng, color, left in ((ra, COLOR_A, True), (rb, COLOR_B, False)):
            if not left and self.normalised:
                break
            ticks = nice_ticks(*rng, 4)
            step = ticks[1] - ticks[0] if len(ticks) > 1 else abs(rng[1] - rng[0])
            for v in ticks:
                y = int(y_of(v, rng))
                if left:
                    p.setPen(grid)
                    p.drawLine(area.left(), y, area.right(), y)
                p.setPen(QColor(theme.MUTED if self.normalised else color))
                box = (
                    QRectF(area.left() - 50, y - 7, 46, 14)
                    if left
                    else QRectF(area.right() + 4, y - 7, 46, 14)
                )
                align = Qt.AlignmentFlag.AlignRight if left else Qt.AlignmentFlag.AlignLeft
                p.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, fmt_tick(v, step))
        p.setPen(grid)
        p.drawRect(area)
        for y, rng, color in ((b, rb, COLOR_B), (a, ra, COLOR_A)):
            if y.size == 0:
                continue
            xs, ys = peak_downsample(y, area.width())
            poly = self._poly.fill(x_of(xs), y_of(ys, rng))
            p.setPen(QPen(QColor(color), 1.0))
            if y.size == 1:
                p.drawPoint(poly[0])
                continue
            p.drawPolyline(poly)
            # and again one pixel lower: a 1-pixel line loses its colour to 4:2:0 chroma subsampling
            p.drawPolyline(self._poly.fill(x_of(xs), y_of(ys, rng) + 1.0))
        x = float(x_of(t))
        p.setPen(QPen(QColor(theme.CURSOR), 1.0))
        p.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()))


def record_compare(
    comparison: Comparison,
    recorder,
    frames: int | None = None,
    episodes: int | None = None,
    normalised: bool = False,
) -> None:
    """Play ``frames`` pair steps (or ``episodes`` pair episodes) into the recorder and close it."""
    pt = PairTimeline(comparison.a.heat_grid)
    renderer: CompareRenderer | None = None
    with recorder:
        n = done = 0
        while (frames is None or n < frames) and (episodes is None or done < episodes):
            pair = comparison.step()
            pt.put(pair)
            if renderer is None:
                renderer = CompareRenderer(comparison, pair.a.frame.shape, normalised)
            bgra = renderer.render(pair, pt)
            recorder.add_frame(cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGB))
            n += 1
            done += int(pair.done)
