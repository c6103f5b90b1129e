"""Episode timeline: a slider over the known steps with bookmarks (r_int peaks, new rooms) drawn on it."""

from __future__ import annotations

from PyQt6.QtCore import QRect, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QPainter, QPen
from PyQt6.QtWidgets import QSlider, QStyle, QStyleOptionSlider

from snd_player.timeline import Bookmark
from snd_player.widgets import theme

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
        self.sliderMoved.connect(self.scrubbed)
        self.setMouseTracking(True)  # hovering a bookmark names it
        self._hint = "episode timeline: drag to scrub back, [ and ] jump between bookmarks"
        self.setToolTip(self._hint)

    def set_state(self, horizon: int, cursor: int, bookmarks: list[Bookmark]) -> None:
        self.blockSignals(True)
        self.setRange(0, max(horizon - 1, 0))
        if not self.isSliderDown():
            self.setValue(cursor)
        self.blockSignals(False)
        if bookmarks != self.bookmarks:
            self.bookmarks = bookmarks
        self.update()

    def _rects(self) -> tuple[QRect, QRect]:
        """Groove and handle rectangles, as the style draws them."""
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
        groove, handle = self._rects()
        span = groove.width() - handle.width()
        return groove.x() + handle.width() / 2, span / max(self.maximum(), 1)

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
        super().paintEvent(ev)
        if not self.bookmarks or self.maximum() <= 0:
            return
        x0, per_step = self._geometry()
        p = QPainter(self)
        for b in self.bookmarks:
            x = x0 + b.t * per_step
            p.setPen(QPen(QColor(MARK_COLORS.get(b.kind, theme.TEXT)), 2))
            if b.kind == "room":
                p.drawLine(int(x), 1, int(x), 9)
            else:
                p.drawLine(int(x), self.height() - 9, int(x), self.height() - 1)
        p.end()
