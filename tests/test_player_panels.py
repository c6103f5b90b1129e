"""The panels that paint themselves (policy bars, timeline slider): what they draw, read back from pixels
and from the geometry they paint with, and that a frame repaints them alone (issue 12, 60 FPS)."""

from __future__ import annotations

import types

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PyQt6.QtCore import QEvent, QObject, QPoint, Qt  # noqa: E402
from PyQt6.QtGui import QColor  # noqa: E402
from PyQt6.QtWidgets import QDockWidget, QMainWindow  # noqa: E402

from snd_player.app.widgets import theme  # noqa: E402
from snd_player.app.widgets.policy import X_PAD, PolicyBars  # noqa: E402
from snd_player.app.widgets.timeline_slider import TimelineSlider  # noqa: E402
from snd_player.core.timeline import Bookmark  # noqa: E402

NAMES = ["NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN", "UPRIGHT", "UPLEFT", "DOWNRIGHT", "DOWNLEFT",
         "UPFIRE", "RIGHTFIRE", "LEFTFIRE", "DOWNFIRE", "UPRIGHTFIRE", "UPLEFTFIRE", "DOWNRIGHTFIRE",
         "DOWNLEFTFIRE"]  # fmt: skip


def record(probs, action: int, t: int = 0):
    probs = np.asarray(probs, np.float32)
    entropy = float(-(probs[probs > 0] * np.log(probs[probs > 0])).sum())
    return types.SimpleNamespace(
        episode=0, t=t, probs=probs, action=action, action_name=NAMES[action], entropy=entropy
    )


def pixel(widget, x: float, y: float) -> QColor:
    return widget.grab().toImage().pixelColor(round(x), round(y))


def close(a: QColor, b: str) -> bool:
    c = QColor(b)
    return max(abs(a.red() - c.red()), abs(a.green() - c.green()), abs(a.blue() - c.blue())) <= 3


def test_policy_bars_are_as_long_as_the_probabilities_and_the_chosen_one_is_yellow(qtbot):
    w = PolicyBars(NAMES)
    qtbot.addWidget(w)
    w.resize(300, 600)
    w.show()
    probs = np.zeros(18)
    probs[[0, 5, 17]] = [0.5, 0.25, 0.25]
    w.show_record(record(probs, action=5))
    r = w.plot_rect()
    full = r.width() / (1 + 2 * X_PAD)  # pixels for probability 1
    bars = w.bar_rects()
    assert len(bars) == 18
    assert abs(bars[0].width() - 0.5 * full) <= 1.5 and abs(bars[5].width() - 0.25 * full) <= 1.5
    assert bars[1].width() <= 1 and all(b.left() == bars[0].left() for b in bars)
    assert all(bars[i].bottom() < bars[i + 1].top() for i in range(17))  # one row each, in order
    assert close(pixel(w, bars[5].center().x(), bars[5].center().y()), theme.CHOSEN)
    assert close(pixel(w, bars[0].center().x(), bars[0].center().y()), theme.BAR)
    assert close(pixel(w, bars[0].right() + 10, bars[0].center().y()), theme.BG)  # nothing past the bar
    assert w.title() == f"DOWN  p = 0.25\nentropy {record(probs, 5).entropy:.2f} of max {np.log(18):.2f} nats"
    assert list(w.columns()["probability"]) == list(probs.astype(np.float32).astype(np.float64))


def test_policy_names_and_ticks_never_overlap_and_thin_out_when_rows_are_short(qtbot):
    w = PolicyBars(NAMES)
    qtbot.addWidget(w)
    w.show()
    for height, thinned in ((600, False), (200, True)):
        w.resize(260, height)
        names = w.name_rects()
        rects = [r for r, _ in names]
        assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :]), height
        shown = [t for _, t in names]
        every = w.labels.index(shown[1])  # every k-th name, from the first
        assert shown == w.labels[::every] and (every > 1) == thinned and len(shown) >= 4, height
        ticks = w.tick_label_rects()
        assert not any(a.intersects(b) for i, a in enumerate(ticks) for b in ticks[i + 1 :])
        assert all(w.rect().toRectF().contains(t) for t in ticks)
        assert all(r.right() < w.plot_rect().left() for r in rects)  # names left of the bars
    assert w.labels[14] == "uprightfire"


