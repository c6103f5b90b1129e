"""The colours every panel uses for the same thing, shared by the window's widgets and the offscreen
painters (videos), so a curve has one colour wherever it is drawn. Qt's painting only: no widget, no
pyqtgraph (the window's dark theme is :mod:`snd_player.app.widgets.theme`)."""

from __future__ import annotations

import colorsys

from PyQt6.QtGui import QColor

BG = "#14161b"  # plot backgrounds
PANEL = "#1d2027"  # windows, docks
PANEL_2 = "#252932"
TEXT = "#d8dbe2"
MUTED = "#8a90a0"
GRID = "#2c313b"
ACCENT = "#4aa3ff"

R_INT = "#ff9f43"  # intrinsic reward the agent trained on
ERROR = "#c678dd"  # raw distillation error
V_EXT = "#4aa3ff"
V_INT = "#ff9f43"
R_EXT = "#ffd43b"  # extrinsic reward markers
R_NEG = "#ff5c5c"  # negative extrinsic reward markers
ROOM_LINE = "#5fd3bc"
CURSOR = "#e8e8e8"
CHOSEN = "#ffd43b"
BAR = "#4a6fa5"
DRIVEN = "#ff5fa2"  # steps a person drove (drive mode): the timeline, the plots and the human's action
TIME_SPAN = 128
"""Steps per colour (and per legend entry) when the feature projection colours points by time."""
TIME_COLORS = ("#8e6cff", "#4aa3ff", "#5fd3bc", "#a6e22e", "#ffd43b", "#ff9f43", "#ff5c5c")
"""Well separated hues, one per TIME_SPAN steps in order; the last one holds every later step. (A viridis
ramp over 32-step buckets gave neighbours one could not tell apart, and a legend showing only some.)"""


def room_color(level: int, room: int, alpha: int = 255) -> QColor:
    """A stable, well separated colour per (level, room): golden-ratio hues, levels shift the value."""
    i = level * 24 + room
    h = (0.07 + i * 0.618034) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.62, 0.97 - 0.18 * (level % 2))
    return QColor(int(r * 255), int(g * 255), int(b * 255), alpha)
