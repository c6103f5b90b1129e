"""Text that changes every frame, painted directly instead of through a QLabel.

``QLabel.setText`` asks for a new geometry on every change, which invalidates the layouts up to the main
window: with the step count in the status bar, the timeline line, the policy title and the game overlay
that was a relayout of the whole window per frame (about 2 ms of the GUI thread's 16 ms at max speed on
the 2-core machine). These widgets repaint their own rectangle on a new text and ask for a new geometry
only when the text no longer fits the width they asked for (widths grow, so a counter gaining a digit
re-lays out once, not every frame).
"""

from __future__ import annotations

from collections.abc import Sequence

from PyQt6.QtCore import QRect, QSize, Qt
from PyQt6.QtGui import QColor, QFont, QFontMetrics, QPainter
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


class TextRuns(QWidget):
    """A few centred lines of coloured runs (what the policy panel used a rich-text QLabel for)."""

    def __init__(self, n_lines: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lines: tuple[tuple[Run, ...], ...] = ()
        self._n = n_lines
        self._fonts: tuple | None = None  # (font key, plain, bold, their metrics), made on first paint
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        """The plain text, lines joined by newlines."""
        return "\n".join("".join(r[0] for r in line) for line in self._lines)

    def set_lines(self, lines: Sequence[Sequence[Run]]) -> None:
        lines = tuple(tuple(line) for line in lines)
        if lines != self._lines:
            self._lines = lines
            self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt name
        return QSize(120, self._n * self.fontMetrics().lineSpacing() + 2)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt name
        return QSize(0, self.sizeHint().height())

    def _font_pair(self) -> tuple[QFont, QFont, QFontMetrics, QFontMetrics]:
        """The plain and bold fonts and metrics, rebuilt only when the widget's font changes (this paints
        every frame)."""
        key = self.font().key()
        if self._fonts is None or self._fonts[0] != key:
            plain, bold = QFont(self.font()), QFont(self.font())
            bold.setWeight(QFont.Weight.DemiBold)
            self._fonts = (key, plain, bold, QFontMetrics(plain), QFontMetrics(bold))
        return self._fonts[1:]

    def paintEvent(self, ev) -> None:  # noqa: N802 - Qt name
        if not self._lines:
            return
        p = QPainter(self)
        plain, bold, fm_plain, fm_bold = self._font_pair()
        default = self.palette().windowText().color()
        h = fm_plain.lineSpacing()
        top = (self.height() - h * len(self._lines)) // 2
        for i, line in enumerate(self._lines):
            width = sum((fm_bold if b else fm_plain).horizontalAdvance(t) for t, _, b in line)
            x = max(0, (self.width() - width) // 2)
            for text, color, b in line:
                fm = fm_bold if b else fm_plain
                p.setFont(bold if b else plain)
                p.setPen(QColor(color) if color else default)
                w = fm.horizontalAdvance(text)
                p.drawText(QRect(x, top + i * h, w + 1, h), int(Qt.AlignmentFlag.AlignVCenter), text)
                x += w
        p.end()
