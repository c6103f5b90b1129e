"""Dark theme shared by Qt widgets and pyqtgraph, and the colours every panel uses for the same thing."""

from __future__ import annotations

import colorsys

import pyqtgraph as pg
from PyQt6.QtGui import QColor, QFont, QPalette
from PyQt6.QtWidgets import QApplication, QGraphicsItem

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


def apply_dark_theme(app: QApplication) -> None:
    """Fusion with a dark palette, and pyqtgraph set to match; called once by the app, never at import."""
    app.setStyle("Fusion")
    pal = QPalette()
    c = QColor
    pal.setColor(QPalette.ColorRole.Window, c(PANEL))
    pal.setColor(QPalette.ColorRole.WindowText, c(TEXT))
    pal.setColor(QPalette.ColorRole.Base, c(BG))
    pal.setColor(QPalette.ColorRole.AlternateBase, c(PANEL_2))
    pal.setColor(QPalette.ColorRole.ToolTipBase, c(PANEL_2))
    pal.setColor(QPalette.ColorRole.ToolTipText, c(TEXT))
    pal.setColor(QPalette.ColorRole.Text, c(TEXT))
    pal.setColor(QPalette.ColorRole.Button, c(PANEL_2))
    pal.setColor(QPalette.ColorRole.ButtonText, c(TEXT))
    pal.setColor(QPalette.ColorRole.BrightText, c("#ff5555"))
    pal.setColor(QPalette.ColorRole.Highlight, c(ACCENT))
    pal.setColor(QPalette.ColorRole.HighlightedText, c("#0b0c0f"))
    pal.setColor(QPalette.ColorRole.Link, c(ACCENT))
    pal.setColor(QPalette.ColorRole.PlaceholderText, c(MUTED))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, c("#5c6270"))
    app.setPalette(pal)
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 10.0))
    app.setFont(font)
    app.setStyleSheet(
        f"""
        QDockWidget::title {{ background: {PANEL_2}; padding: 4px 8px; color: {TEXT}; }}
        QDockWidget {{ font-weight: 600; }}
        QToolBar {{ background: {PANEL}; border: none; spacing: 4px; padding: 2px; }}
        QStatusBar {{ background: {PANEL_2}; color: {TEXT}; }}
        QStatusBar QLabel {{ padding: 0 8px; }}
        QToolButton {{ padding: 3px 8px; border-radius: 3px; }}
        QToolButton:checked {{ background: #34506e; }}
        QToolButton:hover {{ background: #323844; }}
        """
    )
    pg.setConfigOptions(background=BG, foreground=TEXT, antialias=False)


def style_plot(plot: pg.PlotItem, title: str | None = None) -> None:
    """Common look of the plots: light grid, readable axis text; axes cached as pixmaps, because repainting
    an axis with its grid costs more than the curves (it is redrawn only when its range changes)."""
    plot.showGrid(x=True, y=True, alpha=0.15)
    for name in ("left", "bottom", "right", "top"):
        ax = plot.getAxis(name)
        ax.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # major and minor ticks, not pyqtgraph's third level at a tenth of the major interval: with the
        # grid on, those are lines across the plot at an alpha too faint to see, and they were 2/3 of the
        # 3 ms an axis took to re-render when its range moved
        ax.setStyle(maxTickLevel=1)
        ax.setPen(pg.mkPen(GRID))
        ax.setTextPen(pg.mkPen(MUTED))
        ax.enableAutoSIPrefix(False)  # "(x0.001)" next to an r_int label reads like part of the name
    if title:
        plot.setTitle(title, color=TEXT, size="10pt")
