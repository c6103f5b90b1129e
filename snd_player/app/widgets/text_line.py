"""Text that changes every frame, painted directly instead of through a QLabel.

``QLabel.setText`` asks for a new geometry on every change, which invalidates the layouts up to the main
window: with the step count in the status bar, the timeline line and the game overlay
that was a relayout of the whole window per frame (about 2 ms of the GUI thread's 16 ms at max speed on
the 2-core machine). These widgets repaint their own rectangle on a new text and ask for a new geometry
only when the text no longer fits the width they asked for (widths grow, so a counter gaining a digit
re-lays out once, not every frame).
"""

from __future__ import annotations

from PyQt6.QtCore import QSize, Qt
from PyQt6.QtGui import QColor, QPainter
from PyQt6.QtWidgets import QSizePolicy, QWidget

Run = tuple[str, str | None, bool]
"""A piece of a line: text, colour (None: the widget's text colour), bold."""


class TextLine(QWidget):
    """One line of plain text, elided on the right when the widget is narrower than the text."""

    def __init__(
        self,
        text: str = "",
        color: str | None = None,
        padding: int = 8,
        align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._text = ""
        self._color = QColor(color) if color else None
        self._pad = padding
        self._align = align
        self._hint_w = 0
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's name, so callers need not care
        if text == self._text:
            return
        self._text = text
        w = self.fontMetrics().horizontalAdvance(text) if text else 0
        # grow to fit; shrink only to nothing (a panel with nothing to say gives its room back)
        if w > self._hint_w or (w == 0 and self._hint_w):
            self._hint_w = w
            self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt name
        fm = self.fontMetrics()
        return QSize(self._hint_w + 2 * self._pad if self._hint_w else 0, fm.height() + 2)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt name
        return QSize(0, self.fontMetrics().height() + 2)

    def paintEvent(self, ev) -> None:  # noqa: N802 - Qt name
        if not self._text:
            return
        p = QPainter(self)
        p.setPen(self._color or self.palette().windowText().color())
        r = self.rect().adjusted(self._pad, 0, -self._pad, 0)
        fm = self.fontMetrics()
        text = self._text
        if fm.horizontalAdvance(text) > r.width():
            text = fm.elidedText(text, Qt.TextElideMode.ElideRight, max(r.width(), 0))
        p.drawText(r, int(self._align | Qt.AlignmentFlag.AlignVCenter), text)
        p.end()
