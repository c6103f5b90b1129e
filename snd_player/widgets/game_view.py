"""The game frame, scaled with crisp (nearest-neighbour) pixels, or the observation the network sees."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QLabel

from snd_player.session import StepRecord
from snd_player.widgets import theme

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


class GameView(pg.GraphicsLayoutWidget):
    """Frame or observation, plus an overlay with score, lives, room and step."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground(theme.BG)
        self.ci.setContentsMargins(0, 0, 0, 0)
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.view.setDefaultPadding(0.0)
        self.view.disableAutoRange()  # the range is set once per image size in show_record
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        # a plain label over the view: stays crisp and costs nothing to lay out in the scene
        self.overlay = QLabel(self)
        self.overlay.setStyleSheet(
            f"background: rgba(0, 0, 0, 175); color: {theme.TEXT}; padding: 3px 8px; border-radius: 3px;"
            "font-family: monospace; font-size: 11pt;"
        )
        self.overlay.hide()
        self.mode = "frame"
        self._shape: tuple[int, ...] | None = None
        self._last: StepRecord | None = None
        self._overlay_text = ""

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
        # uint8 shown as is: no levels means pyqtgraph's direct path, without a rescale pass
        self.image.setImage(img, autoLevels=False, levels=None)
        if img.shape != self._shape:  # new size: fit the view once, not every frame
            self._shape = img.shape
            self.view.setRange(xRange=(0, img.shape[1]), yRange=(0, img.shape[0]), padding=0)
        room = f"room {rec.room}" if rec.room >= 0 else ""
        if rec.level > 0 and rec.room >= 0:
            room = f"level {rec.level + 1} · " + room
        lives = f"lives {rec.lives}" if rec.lives >= 0 else ""
        parts = [f"score {rec.score:g}", lives, room, f"step {rec.t}"]
        text = " · ".join(p for p in parts if p) + (" · episode over" if rec.done else "")
        if text != self._overlay_text:
            self._overlay_text = text
            self.overlay.setText(text)
            self._place_overlay()

    def _place_overlay(self) -> None:
        # bottom-left, over the floor of Atari frames rather than the game's own score line; inside the view
        # at every size: wider than the view, the line wraps instead of losing its step number
        self.overlay.ensurePolished()  # the style sheet's font, before measuring with it
        room = max(self.width() - 16, 60)
        need = self.overlay.fontMetrics().horizontalAdvance(self.overlay.text()) + 20  # + padding
        self.overlay.setWordWrap(need > room)
        self.overlay.setFixedWidth(min(need, room))
        self.overlay.adjustSize()
        self.overlay.move(8, max(0, self.height() - self.overlay.height() - 8))

    @property
    def overlay_text(self) -> str:
        return self._overlay_text

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(ev)
        if hasattr(self, "overlay"):  # pyqtgraph calls this from its own __init__
            self._place_overlay()

    def blank(self) -> None:
        """Show nothing until the next record (not ``clear``: GraphicsLayoutWidget forwards that name to
        its layout, where it removes every item)."""
        self._last = None
        self._shape = None
        self.image.setOpacity(0.0)
        self.overlay.hide()
