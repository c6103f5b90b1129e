"""Dark theme shared by Qt widgets and pyqtgraph; the colours every panel uses for the same thing come from
:mod:`snd_player.media.theme` (the videos paint with them too) and are re-exported here."""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtGui import QColor, QFont, QPalette
from PyQt6.QtWidgets import QApplication, QGraphicsItem

from snd_player.media.theme import (  # the colours, re-exported: widgets read them as theme.X
    ACCENT as ACCENT,
)
from snd_player.media.theme import (
    BAR as BAR,
)
from snd_player.media.theme import (
    BG as BG,
)
from snd_player.media.theme import (
    CHOSEN as CHOSEN,
)
from snd_player.media.theme import (
    CURSOR as CURSOR,
)
from snd_player.media.theme import (
    DRIVEN as DRIVEN,
)
from snd_player.media.theme import (
    ERROR as ERROR,
)
from snd_player.media.theme import (
    GRID as GRID,
)
from snd_player.media.theme import (
    MUTED as MUTED,
)
from snd_player.media.theme import (
    PANEL as PANEL,
)
from snd_player.media.theme import (
    PANEL_2 as PANEL_2,
)
from snd_player.media.theme import (
    R_EXT as R_EXT,
)
from snd_player.media.theme import (
    R_INT as R_INT,
)
from snd_player.media.theme import (
    R_NEG as R_NEG,
)
from snd_player.media.theme import (
    ROOM_LINE as ROOM_LINE,
)
from snd_player.media.theme import (
    TEXT as TEXT,
)
from snd_player.media.theme import (
    TIME_COLORS as TIME_COLORS,
)
from snd_player.media.theme import (
    TIME_SPAN as TIME_SPAN,
)
from snd_player.media.theme import (
    V_EXT as V_EXT,
)
from snd_player.media.theme import (
    V_INT as V_INT,
)
from snd_player.media.theme import (
    room_color as room_color,
)


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
