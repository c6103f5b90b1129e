"""Compare mode: two agents side by side on one seed, their intrinsic signals overlaid.

A :class:`CompareWorker` in its own ``QThread`` steps a :class:`~snd_player.core.compare.Comparison` and hands
over tuples of :class:`~snd_player.core.compare.PairRecord`; the window keeps a
:class:`~snd_player.core.compare.PairTimeline` of them (the same class ``record --compare`` draws from) and draws
on a timer. Two game views, one timeline slider that scrubs both, and two shared plots (intrinsic reward,
V_int) with A in blue and B in orange: each on its own y axis (A left, B right), or both min–max normalised to
0..1 over the episode so far (a toggle), because RND's and SND's rewards live on different scales.

Min–max, not division by the maximum (issue 27 item 7): V_int of 5.1 ± 0.1 and 38 ± 0.5 divided by their
maxima were two flat lines near 1; shifted and scaled to 0..1 each keeps its shape, so the two shapes can be
compared (a z-score would too, but has no fixed range to share one axis).
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QObject, QSize, Qt, QThread, QTimer, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from snd_player.app.widgets import theme
from snd_player.app.widgets.game_view import GameView
from snd_player.app.widgets.timeline_slider import TimelineSlider
from snd_player.app.worker import REAL_TIME_STEPS_PER_S, SPEEDS
from snd_player.core.compare import Comparison, PairRecord, PairTimeline, min_max, side_label
from snd_player.core.session import SessionError

COLOR_A = theme.ACCENT  # blue
COLOR_B = theme.R_INT  # orange
X_STEP = 64


class CompareWorker(QObject):
    """Owns the comparison once moved to its thread; commands arrive through ``command(name, value)``:
    play, pause, toggle, step, run (n steps), seek (t), reset (seed or None), speed (multiplier, 0 = max)."""

    pairs_ready = pyqtSignal(object, int, bool)  # tuple[PairRecord, ...], horizon, answers a seek
    failed = pyqtSignal(str)
    state_changed = pyqtSignal(bool)  # playing

    MAX_IN_FLIGHT = 3

    def __init__(self, comparison: Comparison) -> None:
        super().__init__()
        self.cmp = comparison
        self.playing = False
        self.speed = 1.0
        self._timer: QTimer | None = None
        self._anchor = 0.0
        self._played = 0
        self._remaining: int | None = None
        self._pending_steps = 0
        self._pending_seek: int | None = None
        self._lock = threading.Lock()
        self._in_flight = 0

    def ack(self) -> None:
        """The window has taken a batch (thread-safe)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    @pyqtSlot()
    def start(self) -> None:
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)

    @pyqtSlot()
    def shutdown(self) -> None:
        self.playing = False
        if self._timer is not None:
            self._timer.stop()
        self.cmp.close()

    @pyqtSlot(str, object)
    def command(self, name: str, value: object = None) -> None:
        try:
            if name in ("play", "toggle"):
                self._remaining = None
                self._set_playing(True if name == "play" else not self.playing)
            elif name == "pause":
                self._set_playing(False)
            elif name == "run":
                self._remaining = int(value)  # type: ignore[arg-type]
                self._set_playing(self._remaining > 0)
            elif name == "step":
                self._set_playing(False)
                self._pending_steps += 1
            elif name == "seek":
                self._set_playing(False)
                self._pending_seek = int(value)  # type: ignore[arg-type]
            elif name == "reset":
                self.cmp.reset(None if value is None else int(value))  # type: ignore[arg-type]
                self._pending_steps += 1
            elif name == "speed":
                self.speed = float(value)  # type: ignore[arg-type]
                self._anchor, self._played = time.perf_counter(), 0
            else:
                raise ValueError(f"unknown compare command {name!r}")
        except (SessionError, ValueError) as e:
            self.failed.emit(str(e))
        self._schedule()

    def _set_playing(self, playing: bool) -> None:
        if playing and not self.playing:
            self._anchor, self._played = time.perf_counter(), 0
        if playing != self.playing:
            self.playing = playing
            self.state_changed.emit(playing)

    def _schedule(self) -> None:
        if self._timer is None:
            return
        if not (self.playing or self._pending_steps or self._pending_seek is not None):
            self._timer.stop()
            return
        interval = 0 if self.playing and self.speed == 0 else (8 if self.playing else 1)
        if not self._timer.isActive() or self._timer.interval() != interval:
            self._timer.start(interval)

    def _tick(self) -> None:
        with self._lock:
            if self._in_flight >= self.MAX_IN_FLIGHT:
                return
        pairs: list[PairRecord] = []
        seek = False
        try:
            if self._pending_seek is not None:
                t, self._pending_seek = self._pending_seek, None
                pairs.append(self.cmp.seek(t))
                seek = True
            elif self._pending_steps:
                self._pending_steps -= 1
                pairs.append(self.cmp.step())
            elif self.playing:
                if self.speed == 0:
                    due = 1
                else:
                    rate = REAL_TIME_STEPS_PER_S * self.speed
                    due = int((time.perf_counter() - self._anchor) * rate) - self._played
                    if due > 4:  # fell behind: catch up gently
                        self._anchor, self._played, due = time.perf_counter(), 0, 1
                if self._remaining is not None:
                    due = min(due, self._remaining)
                for _ in range(max(due, 0)):
                    pairs.append(self.cmp.step())
                    self._played += 1
                if self._remaining is not None:
                    self._remaining -= len(pairs)
                    if self._remaining <= 0:
                        self._remaining = None
                        self._set_playing(False)
        except SessionError as e:
            self.failed.emit(str(e))
        except Exception as e:  # noqa: BLE001 - an env or network failure must not kill the thread silently
            self._set_playing(False)
            self.failed.emit(f"{type(e).__name__}: {e}")
        if pairs:
            with self._lock:
                self._in_flight += 1
            self.pairs_ready.emit(tuple(pairs), self.cmp.horizon, seek)
        self._schedule()


