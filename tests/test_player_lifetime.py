"""When the player's windows are deleted. A window that only Python held used to be deleted by the cycle
collector, at whatever moment it ran; in CI (stop 33) that was inside a later test's event processing, a
pyqtgraph ``LabelItem.resizeEvent`` ran on a deleted item, and the process segfaulted."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PyQt6 import sip  # noqa: E402

from tests.test_compare import sndv_vs_rnd  # noqa: E402, F401 - fixture
from tests.test_session import tiny_checkpoint  # noqa: E402, F401 - fixture
from tests.test_sweep_player import sweep_dir  # noqa: E402, F401 - fixture


def test_destroy_now_deletes_a_plot_window_and_its_pyqtgraph_items_before_returning(qapp, windows_left):
    import pyqtgraph as pg

    from snd_player.app.lifetime import destroy_now

    w = pg.PlotWidget(title="r_int")
    w.show()
    qapp.processEvents()
    label = w.getPlotItem().titleLabel  # the item of the crash
    destroy_now(w)
    assert sip.isdeleted(w) and sip.isdeleted(label)
    destroy_now(w)  # twice is harmless (a window closed by the user, then by the caller's finally)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_a_checkpoint_that_cannot_load_leaves_no_window_behind(tiny_checkpoint, tmp_path, windows_left):  # noqa: F811
    from snd_player.cli import main

    assert main([str(tiny_checkpoint), "--device", "cuda", "--frames", "1", "--screenshot", str(tmp_path / "x.png")]) == 2
    assert not windows_left("MainWindow")


def test_the_test_teardown_deletes_what_pytest_qt_only_scheduled(qapp, windows_left):
    """pytest-qt closes a test's widgets with ``deleteLater``, which a bare ``processEvents`` never runs."""
    import pyqtgraph as pg

    from tests.conftest import delete_leftover_windows

    w = pg.PlotWidget(title="values")
    w.show()
    w.close()
    w.deleteLater()
    qapp.processEvents()
    assert not sip.isdeleted(w)  # what later tests used to inherit
    delete_leftover_windows()
    assert sip.isdeleted(w)


def test_a_compare_screenshot_deletes_its_window_before_returning(sndv_vs_rnd, tmp_path, windows_left):  # noqa: F811
    from snd_player.app.compare_window import run_window

    out = tmp_path / "pair.png"
    assert run_window(sndv_vs_rnd, size=(800, 450), frames=2, screenshot=out) == 0
    assert out.stat().st_size > 0
    assert not windows_left("CompareWindow")


def test_the_sweep_list_is_deleted_before_its_pick_is_returned(sweep_dir, qapp, windows_left):  # noqa: F811
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from snd_player.app.sweep_dialog import pick_from_sweep

    QTimer.singleShot(0, lambda: QApplication.activeModalWidget().reject())  # the user cancels
    assert pick_from_sweep(sweep_dir) == ()
    assert not windows_left("SweepDialog")
