"""Load a checkpoint beside the GUI thread, with the window's event loop running meanwhile (issue 27 item 1).

Reading and checking an 81 MB checkpoint and building its env took the GUI thread 14 s under load: the window
neither repainted nor took a click. :func:`run_beside` runs the load in a plain Python thread and spins a local
``QEventLoop`` on the calling thread until the thread is done (as ``QDialog.exec`` does), so callers keep
their synchronous shape (``open_checkpoint`` still returns whether it opened) while the window repaints, its
timers tick and its buttons answer. Loading is mostly file reads and numpy/torch work, which drop the GIL;
Python's switch interval (5 ms) hands the GUI thread the GIL between the rest.

The result (or the exception) of the function is handed back on the calling thread; nothing of Qt is touched
from the loading thread except one queued signal emission.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from PyQt6.QtCore import QEventLoop, QObject, pyqtSignal

T = TypeVar("T")


class _Done(QObject):
    done = pyqtSignal()


def run_beside(fn: Callable[[], T]) -> T:
    """Run ``fn()`` in a thread while this thread's Qt event loop keeps running; return its value or raise
    its exception here. Without a running ``QApplication``'s loop (a script) it still works: the local loop
    is the event loop."""
    box: dict[str, Any] = {}
    signal = _Done()  # lives in the calling thread: the emission from the loader is queued to it
    loop = QEventLoop()
    signal.done.connect(loop.quit)

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the caller, who decides
            box["error"] = e
        finally:
            box["finished"] = True
            signal.done.emit()

    t = threading.Thread(target=work, name="snd-player-load", daemon=True)
    t.start()
    while not box.get("finished"):  # the queued quit may be posted before exec() starts: it is kept
        loop.exec()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
