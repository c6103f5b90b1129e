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
        self.setToolTip("episode timeline: drag to scrub back, [ and ] jump between bookmarks")

    def set_state(self, horizon: int, cursor: int, bookmarks: list[Bookmark]) -> None:
        self.blockSignals(True)
        self.setRange(0, max(horizon - 1, 0))
        if not self.isSliderDown():
            self.setValue(cursor)
        self.blockSignals(False)
        if bookmarks != self.bookmarks:
            self.bookmarks = bookmarks
        self.update()

    def mousePressEvent(self, ev) -> None:  # noqa: N802 - Qt name
        # jump to the clicked position instead of paging, then behave like a drag
        if ev.button() == Qt.MouseButton.LeftButton and self.maximum() > 0:
            opt = QStyleOptionSlider()
            self.initStyleOption(opt)
            groove = self.style().subControlRect(
                QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderGroove, self
            )
            handle = self.style().subControlRect(
                QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self
            )
            if not handle.contains(ev.position().toPoint()):
                span = max(groove.width() - handle.width(), 1)
                x = ev.position().x() - groove.x() - handle.width() / 2
                value = QStyle.sliderValueFromPosition(self.minimum(), self.maximum(), int(x), span)
                self.setValue(value)
                self.scrubbed.emit(value)
        super().mousePressEvent(ev)

    def paintEvent(self, ev) -> None:  # noqa: N802 - Qt name
        super().paintEvent(ev)
        if not self.bookmarks or self.maximum() <= 0:
            return
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        groove: QRect = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderGroove, self
        )
        handle = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self
        )
        span = groove.width() - handle.width()
        x0 = groove.x() + handle.width() / 2
        p = QPainter(self)
        for b in self.bookmarks:
            x = x0 + span * b.t / self.maximum()
            p.setPen(QPen(QColor(MARK_COLORS.get(b.kind, theme.TEXT)), 2))
            if b.kind == "room":
                p.drawLine(int(x), 1, int(x), 9)
            else:
                p.drawLine(int(x), self.height() - 9, int(x), self.height() - 1)
        p.end()
