"""When a top-level window's C++ side is deleted.

A parentless window that Python owns is deleted when its wrapper is collected. The player's windows sit in
reference cycles (signal connections to their own methods), so that is whenever Python's cycle collector
happens to run: possibly in the middle of another window's event handler. pyqtgraph items torn down there
had their Python overrides called after deletion (``LabelItem.resizeEvent``: "wrapped C/C++ object of type
LabelItem has been deleted"), and Qt then crashed the process (a segfault in CI, stop 33). ``destroy_now``
deletes a window at a moment its caller picks instead.
"""

from __future__ import annotations

from PyQt6 import sip
from PyQt6.QtCore import QCoreApplication, QEvent
from PyQt6.QtWidgets import QWidget


def destroy_now(widget: QWidget) -> None:
    """Close ``widget`` and delete its C++ side (and its children's) before returning.

    Call it outside of any event handler of ``widget``'s own, as the command-line entry points do when
    their window is done: a deferred deletion is queued, and only the deferred deletions of the current
    event-loop level are run, so nothing on an outer loop's stack is deleted under it.
    """
    if sip.isdeleted(widget):  # deleted already (twice is harmless)
        return
    widget.close()
    widget.deleteLater()
    run_deferred_deletes()


def run_deferred_deletes() -> None:
    """Run the ``deleteLater`` deletions queued at the current event-loop level, now (a bare
    ``processEvents`` never runs them)."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
