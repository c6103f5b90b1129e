"""The game frame, scaled with crisp (nearest-neighbour) pixels, or the observation the network sees."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter
from PyQt6.QtWidgets import QGraphicsView, QWidget

from snd_player.app.widgets import theme
from snd_player.core.session import StepRecord

VIEW_MODES = ("frame", "stack", "newest")
VIEW_LABELS = {"frame": "game frame", "stack": "network input (stack)", "newest": "network input (newest)"}


def obs_image(obs: np.ndarray, mode: str) -> np.ndarray:
    """The observation (C, H, W) as an image (H', W') gray or (H', W', 3) RGB, row-major.

    Atari stacks are 1 gray frame per channel, Procgen stacks 3 channels per RGB frame; newest first. The
    stack is tiled in reading order, newest top-left, with 2-pixel gaps: 4 frames as 2x2, 2 frames one above
    the other (both fill a tall game panel better than a row).
    """
    c, h, w = obs.shape
    rgb = c % 3 == 0 and c != 4 and c >= 3  # Procgen: 6 = 2 RGB frames
    frames = (
        [obs[i : i + 3].transpose(1, 2, 0) for i in range(0, c, 3)] if rgb else [obs[i] for i in range(c)]
    )
    if mode == "newest":
        return np.ascontiguousarray(frames[0])
    k = len(frames)
    cols = 1 if k <= 2 else int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    gap = 2
    shape = (rows * (h + gap) - gap, cols * (w + gap) - gap) + ((3,) if rgb else ())
    out = np.full(shape, 40, np.uint8)
    for i, f in enumerate(frames):
        r, q = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, q * (w + gap) : q * (w + gap) + w] = f
    return out


class Overlay(QWidget):
    """Score, lives, room and step over the game: a dark rounded box with monospace text, painted directly.

    (A styled QLabel re-measured and re-laid itself out for each new step; this repaints its box and
    changes size only when the text's length does.) Narrower than the text, the line wraps at its " · "
    separators instead of losing the step number."""

    PAD_X, PAD_Y = 8, 3
    SEP = " · "

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSizeF(11.0)
        self.setFont(font)
        self._fm = QFontMetrics(font)
        self._text = ""
        self._lines: list[str] = []
        self.max_width = 10_000
        self._bg = QColor(0, 0, 0, 175)
        self._fg = QColor(theme.TEXT)

    def text(self) -> str:
        return self._text

    def lines(self) -> list[str]:
        """The lines as painted (more than one when the view is narrower than the text)."""
        return list(self._lines)

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's name
        if text == self._text:
            return
        self._text = text
        self._relayout()

    def set_max_width(self, w: int) -> None:
        if w != self.max_width:
            self.max_width = w
            self._relayout()

    def _relayout(self) -> None:
        room = self.max_width - 2 * self.PAD_X
        lines: list[str] = []
        for part in self._text.split(self.SEP) if self._text else []:
            if lines and self._fm.horizontalAdvance(lines[-1] + self.SEP + part) <= room:
                lines[-1] += self.SEP + part
            else:
                lines.append(part)
        self._lines = lines
        w = max((self._fm.horizontalAdvance(t) for t in lines), default=0) + 2 * self.PAD_X
        size = QSize(min(w, self.max_width), len(lines) * self._fm.lineSpacing() + 2 * self.PAD_Y)
        if size != self.size():
            self.resize(size)
            self.parentWidget().place_overlay()
        self.update()

    def paintEvent(self, ev) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self._bg)
        p.drawRoundedRect(QRectF(self.rect()), 3, 3)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(self._fg)
        h = self._fm.lineSpacing()
        for i, line in enumerate(self._lines):
            p.drawText(
                self.PAD_X,
                self.PAD_Y + i * h,
                self.width() - self.PAD_X,
                h,
                int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                line,
            )
        p.end()


class FrameItem(pg.GraphicsObject):
    """An image shown with nearest-neighbour pixels, kept in Qt's own 32-bit RGB format.

    pyqtgraph's ImageItem hands Qt 24-bit RGB (RGB888). Qt draws a scaled image of that format by fetching
    and converting each span, and splits that work over its GUI thread pool: drawing the Atari frame at
    the panel's size took 0.9 ms of CPU across three threads a frame, and the two pool threads took time
    from the core the session's process steps on. The same image as RGB32 is drawn on the calling thread
    alone in a fifth of that (``scripts/bench_player.py``). The conversion is one numpy pass over the
    small source frame, written into the QImage's own memory."""

    def __init__(self) -> None:
        super().__init__()
        self.image: np.ndarray | None = None
        """The array last shown, (H, W) gray or (H, W, 3) RGB uint8."""
        self.qimage: QImage | None = None

    def setImage(self, img: np.ndarray) -> None:  # noqa: N802 - ImageItem's name
        img = np.asarray(img)
        if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
            raise ValueError(f"a frame must be (H, W) or (H, W, 3) uint8, got {img.shape} {img.dtype}")
        h, w = img.shape[:2]
        if self.qimage is None or (self.qimage.height(), self.qimage.width()) != (h, w):
            self.prepareGeometryChange()
            self.qimage = QImage(w, h, QImage.Format.Format_RGB32)
        bits = self.qimage.bits()
        bits.setsize(self.qimage.sizeInBytes())
        out = np.frombuffer(bits, np.uint32).reshape(h, self.qimage.bytesPerLine() // 4)[:, :w]
        if img.ndim == 2:
            np.multiply(img, np.uint32(0x010101), out=out, dtype=np.uint32)
        else:
            np.left_shift(img[..., 0], 16, out=out, dtype=np.uint32)
            out |= img[..., 1].astype(np.uint32) << 8
            out |= img[..., 2]
        out |= np.uint32(0xFF000000)
        self.image = img
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt name
        if self.qimage is None:
            return QRectF()
        return QRectF(0, 0, self.qimage.width(), self.qimage.height())

    def paint(self, p: QPainter, *args) -> None:
        if self.qimage is not None:
            p.drawImage(self.boundingRect(), self.qimage)


class GameView(pg.GraphicsLayoutWidget):
    """Frame or observation, plus an overlay with score, lives, room and step."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground(theme.BG)
        self.ci.setContentsMargins(0, 0, 0, 0)
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.view.setDefaultPadding(0.0)
        self.view.disableAutoRange()  # the range is set once per image size in show_record
        self.image = FrameItem()
        self.view.addItem(self.image)
        # a widget over the view: stays crisp and costs nothing to lay out in the scene
        # One rectangle per frame: the image and the overlay change every frame, and the region Qt built
        # from their two rectangles plus the strip under the overlay (three rectangles) sent the scaled
        # image down Qt's span-by-span path, spread over its thread pool. And the view is opaque, so the
        # overlay's translucent corners no longer repaint the window behind the view as well.
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.overlay = Overlay(self)
        self.overlay.hide()
        self.mode = "frame"
        self._shape: tuple[int, ...] | None = None
        self._last: StepRecord | None = None
        self.saliency: Any = None
        """A :class:`snd_player.core.saliency.SaliencyMap` drawn over the game frame (the window's live
        overlay, snd_player.app.saliency_view), or None for the plain frame."""
        self.saliency_opacity = 0.7
        self._blended: tuple[tuple, np.ndarray] | None = None  # (key, frame with the map) of the last blend

    def set_mode(self, mode: str) -> None:
        if mode not in VIEW_MODES:
            raise ValueError(f"view mode must be one of {VIEW_MODES}")
        self.mode = mode
        self._shape = None
        if self._last is not None:
            self.show_record(self._last)

    def show_record(self, rec: StepRecord) -> None:
        self._last = rec
        if self.image.opacity() == 0.0:
            self.image.setOpacity(1.0)
            self.overlay.show()
        img = rec.frame if self.mode == "frame" else obs_image(rec.obs, self.mode)
        if self.saliency is not None and self.mode == "frame":
            img = self._with_saliency(rec.frame)
        self.image.setImage(img)
        if img.shape != self._shape:  # new size: fit the view once, not every frame
            self._shape = img.shape
            self.view.setRange(xRange=(0, img.shape[1]), yRange=(0, img.shape[0]), padding=0)
        room = f"room {rec.room}" if rec.room >= 0 else ""
        if rec.level > 0 and rec.room >= 0:
            room = f"level {rec.level + 1} · " + room
        lives = f"lives {rec.lives}" if rec.lives >= 0 else ""
        parts = [f"score {rec.score:g}", lives, room, f"step {rec.t}"]
        text = " · ".join(p for p in parts if p) + (" · episode over" if rec.done else "")
        self.overlay.setText(text)  # a no-op for the same text

    def _with_saliency(self, frame: np.ndarray) -> np.ndarray:
        """The frame with the saliency map blended over it and its colour scale (a few ms on a Procgen
        frame), blended once per frame, map and opacity."""
        from snd_player.core.saliency import overlay

        key = (id(frame), id(self.saliency), self.saliency_opacity)
        if self._blended is None or self._blended[0] != key:
            # the colour scale top-left: the score line covers the bottom-left corner
            self._blended = (key, overlay(frame, self.saliency, self.saliency_opacity, corner="top-left"))
        return self._blended[1]

    def place_overlay(self) -> None:
        """Bottom-left, over the floor of Atari frames rather than the game's own score line; inside the
        view at every size (wider than the view, the line wraps instead of losing its step number)."""
        self.overlay.move(8, max(0, self.height() - self.overlay.height() - 8))

    @property
    def overlay_text(self) -> str:
        return self.overlay.text()

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(ev)
        if hasattr(self, "overlay"):  # pyqtgraph calls this from its own __init__
            self.overlay.set_max_width(max(self.width() - 16, 60))
            self.place_overlay()

    def blank(self) -> None:
        """Show nothing until the next record (not ``clear``: GraphicsLayoutWidget forwards that name to
        its layout, where it removes every item)."""
        self._last = None
        self._shape = None
        self.image.setOpacity(0.0)
        self.overlay.hide()
