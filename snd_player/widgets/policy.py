"""Action probabilities as horizontal bars with the action names, the chosen action highlighted."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QVBoxLayout, QWidget

from snd_player.session import StepRecord
from snd_player.widgets import theme
from snd_player.widgets.text_line import TextRuns


class PolicyBars(QWidget):
    """A line with the chosen action, its probability and the entropy, over one bar per action.

    The line is painted text rather than the plot's title or a rich-text QLabel: re-laying out either
    every frame costs more than drawing the bars (see text_line.py)."""

    def __init__(self, action_names: list[str], parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 2, 2)
        lay.setSpacing(0)
        self.title = TextRuns(2)
        lay.addWidget(self.title)
        self.view = pg.PlotWidget()
        lay.addWidget(self.view, 1)
        self.plot = self.view.getPlotItem()
        theme.style_plot(self.plot)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        self.names = list(action_names)
        a = len(self.names)
        self._y = np.arange(a, dtype=np.float64)
        self.bars = pg.BarGraphItem(
            x0=np.zeros(a), y=self._y, height=0.72, width=np.zeros(a), brush=theme.BAR
        )
        self.plot.addItem(self.bars)
        left = self.plot.getAxis("left")
        left.setTicks([[(i, n.replace("FIRE", "FIRE ").strip().lower()) for i, n in enumerate(self.names)]])
        left.setStyle(tickTextOffset=4)
        self.plot.invertY(True)
        self.plot.setXRange(0, 1, padding=0.02)  # fixed: bars compare across frames
        self.plot.disableAutoRange()
        self.plot.setYRange(-0.6, a - 0.4, padding=0)
        self.plot.setLabel("bottom", "probability", color=theme.MUTED)
        # three ticks fit any dock width; automatic ones ran together as "0.20.40.60.8" in a narrow dock
        self.plot.getAxis("bottom").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")]])
        self.max_entropy = math.log(max(a, 1))
        self._brushes_default = [pg.mkBrush(theme.BAR)] * a
        self._chosen_brush = pg.mkBrush(theme.CHOSEN)
        self._last_t: tuple[int, int] | None = None

    def columns(self) -> dict[str, np.ndarray]:
        """What the bars show, for Save data (CSV)."""
        probs = np.asarray(self.bars.opts.get("width"), np.float64)
        return {"action": np.array(self.names), "probability": probs}

    def show_record(self, rec: StepRecord) -> None:
        key = (rec.episode, rec.t)
        if key == self._last_t:
            return
        self._last_t = key
        brushes = list(self._brushes_default)
        if 0 <= rec.action < len(brushes):
            brushes[rec.action] = self._chosen_brush
        self.bars.setOpts(width=rec.probs.astype(np.float64), brushes=brushes)
        self.title.set_lines(
            [
                [(rec.action_name, theme.CHOSEN, True), (f"  p = {rec.probs[rec.action]:.2f}", None, False)],
                [
                    ("entropy ", theme.MUTED, False),
                    (f"{rec.entropy:.2f}", None, False),
                    (f" of max {self.max_entropy:.2f} nats", theme.MUTED, False),
                ],
            ]
        )
