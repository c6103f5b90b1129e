"""Radio groups of menu actions: one checked at a time, each calling back with its key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from PyQt6.QtCore import QObject
from PyQt6.QtGui import QAction, QActionGroup
from PyQt6.QtWidgets import QMenu

K = TypeVar("K")


def exclusive_actions(
    parent: QObject,
    labels: Mapping[K, str],
    pick: Callable[[K], None],
    checked: K,
    menu: QMenu | None = None,
) -> tuple[QActionGroup, dict[K, QAction]]:
    """Checkable actions in ``labels``' order, exactly one on (``checked`` to start), each calling
    ``pick(key)`` when chosen; added to ``menu`` when one is given. Returns the group and the actions by
    key (the group must be kept: it is what makes them exclusive)."""
    group = QActionGroup(parent)
    actions: dict[K, QAction] = {}
    for key, label in labels.items():
        a = QAction(label, parent, checkable=True)
        a.triggered.connect(lambda _=False, key=key: pick(key))
        group.addAction(a)
        actions[key] = a
        if menu is not None:
            menu.addAction(a)
    actions[checked].setChecked(True)
    return group, actions