NORMALISATION = "min–max over the episode so far"
"""What the "normalised" toggle does, as said in its label's tooltip and in the plots' axis."""


class DualPlot(pg.PlotWidget):
    """One time plot with A's curve on the left axis and B's on the right axis (own scales), or both on
    one 0..1 axis (each min–max normalised over the episode so far: :func:`min_max`)."""

    def __init__(self, title: str, labels: tuple[str, str]) -> None:
        super().__init__()
        pi = self.getPlotItem()
        theme.style_plot(pi)
        pi.setMenuEnabled(False)
        pi.hideButtons()
        pi.setTitle(title, color=theme.TEXT, size="10pt")
        pi.showAxis("right")
        self.vb_b = pg.ViewBox()
        pi.scene().addItem(self.vb_b)
        pi.getAxis("right").linkToView(self.vb_b)
        self.vb_b.setXLink(pi)
        pi.vb.sigResized.connect(lambda *_: self.vb_b.setGeometry(pi.vb.sceneBoundingRect()))
        self.curve_a = pg.PlotDataItem(pen=pg.mkPen(COLOR_A, width=1), name=labels[0])
        self.curve_b = pg.PlotDataItem(pen=pg.mkPen(COLOR_B, width=1), name=labels[1])
        for c in (self.curve_a, self.curve_b):
            c.setDownsampling(auto=True, method="peak")
            c.setClipToView(True)
        pi.addItem(self.curve_a)
        self.vb_b.addItem(self.curve_b)
        legend = pi.addLegend(offset=(-8, 4), labelTextColor=theme.TEXT)
        legend.addItem(self.curve_a, labels[0])
        legend.addItem(self.curve_b, labels[1])
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.CURSOR, width=1))
        pi.addItem(self.cursor, ignoreBounds=True)
        pi.getAxis("left").setPen(pg.mkPen(COLOR_A))
        pi.getAxis("right").setPen(pg.mkPen(COLOR_B))
        pi.getAxis("left").setTextPen(pg.mkPen(COLOR_A))
        pi.getAxis("right").setTextPen(pg.mkPen(COLOR_B))
        pi.getAxis("left").setWidth(48)
        pi.getAxis("right").setWidth(48)
        self.normalised = False

    def set_normalised(self, on: bool) -> None:
        self.normalised = on
        # short: a plot 230 px high at 1280x720 cut the whole sentence; the check box's tooltip has it
        self.getPlotItem().getAxis("left").setLabel("min–max, 0..1" if on else None)

    def show_data(self, a: np.ndarray, b: np.ndarray, cursor: int, n: int) -> None:
        pi = self.getPlotItem()
        if self.normalised:
            a, b = min_max(a), min_max(b)
        self.curve_a.setData(np.arange(a.size), a)
        self.curve_b.setData(np.arange(b.size), b)
        pi.setXRange(0, max(X_STEP, int(np.ceil((n + 1) / X_STEP)) * X_STEP), padding=0)
        for vb, y in ((pi.vb, a), (self.vb_b, b)):
            if self.normalised:
                vb.setYRange(0.0, 1.0, padding=0.05)
            elif y.size:
                lo, hi = float(y.min()), float(y.max())
                span = max(hi - lo, abs(hi) * 0.1, 1e-6)
                vb.setYRange(lo - 0.1 * span, hi + 0.1 * span, padding=0)
        self.cursor.setValue(cursor)


