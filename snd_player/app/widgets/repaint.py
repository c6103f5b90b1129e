"""One repaint of the window per drawn frame, however many plots changed, and only of what changed.

Each ``QGraphicsScene`` processes its dirty items in a queued call of its own, and that call ends by
dispatching the window's pending update request at once (Qt's ``dispatchPendingUpdateRequests``): the
window's backing store is synced, its dirty widgets painted and flushed, once per scene. With five plots
that was four or five syncs per frame.

An earlier fix gave every scene a ``changed`` listener, which makes Qt take its compatibility path: the
views post ordinary updates and one sync paints them all. But on that path Qt repaints the whole bounding
rectangle of every dirty item, so one more step of a curve repainted the whole plot (background, grid,
every curve, legend) instead of the strip the step changed.

:func:`end_frame` keeps Qt's normal path, partial updates included, and still syncs once: right after a
frame's items are set, it runs each scene's pending dirty-item pass itself while an event filter holds back
the update request those passes dispatch, then posts one update request for the lot. ``FrameSync.syncs``
counts the window's syncs (``tests/test_player_frames.py`` reads it; figures in ``scripts/bench_player.py``).
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PyQt6.QtWidgets import QGraphicsScene, QWidget


def repaint_on_range_change(view: pg.GraphicsView, boxes: list[pg.ViewBox]) -> None:
    """Repaint all of ``view`` when a range or the size of one of ``boxes`` moves (rarely). Frames repaint
    only what changed, and a tick label drawn past its axis' rectangle would otherwise stay behind."""
    for vb in boxes:
        vb.sigRangeChanged.connect(lambda *_: view.viewport().update())
        vb.sigResized.connect(lambda *_: view.viewport().update())


def scenes_under(roots: list[QWidget]) -> list[QGraphicsScene]:
    """The graphics scenes of every pyqtgraph view in or under ``roots``."""
    views = [r for r in roots if isinstance(r, pg.GraphicsView)]
    for r in roots:
        views += r.findChildren(pg.GraphicsView)
    return [s for s in (v.scene() for v in views) if s is not None]


class FrameSync(QObject):
    """Installed on a top-level window: counts its syncs, and holds them back during :meth:`end_frame`."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.syncs = 0
        self._holding = False
        self._held = False
        window.installEventFilter(self)

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt name
        if obj is self.window and ev.type() == QEvent.Type.UpdateRequest:
            if self._holding:
                self._held = True
                return True  # posted again, once, at the end of end_frame
            self.syncs += 1
        return False

    def end_frame(self, scenes: list[QGraphicsScene]) -> None:
        """Call after changing the items of a frame: their scenes' changes are all painted in one sync."""
        self._holding, self._held = True, False
        try:
            for scene in scenes:
                QCoreApplication.sendPostedEvents(scene, QEvent.Type.MetaCall)  # its dirty-item pass
        finally:
            self._holding = False
        if self._held:
            QCoreApplication.postEvent(
                self.window, QEvent(QEvent.Type.UpdateRequest), Qt.EventPriority.LowEventPriority.value
            )
