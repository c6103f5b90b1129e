"""One repaint of the window per drawn frame, however many plots changed.

When nothing listens to ``QGraphicsScene.changed``, each scene that has dirty items sends its views' update
request at once (Qt's ``dispatchPendingUpdateRequests``): the whole window's backing store is synced, its
dirty widgets painted and flushed, once per scene. With five plots that was four or five syncs per frame,
each repainting the parents under the plots. With a listener, Qt takes its older path instead: the scene
emits ``changed`` and the views post an ordinary update, so all the frame's changes are painted in a single
sync when the event loop gets to it (measured in ``scripts/bench_player.py``; ``tests/test_player_frames.py``
counts the syncs).
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtCore import QRectF
from PyQt6.QtWidgets import QGraphicsScene, QWidget

_NOWHERE = QRectF(-1e12, -1e12, 1.0, 1.0)
"""A scene rectangle no view shows: updating it repaints nothing."""


def _listen(_rects: object) -> None:
    """Listening is the point; the views repaint through their own connection."""


def coalesce_scene_updates(roots: list[QWidget]) -> list[QGraphicsScene]:
    """Give every graphics scene in or under ``roots`` a ``changed`` listener (once); returns them all."""
    scenes = []
    views = [r for r in roots if isinstance(r, pg.GraphicsView)]
    for r in roots:
        views += r.findChildren(pg.GraphicsView)
    for view in views:
        scene: QGraphicsScene | None = view.scene()
        if scene is None:
            continue
        if not scene.property("snd_coalesced"):
            scene.changed.connect(_listen)
            scene.setProperty("snd_coalesced", True)
        scenes.append(scene)
    return scenes


def end_frame(scenes: list[QGraphicsScene]) -> None:
    """Call after changing the items of a frame: no scene then syncs the window before the others.

    A scene's queued processing of its dirty items ends by dispatching the window's pending update request
    at once, unless a ``changed`` emission is already queued; this queues one (for a rectangle nobody sees),
    so each scene only posts its views' updates and the event loop paints them all in one go."""
    for scene in scenes:
        scene.update(_NOWHERE)