class _Paints(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt name
        self.n += ev.type() == QEvent.Type.Paint
        return False


def test_a_new_policy_repaints_the_panel_not_the_dock_behind_it(qtbot):
    """The panel is opaque: a new step repaints it alone (the dock behind the old plot and text line was
    painted every frame, 0.35 ms)."""
    win = QMainWindow()
    qtbot.addWidget(win)
    dock = QDockWidget("Policy")
    w = PolicyBars(NAMES)
    dock.setWidget(w)
    win.setCentralWidget(dock)
    win.resize(300, 600)
    win.show()
    qtbot.waitExposed(win)
    w.show_record(record(np.full(18, 1 / 18), 1))
    qtbot.wait(50)
    docks, panel = _Paints(), _Paints()
    dock.installEventFilter(docks)
    w.installEventFilter(panel)
    for t in range(1, 6):
        w.show_record(record(np.roll(np.linspace(0.0, 2 / 18, 18), t), t % 18, t))
        qtbot.wait(20)
    assert panel.n >= 5 and docks.n == 0


def test_timeline_slider_fills_the_groove_up_to_the_handle_and_clicks_land_on_steps(qtbot):
    s = TimelineSlider()
    qtbot.addWidget(s)
    s.resize(400, 30)
    s.show()
    s.set_state(101, 50, [Bookmark(t=25, kind="room", label="room 2")])
    groove, handle = s._frame()
    x0, per_step = s._geometry()
    cy = groove.center().y()
    hx = x0 + 50 * per_step
    assert close(pixel(s, (groove.left() + hx) / 2, cy), theme.ACCENT)  # played part
    assert close(pixel(s, (hx + handle.width() + groove.right()) / 2, cy), theme.GRID)  # the rest
    assert close(pixel(s, int(x0 + 25 * per_step), 4), theme.ROOM_LINE)  # the bookmark, above the groove
    got = []
    s.scrubbed.connect(got.append)
    qtbot.mouseClick(s, Qt.MouseButton.LeftButton, pos=QPoint(round(x0 + 80 * per_step), cy))
    assert got and got[0] == 80 and s.value() == 80


def test_game_frames_are_kept_as_qt_rgb32_pixel_for_pixel(qtbot):
    """The frame is handed to Qt as 32-bit RGB (24-bit RGB sent Qt's scaled draw over its thread pool)."""
    from PyQt6.QtGui import QImage

    from snd_player.app.widgets.game_view import FrameItem, GameView

    item = FrameItem()
    rgb = np.zeros((3, 2, 3), np.uint8)
    rgb[0, 0], rgb[1, 1], rgb[2, 0] = (255, 0, 0), (1, 2, 3), (0, 255, 17)
    item.setImage(rgb)
    q = item.qimage
    assert q.format() == QImage.Format.Format_RGB32 and (q.width(), q.height()) == (2, 3)
    assert [q.pixel(x, y) for y in range(3) for x in range(2)] == [
        0xFFFF0000, 0xFF000000, 0xFF000000, 0xFF010203, 0xFF00FF11, 0xFF000000
    ]  # fmt: skip
    item.setImage(np.array([[0, 128], [255, 7]], np.uint8))  # gray observations
    assert [item.qimage.pixel(x, y) for y in range(2) for x in range(2)] == [
        0xFF000000, 0xFF808080, 0xFFFFFFFF, 0xFF070707
    ]  # fmt: skip
    with pytest.raises(ValueError, match="uint8"):
        item.setImage(np.zeros((2, 2), np.float32))
    view = GameView()
    qtbot.addWidget(view)
    assert view.testAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # the window behind is not repainted