class CompareWindow(QMainWindow):
    """Two game views, one timeline, two shared plots; see the module docstring."""

    command = pyqtSignal(str, object)

    def __init__(self, comparison: Comparison, normalised: bool = False) -> None:
        super().__init__()
        self.cmp = comparison
        a, b = comparison.a, comparison.b
        self.setWindowTitle(f"snd-player compare — {a.env_id}")
        self.resize(1280, 720)
        self.pt = PairTimeline(a.heat_grid)
        self.last: PairRecord | None = None
        self.cursor = 0
        self.horizon = 0
        self.playing = False
        self.frames_received = 0
        self._dirty = False

        tb = QToolBar("Compare controls")
        tb.setMovable(False)
        self.addToolBar(tb)
        self.play_button = QPushButton("▶ Play")
        self.play_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.play_button.setToolTip("play / pause both agents (Space)")
        self.play_button.clicked.connect(lambda: self.command.emit("toggle", None))
        tb.addWidget(self.play_button)
        for text, tip, slot in (
            ("Step ▸", "both agents one step (Right)", lambda: self.command.emit("step", None)),
            ("◂ Back", "both agents one step back (Left)", lambda: self.seek(self.cursor - 1)),
            ("Reset", "restart both on the seed in the box (R)", self._reset),
        ):
            btn = QPushButton(text)
            btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            btn.setToolTip(tip)
            btn.clicked.connect(slot)
            tb.addWidget(btn)
        tb.addWidget(QLabel(" speed "))
        self.speed_box = QComboBox()
        for s in SPEEDS:
            self.speed_box.addItem("max" if s == 0 else f"{s:g}x", s)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip("speed relative to real time (15 agent steps/s)")
        self.speed_box.currentIndexChanged.connect(lambda i: self.command.emit("speed", SPEEDS[i]))
        tb.addWidget(self.speed_box)
        tb.addWidget(QLabel("  seed "))
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setValue(comparison.seed)
        self.seed_box.setToolTip("env seed of both agents; Reset restarts both on it")
        tb.addWidget(self.seed_box)
        tb.addSeparator()
        self.norm_box = QCheckBox("normalised (min–max)")
        self.norm_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.norm_box.setToolTip(
            "off: A on the left axis, B on the right axis, each on its own scale; "
            f"on: each {NORMALISATION} (lowest 0, highest 1), both on one axis, so their shapes compare (N)"
        )
        self.norm_box.toggled.connect(self._normalised_toggled)
        tb.addWidget(self.norm_box)
        self.toolbar = tb

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(4)
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        self.headers, self.games, self.infos = [], [], []
        for col, (s, color, name) in enumerate(((a, COLOR_A, "A"), (b, COLOR_B, "B"))):
            h = QLabel(f"<b style='color:{color}'>{name}</b>&nbsp; {side_label(s)}")
            h.setToolTip(str(s.checkpoint or ""))
            h.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            g = GameView()
            g.setMinimumSize(200, 220)
            info = QLabel("")
            info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            info.setStyleSheet(f"color: {theme.MUTED};")
            grid.addWidget(h, 0, col)
            grid.addWidget(g, 1, col)
            grid.addWidget(info, 2, col)
            self.headers.append(h)
            self.games.append(g)
            self.infos.append(info)
        grid.setRowStretch(1, 1)
        lay.addLayout(grid, 3)
        self.slider = TimelineSlider()
        self.slider.setToolTip("pair timeline: drag to scrub both agents")
        self.slider.scrubbed.connect(self.seek)
        lay.addWidget(self.slider)
        plots = QHBoxLayout()
        names = (f"A {a.algo.upper()}", f"B {b.algo.upper()}")
        self.plot_int = DualPlot("intrinsic reward r_int", names)
        self.plot_vint = DualPlot("intrinsic value V_int", names)
        for p in (self.plot_int, self.plot_vint):
            p.setMinimumHeight(150)
            plots.addWidget(p)
        lay.addLayout(plots, 2)
        self.setCentralWidget(central)
        self.status = QLabel("")
        self.statusBar().addPermanentWidget(self.status)
        if not a.has_motivation or not b.has_motivation:
            names_without = [f"{n} ({s.algo})" for n, s in (("A", a), ("B", b)) if not s.has_motivation]
            self.statusBar().showMessage(f"no intrinsic motivation: {', '.join(names_without)}", 8000)

        self._build_menu()

        self.thread = QThread()
        self.worker = CompareWorker(comparison)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.start)
        self.command.connect(self.worker.command)
        self.worker.pairs_ready.connect(self._on_pairs)
        self.worker.failed.connect(lambda m: self.statusBar().showMessage(m, 6000))
        self.worker.state_changed.connect(self._on_state)
        self.thread.start()
        if normalised:
            self.norm_box.setChecked(True)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._draw)
        self.timer.start(1000 // 30)

    def _build_menu(self) -> None:
        """The controls as a menu with their keys (issue 27 item 7: there was no menu, no speed key and no
        key to close the window)."""
        menu = self.menuBar().addMenu("&Compare")
        entries = (
            ("Play / pause", ("Space",), lambda: self.command.emit("toggle", None)),
            ("Step", ("Right",), lambda: self.command.emit("step", None)),
            ("Step back", ("Left",), lambda: self.seek(self.cursor - 1)),
            ("Reset on the seed", ("R",), self._reset),
            (None, (), None),
            ("Faster", ("+", "="), lambda: self._bump_speed(1)),
            ("Slower", ("-",), lambda: self._bump_speed(-1)),
            ("Normalised plots (min–max)", ("N",), lambda: self.norm_box.toggle()),
            (None, (), None),
            ("Close", ("Ctrl+W", "Esc"), self.close),
        )
        self.menu_actions: dict[str, QAction] = {}
        for text, keys, slot in entries:
            if text is None:
                menu.addSeparator()
                continue
            act = QAction(text, self)
            act.setShortcuts([QKeySequence(k) for k in keys])
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(slot)
            menu.addAction(act)
            self.addAction(act)
            self.menu_actions[text] = act

    def _bump_speed(self, d: int) -> None:
        """One step along the speed list (0.25x … 4x, then max), as the main window's +/−."""
        i = self.speed_box.currentIndex() + d
        if 0 <= i < self.speed_box.count():
            self.speed_box.setCurrentIndex(i)
            self.statusBar().showMessage(f"speed {self.speed_box.currentText()}", 2000)

    # -- controls -----------------------------------------------------------------------------------------
    def play(self, n: int | None = None) -> None:
        self.command.emit("play" if n is None else "run", n)

    def seek(self, t: int) -> None:
        if 0 <= t < self.horizon:
            self.command.emit("seek", int(t))

    def set_speed(self, s: float) -> None:
        self.speed_box.setCurrentIndex(SPEEDS.index(s))

    def _reset(self) -> None:
        self.command.emit("reset", self.seed_box.value())

    def _normalised_toggled(self, on: bool) -> None:
        for p in (self.plot_int, self.plot_vint):
            p.set_normalised(on)
            p.getPlotItem().getAxis("right").setVisible(not on)
        self._dirty = True

    # -- worker → window ----------------------------------------------------------------------------------
    def _on_pairs(self, pairs: tuple[PairRecord, ...], horizon: int, _seek: bool) -> None:
        self.worker.ack()
        n = self.trajectory_steps()
        for p in pairs:
            self.pt.put(p)
            if n and p.episode == 0 and p.t + 1 == n:  # the file's last step: the window says so, not the terminal
                self.statusBar().showMessage(
                    f"the trajectory ended at step {n}: Play goes on with each agent's own actions", 15000
                )
        self.last = pairs[-1]
        self.cursor = self.last.t
        self.horizon = horizon
        self.frames_received += len(pairs)
        self._dirty = True

    def _on_state(self, playing: bool) -> None:
        self.playing = playing
        self.play_button.setText("❚❚ Pause" if playing else "▶ Play")

    def trajectory_steps(self) -> int:
        """The steps of the trajectory both sides replay in the first pair episode (0: none)."""
        traj = getattr(self.cmp, "trajectory", None)
        return len(traj) if traj is not None else 0

    def trajectory_text(self, episode: int, t: int) -> str:
        """Where the pair is in its trajectory, for the status line ('' without one or after episode 1)."""
        n = self.trajectory_steps()
        if not n or episode != 0:
            return ""
        return f" · trajectory step {t + 1} / {n}" if t < n else f" · past the trajectory's {n} steps: own actions"

    def _draw(self) -> None:
        if self._dirty:
            self._dirty = False
            self.draw_now()

    def draw_now(self) -> None:
        p = self.last
        if p is None:
            return
        t = self.cursor
        for i, (rec, held) in enumerate(((p.a, p.a_held), (p.b, p.b_held))):
            self.games[i].show_record(rec)
            state = "episode over, waiting for the other" if held else rec.action_name
            score = rec.score + (rec.raw_reward if (held or rec.done) else 0.0)
            self.infos[i].setText(f"score {score:g} · {self.pt.rooms_text(i)} · {state}")
        self.plot_int.show_data(self.pt.curve(0, "r_int", t), self.pt.curve(1, "r_int", t), t, self.horizon)
        self.plot_vint.show_data(self.pt.curve(0, "v_int", t), self.pt.curve(1, "v_int", t), t, self.horizon)
        self.slider.set_state(self.horizon, t, [])
        self.status.setText(
            f"{'▶ playing' if self.playing else '❚❚ paused'} · pair episode {p.episode + 1} · "
            f"step {t} / {self.horizon} · seed {p.seed}{self.trajectory_text(p.episode, t)}"
        )

    def release(self) -> None:
        """Stop the worker (it closes both sessions) and join its thread."""
        self.timer.stop()
        if self.thread.isRunning():
            from PyQt6.QtCore import QMetaObject

            QMetaObject.invokeMethod(self.worker, "shutdown", Qt.ConnectionType.BlockingQueuedConnection)
            self.thread.quit()
            self.thread.wait(5000)

    def closeEvent(self, ev) -> None:  # noqa: N802 - Qt name
        self.release()
        super().closeEvent(ev)


def run_window(
    comparison: Comparison,
    size: tuple[int, int] = (1280, 720),
    frames: int | None = None,
    screenshot: Path | None = None,
    normalised: bool = False,
) -> int:
    """Show the compare window (``snd-player compare``); with ``screenshot``, play ``frames`` pair steps as
    fast as possible, grab the window to a PNG and exit."""
    from snd_player.app.lifetime import destroy_now
    from snd_player.app.widgets.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("snd-player")
    apply_dark_theme(app)
    win = CompareWindow(comparison, normalised=normalised)
    try:
        return _show(app, win, size, frames, screenshot)
    finally:
        win.release()
        destroy_now(win)  # now, not whenever the cycle collector gets to it (see snd_player.app.lifetime)


def _show(app: QApplication, win: CompareWindow, size: tuple[int, int], frames: int | None,
          screenshot: Path | None) -> int:  # fmt: skip
    """``run_window`` until the window is done (closed, or grabbed to ``screenshot``)."""
    win.resize(QSize(*size))
    win.show()
    if screenshot is not None:
        win.set_speed(0.0)
        win.play(frames or 120)
        t_end = time.monotonic() + 300
        while time.monotonic() < t_end and (win.frames_received < (frames or 120) or win.playing):
            app.processEvents()
            time.sleep(0.005)
        for _ in range(5):
            app.processEvents()
            time.sleep(0.02)
        win.draw_now()
        app.processEvents()
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        ok = win.grab().save(str(screenshot))
        win.close()
        if not ok:
            print(f"snd-player compare: could not write {screenshot}", file=sys.stderr)
            return 2
        print(f"{screenshot}: {win.frames_received} pair steps, window {win.width()}x{win.height()}")
        return 0
    if frames is not None:
        win.play(frames)
    else:
        win.play()
    return app.exec()
