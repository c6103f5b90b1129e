"""Action probabilities as horizontal bars with the action names, the chosen action highlighted; on a step a
person drove (drive mode), the agent's own choice highlighted and the person's action in the driven colour.

One widget paints it all with QPainter. It was a pyqtgraph plot under a text line: at max speed that
panel cost about 1.2 ms of the GUI thread's 16.7 ms a frame (plot 0.5, the text line 0.3, and the dock
behind it 0.35, painted again because neither child was opaque; ``scripts/bench_player.py``). Here the
names, grid and axis are drawn once per size into a pixmap, and a frame draws that pixmap, the bars and
two lines of text on an opaque widget.
"""

from __future__ import annotations

import math

import numpy as np
from PyQt6.QtCore import QPointF, QRect, QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QPixmap, QStaticText
from PyQt6.QtWidgets import QSizePolicy, QWidget

from snd_player.app.widgets import theme
from snd_player.app.widgets.text_line import Run
from snd_player.core.session import StepRecord

X_PAD = 0.02
"""The probability axis spans [-X_PAD, 1 + X_PAD], so an empty bar and a full one stay visible."""
BAR_HEIGHT = 0.72
"""Of a row."""
TICKS = ((0.0, "0"), (0.5, "0.5"), (1.0, "1"))
"""Three ticks fit any dock width; automatic ones ran together as "0.20.40.60.8" in a narrow dock."""


def display_name(name: str) -> str:
    return name.replace("FIRE", "FIRE ").strip().lower()


