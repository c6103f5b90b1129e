"""Episode timeline: a slider over the known steps with bookmarks (r_int peaks, new rooms) drawn on it.

It paints itself: the style's slider (Fusion: gradients, a shadowed handle) cost about 0.5 ms a frame at
max speed, where the handle moves every frame; this draws the same groove, filled part and handle as
plain shapes at a fifth of that. The geometry (where the groove and the handle are) is still the style's,
so clicks and drags land where they did."""

from __future__ import annotations

from PyQt6.QtCore import QRect, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QPainter, QPen
from PyQt6.QtWidgets import QSlider, QStyle, QStyleOptionSlider

from snd_player.app.widgets import theme
from snd_player.core.timeline import Bookmark

MARK_COLORS = {"peak": theme.R_INT, "room": theme.ROOM_LINE}


class TimelineSlider(QSlider):
    """``scrubbed(t)`` fires when the user moves the handle (not when the cursor follows playback)."""

    scrubbed = pyqtSignal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the window's shortcuts
        self.setMinimumHeight(30)
        self.setRange(0, 0)
        self.bookmarks: list[Bookmark] = []
        self.driven: list[tuple[int, int]] = []
        self.sliderMoved.connect(self.scrubbed)
        self.setMouseTracking(True)  # hovering a bookmark names it
        self._hint = "episode timeline: drag to scrub back, [ and ] jump between bookmarks"
        self.setToolTip(self._hint)
        self._frame_key: tuple | None = None
        self._frame_rects = (QRect(), QRect())
        self._groove, self._fill = QColor(theme.GRID), QColor(theme.ACCENT)
        self._handle, self._handle_edge = QColor(theme.PANEL_2), QColor(theme.MUTED)
        self._driven = QColor(theme.DRIVEN)

    def set_state(
        self, horizon: int, cursor: int, bookmarks: list[Bookmark], driven: list[tuple[int, int]] = ()
    ) -> None:
        """``driven``: [start, end) runs of steps a person drove, drawn on the groove in their colour."""
        self.driven = list(driven)
        self.blockSignals(True)
        self.setRange(0, max(horizon - 1, 0))
        if not self.isSliderDown():
            self.setValue(cursor)
        self.blockSignals(False)
        if bookmarks != self.bookmarks:
            self.bookmarks = bookmarks
        self.update()

    def _rects(self) -> tuple[QRect, QRect]:
        """Groove and handle rectangles, as the style lays them out."""
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        cc, sc = QStyle.ComplexControl.CC_Slider, QStyle.SubControl
        style = self.style()
        return (
            style.subControlRect(cc, opt, sc.SC_SliderGroove, self),
            style.subControlRect(cc, opt, sc.SC_SliderHandle, self),
        )

    def _geometry(self) -> tuple[float, float]:
        """x of step 0 and pixels per step."""
        groove, handle = self._frame()
        span = groove.width() - handle.width()
        return groove.x() + handle.width() / 2, span / max(self.maximum(), 1)

    def _frame(self) -> tuple[QRect, QRect]:
        """The groove and the handle's size, asked of the style once per widget size and style."""
        key = (self.width(), self.height(), id(self.style()))
        if self._frame_key != key:
            self._frame_key, self._frame_rects = key, self._rects()
        return self._frame_rects

    def mousePressEvent(self, ev) -> None:  # noqa: N802 - Qt name
        # jump to the clicked step instead of paging, then behave like a drag
        if ev.button() == Qt.MouseButton.LeftButton and self.maximum() > 0:
            _, handle = self._rects()
            if not handle.contains(ev.position().toPoint()):
                x0, per_step = self._geometry()
                value = min(max(round((ev.position().x() - x0) / per_step), 0), self.maximum())
                self.setValue(value)
                self.scrubbed.emit(value)
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802 - Qt name
        if self.bookmarks and self.maximum() > 0:
            x0, per_step = self._geometry()
            x = ev.position().x()
            near = min(self.bookmarks, key=lambda b: abs(x0 + b.t * per_step - x))
            if abs(x0 + near.t * per_step - x) <= 4:
                self.setToolTip(f"step {near.t}: {near.label}")
            else:
                self.setToolTip(self._hint)
        super().mouseMoveEvent(ev)

    def paintEvent(self, ev) -> None:  # noqa: N802 - Qt name
        groove, handle = self._frame()
        x0, per_step = self._geometry()
        cy = groove.center().y()
        p = QPainter(self)
        p.fillRect(QRect(groove.x(), cy - 2, groove.width(), 4), self._groove)
        hx = round(x0 + (self.value() - self.minimum()) * per_step)
        if self.isEnabled() and self.maximum() > self.minimum():
            p.fillRect(QRect(groove.x(), cy - 1, hx - groove.x(), 2), self._fill)
        for a, b in self.driven if self.maximum() > 0 else ():  # driven steps: a band over the groove
            xa, xb = round(x0 + (a - 0.5) * per_step), round(x0 + (b - 0.5) * per_step)
            p.fillRect(QRect(xa, cy - 3, max(xb - xa, 2), 6), self._driven)
        for b in self.bookmarks if self.maximum() > 0 else ():
            x = int(x0 + b.t * per_step)
            p.setPen(QPen(QColor(MARK_COLORS.get(b.kind, theme.TEXT)), 2))
            if b.kind == "room":
                p.drawLine(x, 1, x, 9)
            else:
                p.drawLine(x, self.height() - 9, x, self.height() - 1)
        w, h = handle.width(), handle.height()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(self._handle_edge, 1))
        p.setBrush(self._handle)
        p.drawRoundedRect(QRectF(hx - w / 2 + 0.5, cy - h / 2 + 0.5, w - 1, h - 1), 2, 2)
        p.end()