class PolicyBars(QWidget):
    """A line with the chosen action and its probability, a line with the entropy, and one bar per
    action over a probability axis from 0 to 1 (fixed, so bars compare across frames)."""

    def __init__(self, action_names: list[str], parent=None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # the dock behind is not repainted
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.names = list(action_names)
        self.labels = [display_name(n) for n in self.names]
        a = len(self.names)
        self.probs = np.zeros(a, np.float64)
        self.chosen = -1
        self.human = -1
        """The action a person took on this step (drive mode), or -1 on the agent's own steps."""
        self.max_entropy = math.log(max(a, 1))
        self.lines: tuple[tuple[Run, ...], ...] = ()
        self._last_t: tuple | None = None
        self._static: QPixmap | None = None  # background, names, grid and axis for the current size
        self._static_key: tuple | None = None
        self._geometry: tuple | None = None
        self._fonts: tuple | None = None
        self._bg, self._panel = QColor(theme.BG), QColor(theme.PANEL)
        self._bar, self._chosen = QColor(theme.BAR), QColor(theme.CHOSEN)
        self._human = QColor(theme.DRIVEN)
        self._outline_color = QColor(theme.TEXT)
        self._runs: dict[tuple[str, bool], QStaticText] = {}
        self._text, self._muted = QColor(theme.TEXT), QColor(theme.MUTED)

    # -- data ---------------------------------------------------------------------------------------------
    def show_record(self, rec: StepRecord) -> None:
        # a step driven again after a seek has the same (episode, t) but another action
        key = (rec.episode, rec.t, rec.action, getattr(rec, "chooser", "agent"))
        if key == self._last_t:
            return
        self._last_t = key
        self.probs = np.asarray(rec.probs, np.float64)
        driven = getattr(rec, "driven", False) and 0 <= rec.agent_action < len(self.names)
        self.chosen = rec.agent_action if driven else rec.action
        self.human = rec.action if driven else -1

        def p(a: int) -> str:
            return f"  p = {rec.probs[a]:.2f}" if 0 <= a < len(rec.probs) else ""

        entropy = (
            ("entropy ", theme.MUTED, False),
            (f"{rec.entropy:.2f}", None, False),
            (f" of max {self.max_entropy:.2f} nats", theme.MUTED, False),
        )
        if driven:  # the person's action, then what the agent would have done (and how sure it is)
            self.lines = (
                (
                    ("you ", theme.MUTED, False),
                    (rec.action_name, theme.DRIVEN, True),
                    (p(rec.action), None, False),
                ),
                (
                    ("agent ", theme.MUTED, False),
                    (self.names[self.chosen], theme.CHOSEN, True),
                    (p(self.chosen), None, False),
                    (f" · H {rec.entropy:.2f}", theme.MUTED, False),
                ),
            )
        else:
            self.lines = (((rec.action_name, theme.CHOSEN, True), (p(rec.action), None, False)), entropy)
        self.update()

    def title(self) -> str:
        """The two text lines, joined by a newline."""
        return "\n".join("".join(r[0] for r in line) for line in self.lines)

    def columns(self) -> dict[str, np.ndarray]:
        """What the bars show, for Save data (CSV)."""
        return {"action": np.array(self.names), "probability": self.probs.copy()}

    # -- geometry -----------------------------------------------------------------------------------------
    def _font_set(self) -> tuple[QFont, QFont, QFontMetrics, QFontMetrics, QFont, QFontMetrics]:
        """Plain and bold fonts for the text lines, a smaller one for names and ticks (as the plots' axes),
        rebuilt only when the widget's font changes."""
        key = self.font().key()
        if self._fonts is None or self._fonts[0] != key:
            plain, bold, small = QFont(self.font()), QFont(self.font()), QFont(self.font())
            bold.setWeight(QFont.Weight.DemiBold)
            small.setPointSizeF(max(self.font().pointSizeF() * 0.9, 7.0))
            self._fonts = (
                key,
                plain,
                bold,
                QFontMetrics(plain),
                QFontMetrics(bold),
                small,
                QFontMetrics(small),
            )
        return self._fonts[1:]

    def title_height(self) -> int:
        return 2 * self._font_set()[2].lineSpacing() + 4

    def _layout(self) -> dict:
        """Where everything goes at the current size and font (worked out again only when they change)."""
        key = (self.width(), self.height(), self.font().key())
        if self._geometry is not None and self._geometry[0] == key:
            return self._geometry[1]
        fm = self._font_set()[5]
        names_w = max((fm.horizontalAdvance(t) for t in self.labels), default=0)
        left = 6 + names_w + 8
        top = self.title_height() + 6
        bottom = self.height() - 2 * fm.lineSpacing() - 8
        r = QRectF(left, top, max(self.width() - left - 12, 1), max(bottom - top, 1))
        row_h = r.height() / max(len(self.names), 1)
        every = max(1, math.ceil(fm.height() / max(row_h, 1e-6)))  # names never overlap
        names = []
        for i, text in enumerate(self.labels):
            if i % every == 0:
                w = fm.horizontalAdvance(text)
                y = r.top() + (i + 0.5) * row_h
                names.append((QRectF(r.left() - 8 - w, y - fm.height() / 2, w, fm.height()), text))
        ticks = []
        for p, text in TICKS:
            w = fm.horizontalAdvance(text)
            x = min(max(self._x(r, p) - w / 2, 0.0), self.width() - w - 1.0)
            ticks.append((QRectF(x, r.bottom() + 4, w, fm.height()), text))
        label = QRectF(r.left(), r.bottom() + 4 + fm.lineSpacing(), r.width(), fm.height())
        geo = {"plot": r, "row_h": row_h, "names": names, "ticks": ticks, "label": label}
        self._geometry = (key, geo)
        return geo

    def plot_rect(self) -> QRectF:
        """Where the bars go: right of the names, above the tick labels and the axis label."""
        return QRectF(self._layout()["plot"])

    @staticmethod
    def _x(r: QRectF, p: float) -> float:
        return r.left() + (p + X_PAD) / (1 + 2 * X_PAD) * r.width()

    def tick_label_rects(self) -> list[QRectF]:
        """The boxes of the probability axis' tick labels, as painted."""
        return [QRectF(rect) for rect, _ in self._layout()["ticks"]]

    def name_rects(self) -> list[tuple[QRectF, str]]:
        """The boxes of the action names painted (every k-th one when a row is shorter than a line of
        text), with their text, in row order."""
        return [(QRectF(rect), text) for rect, text in self._layout()["names"]]

    def bar_rects(self) -> list[QRect]:
        """The bars as painted (whole pixels: Qt fills those on its fast path), in action order."""
        geo = self._layout()
        r, h = geo["plot"], geo["row_h"]
        x0 = round(self._x(r, 0.0))
        top = [round(r.top() + (i + 0.5 - BAR_HEIGHT / 2) * h) for i in range(len(self.probs))]
        bh = max(1, round(BAR_HEIGHT * h))
        return [
            QRect(x0, y, max(1, round(self._x(r, float(prob))) - x0), bh) for y, prob in zip(top, self.probs)
        ]

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt name
        return QSize(220, 400)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt name
        return QSize(120, self.title_height() + 80)

    # -- painting -----------------------------------------------------------------------------------------
    def _static_pixmap(self) -> QPixmap:
        dpr = self.devicePixelRatioF()
        key = (self.width(), self.height(), dpr, self.font().key())
        if self._static is not None and self._static_key == key:
            return self._static
        pm = QPixmap(max(1, round(self.width() * dpr)), max(1, round(self.height() * dpr)))
        pm.setDevicePixelRatio(dpr)
        p = QPainter(pm)
        th = self.title_height()
        p.fillRect(QRect(0, 0, self.width(), th), self._panel)
        p.fillRect(QRect(0, th, self.width(), self.height() - th), self._bg)
        geo = self._layout()
        r = geo["plot"]
        grid = QColor(theme.TEXT)
        grid.setAlphaF(0.15)
        p.setPen(QPen(grid, 0))
        for x, _ in TICKS[1:]:
            p.drawLine(QPointF(self._x(r, x), r.top()), QPointF(self._x(r, x), r.bottom()))
        p.setPen(QPen(QColor(theme.GRID), 0))
        p.drawLine(QPointF(r.left(), r.top()), QPointF(r.left(), r.bottom() + 1))
        p.drawLine(QPointF(r.left(), r.bottom() + 1), QPointF(r.right(), r.bottom() + 1))
        for x, _ in TICKS:
            p.drawLine(QPointF(self._x(r, x), r.bottom() + 1), QPointF(self._x(r, x), r.bottom() + 4))
        p.setFont(self._font_set()[4])
        p.setPen(self._muted)
        for rect, text in geo["names"]:
            p.drawText(rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
        for rect, text in geo["ticks"]:
            p.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
        p.drawText(geo["label"], int(Qt.AlignmentFlag.AlignCenter), "probability")
        p.end()
        self._static, self._static_key = pm, key
        return pm

    def _run(self, text: str, bold: bool) -> QStaticText:
        """A laid-out piece of text. The texts repeat (18 action names, probabilities and entropies with two
        decimals), and laying out a new string costs more than drawing it twice over."""
        key = (text, bold)
        st = self._runs.get(key)
        if st is None:
            if len(self._runs) > 4000:
                self._runs.clear()
            plain, bold_font = self._font_set()[:2]
            st = QStaticText(text)
            st.setTextFormat(Qt.TextFormat.PlainText)
            st.prepare(font=bold_font if bold else plain)
            self._runs[key] = st
        return st

    def paintEvent(self, ev) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        p.drawPixmap(0, 0, self._static_pixmap())
        for i, bar in enumerate(self.bar_rects()):
            p.fillRect(bar, self._outline_color)
            if bar.width() > 2 and bar.height() > 2:
                fill = self._human if i == self.human else self._chosen if i == self.chosen else self._bar
                p.fillRect(bar.adjusted(1, 1, -1, -1), fill)
            if i == self.human:  # the person's action: a mark left of its bar, even where p is ~0
                p.fillRect(QRect(bar.left() - 5, bar.top(), 3, bar.height()), self._human)
        plain, bold, fm_plain = self._font_set()[:3]
        h = fm_plain.lineSpacing()
        for i, line in enumerate(self.lines):
            runs = [(self._run(t, b), c, b) for t, c, b in line]
            x = max(0.0, (self.width() - sum(st.size().width() for st, _, _ in runs)) / 2)
            y = 2 + i * h + (h - fm_plain.height()) / 2
            for st, color, b in runs:
                p.setFont(bold if b else plain)
                p.setPen(QColor(color) if color else self._text)
                p.drawStaticText(QPointF(x, y), st)
                x += st.size().width()
        p.end()
