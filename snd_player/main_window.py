"""The main window: game view and timeline in the middle, one dock per panel, controls in a toolbar.

The window never steps the env or runs a network: a :class:`~snd_player.worker.SessionWorker` does, in a
child process (the app) or a thread (tests), and hands over :class:`~snd_player.worker.StepBatch` objects.
Batches are only stored here. Paused and at paced speeds a frame is drawn when a batch arrives, at most one
per ``MIN_FRAME_S``; at max speed the steps go through a short play-out queue and a steady frame clock
shows one per frame (see ``_on_batch``). Panels use long-lived items (STYLE.md item 8), and all of them are
painted in one repaint of the window.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QCoreApplication, QEvent, QSettings, QSize, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PyQt6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from snd_player.projection import Basis, FeatureProjector
from snd_player.run_support import RunSupport
from snd_player.session import Session
from snd_player.timeline import EpisodeTimeline, RoomStats, is_montezuma
from snd_player.widgets import theme
from snd_player.widgets.export import ExportMenu
from snd_player.widgets.game_view import VIEW_LABELS, VIEW_MODES, GameView
from snd_player.widgets.plots import IntrinsicPlot, RescaleBudget, ValuePlot
from snd_player.widgets.policy import PolicyBars
from snd_player.widgets.projection import ProjectionView
from snd_player.widgets.repaint import FrameSync, scenes_under
from snd_player.widgets.rooms import RoomsPanel
from snd_player.widgets.text_line import TextLine
from snd_player.widgets.timeline_slider import TimelineSlider
from snd_player.worker import SPEEDS, StepBatch, WorkerThread

DEMO_CHECKPOINT = Path(__file__).resolve().parent / "assets" / "demo.safetensors"
TRAIN_HINT = "trainer train --env ALE/MontezumaRevenge-v5 --algo snd-v --run-dir runs/mr-sndv"
DRAW_FPS = 60
MIN_FRAME_S = 1 / DRAW_FPS - 0.003
"""Least time between two drawn frames: under 1/60 s, so a frame whose step arrives a little late, or whose
timer fires a little late, still comes within 1/60 s of the one before."""
PLAYOUT_FRAME_S = 0.016
"""At max speed, the frame clock's period: a frame every 16 ms (62.5 a second) while steps are queued."""
CLOCK_EARLY_S = 0.0015
"""The frame clock's timer is set this much early and the rest is slept: Qt's timers fire to the
millisecond, late by up to one, which alone put one frame interval in twenty over 16.7 ms."""
PLAYOUT_QUEUE = 4
"""At max speed, steps queued for display at most (older ones are skipped, as max speed skips steps
anyway). The queue shows the screen a step or two behind the worker (about 16-50 ms) so that a step that
comes late, because the worker's process was descheduled, does not leave a frame without a new step."""
PROJECTION_EVERY = 4
"""While playing, the point cloud is redrawn every this many frames (15 Hz at 60 frames/s): with a few
hundred points it costs 4-5 ms, half a frame, and a frame that carries it must still end within 16.7 ms.
The room map (a few times a second) is drawn on frames without it."""
MAX_RECENT = 8
PANEL_TIPS = {
    "dock_policy": "Policy: the probability of each action in this state; the chosen one is yellow. Entropy "
    "near its maximum means the agent is unsure.",
    "dock_intrinsic": "Intrinsic motivation: r_int the agent was trained on (top) and the raw distillation "
    "error of the predictor against the target (bottom), per step; dashed lines mark room changes. "
    "Drag or wheel to zoom, double-click to follow the episode again, right-click to save.",
    "dock_values": "Values: the critic's expected extrinsic (V_ext, left axis) and intrinsic (V_int, right "
    "axis) return; stars mark game rewards (gold: positive, red: negative). Right-click to save.",
    "dock_projection": "Feature projection: the target network's features of every step of this episode, "
    "projected on their two main directions (PCA refitted as the agent plays); the ringed point is the "
    "current step. Right-click to save.",
    "dock_rooms": "Rooms visited: rooms reached this episode and this session (steps spent in each), and "
    "where in the current room the agent has been (heat map, log scale).",
    "game": "The game as the agent plays it (V cycles to the network's input); click here to give the "
    "keyboard back to the shortcuts.",
}
"""What each panel shows, as tooltips (the dock title bar and the panel itself)."""
DEFAULT_DOCK_SIZES = {
    "policy": 300 / 1600,
    "projection": 420 / 1600,
    "rooms": 380 / 1600,
    "bottom": 310 / 1000,
}
"""Dock sizes as fractions of the window, so 1280x720 and 1920x1080 get the proportions of 1600x1000."""


_LEAVE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape)


def speed_label(s: float) -> str:
    return "max" if s == 0 else f"{s:g}x"


def header_html(meta: dict[str, Any], path: Path | None) -> str:
    """Algorithm · env · steps trained · date, from the checkpoint metadata."""
    algo = str(meta.get("algo", "?")).upper()
    env = meta.get("env_id", "?")
    steps = meta.get("global_step")
    steps_s = f"{int(steps):,} steps trained" if isinstance(steps, int | float) else "steps unknown"
    date = str(meta.get("created", ""))[:10] or "date unknown"
    sep = f"<span style='color:{theme.MUTED}'>&nbsp;· </span>"
    # <nobr> per segment: a narrow window wraps between segments, never inside "MontezumaRevenge-v5"
    return (
        f"<nobr><span style='font-size:13pt; font-weight:700; color:{theme.ACCENT}'>{algo}</span></nobr>{sep}"
        f"<nobr><span style='font-size:12pt'>{env}</span></nobr>{sep}<nobr>{steps_s}</nobr>{sep}"
        f"<nobr>{date}</nobr>"
    )


class WelcomePage(QWidget):
    def __init__(self, on_open: Callable[[], None], parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.addStretch(2)
        title = QLabel("<span style='font-size:26pt; font-weight:700'>snd-player</span>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(title)
        sub = QLabel(
            "Watch a PPO agent with RND / SND intrinsic motivation play, frame by frame:<br>"
            "what it sees, what it finds novel, what it expects and where it has been."
        )
        sub.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sub.setWordWrap(True)
        sub.setStyleSheet(f"color: {theme.MUTED}; font-size: 11pt;")
        lay.addWidget(sub)
        lay.addSpacing(18)
        row = QHBoxLayout()
        row.addStretch(1)
        self.open_button = QPushButton("Open checkpoint…")
        self.open_button.setMinimumSize(QSize(220, 40))
        self.open_button.setStyleSheet("font-size: 12pt;")
        self.open_button.clicked.connect(on_open)
        row.addWidget(self.open_button)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addSpacing(18)
        self.hint = hint = QLabel(
            "or drop a <code>.safetensors</code> checkpoint here. No checkpoint yet? Train one:<br><br>"
            f"<code style='font-size:11pt; color:{theme.TEXT}'>{TRAIN_HINT}</code><br><br>"
            "then open <code>runs/mr-sndv/checkpoints/&lt;step&gt;.safetensors</code>"
        )
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)
        hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        hint.setStyleSheet(f"color: {theme.MUTED};")
        lay.addWidget(hint)
        self.recent = QLabel("")
        self.recent.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.recent.setWordWrap(True)
        self.recent.setStyleSheet(f"color: {theme.MUTED};")
        lay.addWidget(self.recent)
        lay.addStretch(3)


class MainWindow(QMainWindow):
    """``command(name, value)`` is connected (queued) to the worker; see ``SessionWorker.command``."""

    command = pyqtSignal(str, object)
    record_requested = pyqtSignal(str)
    """Emitted with the video's path when a recording from the Record dialog starts."""
    session_changed = pyqtSignal()
    """A session was set (and its worker started): run support follows the open checkpoint's run."""

    def __init__(
        self,
        settings: QSettings | None = None,
        seed: int = 0,
        greedy: bool = False,
        session_process: bool = False,
    ) -> None:
        super().__init__()
        self.session_process = session_process
        """Step sessions in a child process (the app, the benchmark) rather than a thread (tests): see
        snd_player.worker."""
        self.settings = settings if settings is not None else QSettings("snd", "snd-player")
        self.setWindowTitle("snd-player")
        self.resize(1600, 1000)
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.session: Session | None = None
        self.worker: WorkerThread | None = None
        self.timeline: EpisodeTimeline | None = None
        self.room_stats: RoomStats | None = None
        self.basis: Basis | None = None
        self.last = None  # the StepRecord on screen
        self._newest: tuple | None = None  # (record, horizon) of the newest step received
        self._playout: deque = deque()  # (record, horizon) waiting for the frame clock, at max speed
        self.cursor = 0
        self.horizon = 0
        self.playing = False
        self.frames_received = 0
        self.frames_total = 0  # over every session of this window (follow mode switches sessions)
        self._run_end: int | None = None  # frames_total at which a play(n) ends
        self.frames_drawn = 0
        self.inference_ms = 0.0
        self._dirty = False
        self._rooms_due = 0.0
        self._fps_t0 = time.perf_counter()
        self._fps_draws = 0
        self._fps_steps = 0
        self.draw_fps = 0.0
        self.steps_per_s = 0.0
        self._initial_seed = seed
        self._initial_greedy = greedy
        self.checkpoint: Path | None = None
        self._scenes: list = []
        self.frame_sync = FrameSync(self)
        self.rescale = RescaleBudget()  # plot axes that may move in the frame being drawn (draw_now)

        self.stack = QStackedWidget()
        self.welcome = WelcomePage(self.open_dialog)
        self.stack.addWidget(self.welcome)
        self.player = QWidget()
        pl = QVBoxLayout(self.player)
        pl.setContentsMargins(6, 4, 6, 4)
        pl.setSpacing(4)
        self.header = QLabel("")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        pl.addWidget(self.header)
        self.game = GameView()
        self.game.setToolTip(PANEL_TIPS["game"])
        self.game.setMinimumSize(240, 160)  # 1280x720 must fit header, game, timeline and its line
        self.game.setFocusPolicy(
            Qt.FocusPolicy.ClickFocus
        )  # a click on the game takes keys from the seed box
        pl.addWidget(self.game, 1)
        self.slider = TimelineSlider()
        self.slider.scrubbed.connect(self.seek)
        pl.addWidget(self.slider)
        self.timeline_label = TextLine("", color=theme.MUTED, padding=0)
        self.timeline_label.setToolTip(
            "bookmarks on the timeline: r_int peaks (orange, below) and rooms entered for the first time "
            "(teal, above); [ and ] jump between them"
        )
        # one line at every width (wrapping pushed it under the docks), elided when narrow
        for lab in (self.header, self.timeline_label):  # long lines must not widen the centre
            lab.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        pl.addWidget(self.timeline_label)
        self.stack.addWidget(self.player)
        self.setCentralWidget(self.stack)

        self._build_actions()
        self._build_toolbar()
        self._build_menus()
        self._build_docks()
        self._build_statusbar()
        self._refresh_recent()
        self._show_welcome(True)

        # frames are drawn when a batch arrives, at most one per MIN_FRAME_S (see _schedule_draw); a slow
        # timer refreshes the rates in the status bar
        self.draw_timer = QTimer(self)
        self.draw_timer.setSingleShot(True)
        self.draw_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.draw_timer.timeout.connect(self._draw)
        self._last_draw = 0.0
        # at max speed, a steady clock draws the queued steps (see _on_batch)
        self.frame_clock = QTimer(self)
        self.frame_clock.setSingleShot(True)
        self.frame_clock.setTimerType(Qt.TimerType.PreciseTimer)
        self.frame_clock.timeout.connect(self._clock_tick)
        self._clock_due: float | None = None  # perf_counter() of the next tick while the clock runs
        self._idle_ticks = 0
        self.rates_timer = QTimer(self)
        self.rates_timer.timeout.connect(self._update_rates)
        self.rates_timer.start(250)
        self.runs = RunSupport(self)  # run folders, training panel, follow, File → Compare…

    # -- construction -------------------------------------------------------------------------------------
    def _action(self, text: str, shortcut: str | None, slot: Callable, checkable: bool = False) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        self.act_open = self._action("&Open checkpoint…", "Ctrl+O", self.open_dialog)
        self.act_quit = self._action("&Quit", "Ctrl+Q", self.close)
        self.act_play = self._action("Play / pause", "Space", lambda: self.command.emit("toggle", None))
        self.act_step = self._action("Step one frame", "Right", lambda: self.command.emit("step", None))
        self.act_back = self._action("Step back one frame", "Left", lambda: self.seek(self.cursor - 1))
        self.act_reset = self._action(
            "Restart episode (seed from the box)",
            "R",
            lambda: self.command.emit("reset", self.seed_box.value()),
        )
        self.act_new_episode = self._action("New episode (random seed)", "Shift+R", self.new_random_episode)
        self.act_faster = self._action("Faster", "+", lambda: self._bump_speed(+1))
        self.act_faster.setShortcuts([QKeySequence("+"), QKeySequence("=")])
        self.act_slower = self._action("Slower", "-", lambda: self._bump_speed(-1))
        self.act_greedy = self._action("Greedy actions (argmax)", "G", self._greedy_toggled, checkable=True)
        self.act_greedy.setChecked(self._initial_greedy)
        self.act_prev_mark = self._action("Previous bookmark", "[", lambda: self.jump_bookmark(-1))
        self.act_next_mark = self._action("Next bookmark", "]", lambda: self.jump_bookmark(+1))
        self.act_start = self._action("Go to episode start", "Home", lambda: self.seek(0))
        self.act_view = self._action("Cycle game view: frame / stack / newest", "V", self._cycle_view)
        self.act_record = self._action("Record video…", "Ctrl+R", self._record)
        self.act_screenshot = self._action("Save &screenshot…", "Ctrl+Shift+S", self.save_screenshot_dialog)
        self.act_help = self._action("Keyboard shortcuts", "F1", self.show_shortcuts)
        self.act_about = self._action("About snd-player", None, self._about)
        self.act_reset_layout = self._action("Reset panel layout", None, self.reset_layout)
        self.view_group = QActionGroup(self)
        self.view_actions: dict[str, QAction] = {}
        for mode in VIEW_MODES:
            a = QAction(f"Show {VIEW_LABELS[mode]}", self, checkable=True)
            a.triggered.connect(lambda _=False, m=mode: self.set_view_mode(m))
            self.view_group.addAction(a)
            self.view_actions[mode] = a
        self.view_actions["frame"].setChecked(True)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Controls")
        tb.setObjectName("controls")
        tb.setMovable(False)
        tb.setIconSize(QSize(16, 16))
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.play_button = QPushButton("▶ Play")
        self.play_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.play_button.setMinimumWidth(90)
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.clicked.connect(self.act_play.trigger)
        tb.addWidget(self.play_button)
        for text, act in (("Step ▸", self.act_step), ("◂ Back", self.act_back), ("Reset", self.act_reset)):
            b = QPushButton(text)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setToolTip(f"{act.text()} ({act.shortcut().toString()})")
            b.clicked.connect(act.trigger)
            tb.addWidget(b)
        tb.addSeparator()
        tb.addWidget(QLabel(" speed "))
        self.speed_box = QComboBox()
        self.speed_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for s in SPEEDS:
            self.speed_box.addItem(speed_label(s), s)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip("speed relative to real time (15 agent steps/s); + and - change it")
        self.speed_box.currentIndexChanged.connect(self._speed_changed)
        tb.addWidget(self.speed_box)
        tb.addWidget(QLabel("  seed "))
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setValue(self._initial_seed)
        self.seed_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.seed_box.setToolTip("env and action-sampling seed; changing it restarts the episode")
        self.seed_box.editingFinished.connect(self._seed_changed)
        self.seed_box.installEventFilter(self)  # Enter and Escape hand the keys back to the shortcuts
        tb.addWidget(self.seed_box)
        tb.addWidget(QLabel("  "))
        self.greedy_box = QCheckBox("greedy")
        self.greedy_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.greedy_box.setChecked(self._initial_greedy)
        self.greedy_box.setToolTip("argmax actions instead of sampling from the policy (G)")
        self.greedy_box.toggled.connect(self._greedy_box_toggled)
        tb.addWidget(self.greedy_box)
        tb.addSeparator()
        tb.addWidget(QLabel(" view "))
        self.view_box = QComboBox()
        self.view_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for mode in VIEW_MODES:
            self.view_box.addItem(VIEW_LABELS[mode], mode)
        self.view_box.setToolTip("what the game view shows (V)")
        self.view_box.currentIndexChanged.connect(lambda i: self.set_view_mode(VIEW_MODES[i]))
        tb.addWidget(self.view_box)
        tb.addSeparator()
        self.record_button = QPushButton("● Record")
        self.record_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.record_button.setToolTip("record a demo video of this checkpoint (Ctrl+R)")
        self.record_button.clicked.connect(self.act_record.trigger)
        tb.addWidget(self.record_button)
        self.toolbar = tb

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = self.file_menu = mb.addMenu("&File")
        f.addAction(self.act_open)
        self.recent_menu = f.addMenu("Open &recent")
        f.addSeparator()
        f.addAction(self.act_record)
        f.addAction(self.act_screenshot)
        f.addSeparator()
        f.addAction(self.act_quit)
        self.view_menu = mb.addMenu("&View")
        c = mb.addMenu("&Controls")
        for a in (
            self.act_play,
            self.act_step,
            self.act_back,
            self.act_reset,
            self.act_new_episode,
            None,
            self.act_faster,
            self.act_slower,
            self.act_greedy,
            None,
            self.act_prev_mark,
            self.act_next_mark,
            self.act_start,
        ):
            if a is None:
                c.addSeparator()
            else:
                c.addAction(a)
        h = mb.addMenu("&Help")
        h.addAction(self.act_help)
        h.addAction(self.act_about)

    def _dock(self, title: str, name: str, widget: QWidget) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(name)
        d.setWidget(widget)
        d.setToolTip(PANEL_TIPS.get(name, ""))
        d.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        return d

    def _build_docks(self) -> None:
        self.intrinsic = IntrinsicPlot()
        self.values = ValuePlot()
        self.policy = PolicyBars([])
        self.projection = ProjectionView(by_room=True)
        self.rooms = QLabel("")
        self.dock_policy = self._dock("Policy", "dock_policy", self.policy)
        self.dock_intrinsic = self._dock("Intrinsic motivation", "dock_intrinsic", self.intrinsic)
        self.dock_values = self._dock("Values", "dock_values", self.values)
        self.dock_projection = self._dock("Feature projection", "dock_projection", self.projection)
        self.dock_rooms = self._dock("Rooms visited", "dock_rooms", self.rooms)
        self.docks = [
            self.dock_policy,
            self.dock_intrinsic,
            self.dock_values,
            self.dock_projection,
            self.dock_rooms,
        ]
        self._applying_sizes = False
        self._settled_size = None
        for d in self.docks:
            d.installEventFilter(self)
        for d in self.docks:
            self.view_menu.addAction(d.toggleViewAction())
        self.view_menu.addSeparator()
        for a in self.view_actions.values():
            self.view_menu.addAction(a)
        self.view_menu.addAction(self.act_view)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.act_reset_layout)
        self.reset_layout()

    def reset_layout(self) -> None:
        """Policy left of the game, projection and rooms right of it, the time plots across the bottom."""
        self._user_layout = False
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        for d in self.docks:
            d.setFloating(False)
            d.show()
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock_policy)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock_projection)
        self.splitDockWidget(self.dock_projection, self.dock_rooms, Qt.Orientation.Horizontal)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock_intrinsic)
        self.splitDockWidget(self.dock_intrinsic, self.dock_values, Qt.Orientation.Horizontal)
        self._default_sizes()

    def _default_sizes(self) -> None:
        """Dock sizes in proportion to the window; only take effect while the docks are visible."""
        w, h = self.width(), self.height()
        f = DEFAULT_DOCK_SIZES
        self.resizeDocks([self.dock_policy], [round(w * f["policy"])], Qt.Orientation.Horizontal)
        self.resizeDocks(
            [self.dock_projection, self.dock_rooms],
            [round(w * f["projection"]), round(w * f["rooms"])],
            Qt.Orientation.Horizontal,
        )
        self.resizeDocks([self.dock_intrinsic], [round(h * f["bottom"])], Qt.Orientation.Vertical)
        self.resizeDocks([self.dock_intrinsic, self.dock_values], [w // 2, w // 2], Qt.Orientation.Horizontal)
        self._applying_sizes = True
        QTimer.singleShot(0, self._sizes_settled)

    def _sizes_settled(self) -> None:
        self._applying_sizes = False
        self._settled_size = self.size()

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt name
        t = ev.type()
        if obj is self.seed_box and t == QEvent.Type.KeyPress and ev.key() in _LEAVE_KEYS:
            # Enter commits the seed (editingFinished) and Escape drops the edit; either way the box lets go,
            # or Space and the arrows keep going to it instead of play/pause and stepping
            if ev.key() == Qt.Key.Key_Escape and self.session is not None:
                self.seed_box.setValue(self.session.seed)
            QTimer.singleShot(0, self.game.setFocus)
        elif (
            t == QEvent.Type.Resize
            and obj in getattr(self, "docks", ())
            and not self._applying_sizes
            and self._settled_size == self.size()
        ):
            self._user_layout = True  # a dock separator moved while the window kept its size: the user's
        return super().eventFilter(obj, ev)

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt name
        """Keep the default proportions until the user moves a dock separator: a window shrunk to 1280x720
        and grown back gets its roomy layout back (Qt alone keeps the cramped sizes)."""
        super().resizeEvent(ev)
        if not getattr(self, "_user_layout", True) and self.stack.currentWidget() is self.player:
            self._applying_sizes = True
            QTimer.singleShot(0, self._default_sizes)

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        # painted lines, not QLabels: a new step's text must not re-lay out the window (text_line.py)
        self.status_fps = TextLine("")
        self.status_episode = TextLine("")
        self.status_score = TextLine("")
        self.status_rooms = TextLine("")
        self.status_state = TextLine("")
        for w in (
            self.status_state,
            self.status_episode,
            self.status_score,
            self.status_rooms,
            self.status_fps,
        ):
            sb.addPermanentWidget(w)

    # -- opening ------------------------------------------------------------------------------------------
    def _show_welcome(self, welcome: bool) -> None:
        self.stack.setCurrentWidget(self.welcome if welcome else self.player)
        first_show = not welcome and not self.dock_policy.isVisible()
        for d in self.docks:
            d.setVisible(not welcome)
        self.toolbar.setEnabled(not welcome)
        if first_show:
            QTimer.singleShot(0, self._default_sizes)  # once the docks are laid out

    def open_dialog(self) -> None:
        start = str(self.checkpoint.parent) if self.checkpoint else str(Path.cwd())
        path, _ = QFileDialog.getOpenFileName(
            self, "Open checkpoint", start, "snd checkpoints (*.safetensors);;All files (*)"
        )
        if path:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: str | Path) -> bool:
        """Load a checkpoint (a run folder: its best one); on failure show the one-line reason and keep whatever
        was open."""
        if Path(path).is_dir():
            return self.runs.open_run(path)
        from trainer.checkpoint import CheckpointError
        from trainer.envs import EnvError

        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            session = Session.from_checkpoint(
                path, seed=self.seed_box.value(), greedy=self.greedy_box.isChecked()
            )
        except (CheckpointError, EnvError, OSError) as e:
            QApplication.restoreOverrideCursor()
            QMessageBox.critical(self, "Cannot open checkpoint", str(e))
            return False
        except Exception as e:  # noqa: BLE001 - whatever else breaks, the window keeps what it had open
            QApplication.restoreOverrideCursor()
            first = str(e).splitlines()[0] if str(e) else ""
            QMessageBox.critical(self, "Cannot open checkpoint", f"{path}: {type(e).__name__}: {first}")
            return False
        QApplication.restoreOverrideCursor()
        # the first checkpoint plays at once; another one opened while paused stays paused
        self.set_session(session, autoplay=self.session is None or self.playing)
        self._add_recent(Path(path))
        return True

    def set_session(self, session: Session, autoplay: bool = True) -> None:
        """Show a loaded session: rebuild the panels that depend on the game, start a fresh worker."""
        self.stop_worker()
        self.session = session
        self.checkpoint = session.checkpoint
        meta = session.meta
        self.header.setText(header_html(meta, session.checkpoint))
        self.header.setToolTip(str(session.checkpoint or ""))
        self.setWindowTitle(
            f"snd-player — {session.checkpoint.name if session.checkpoint else session.env_id}"
        )
        self.seed_box.setValue(session.seed)
        self.timeline = EpisodeTimeline(-1, session.heat_grid)
        self.room_stats = RoomStats(session.heat_grid)
        self.basis = None
        self.last = self._newest = None
        self._stop_playout()
        self.cursor = self.horizon = 0
        self.frames_received = 0
        self.game.blank()

        self.intrinsic = IntrinsicPlot()
        self.values = ValuePlot()
        self.policy = PolicyBars(session.action_meanings)
        has_rooms = not session.is_procgen and (
            "montezuma" in session.env_id.lower() or "pitfall" in session.env_id.lower()
        )
        self.projection = ProjectionView(by_room=has_rooms)
        self.intrinsic.budget = self.values.budget = self.projection.budget = self.rescale
        self.rooms = RoomsPanel(session.room_source, is_montezuma(session.env_id), session.heat_grid)
        self.status_rooms.setText("")  # rooms or levels of the new game, from its first record
        self.exports = [
            ExportMenu(self.intrinsic, "intrinsic", self.intrinsic.columns),
            ExportMenu(self.values, "values", self.values.columns),
            ExportMenu(self.policy, "policy", self.policy.columns),
            ExportMenu(self.projection, "projection", self.projection.columns),
            ExportMenu(self.rooms, "rooms", None),
        ]
        if not session.has_motivation:
            self.intrinsic.set_no_motivation(session.algo)
            self.projection.set_no_motivation(session.algo)
        for dock, w in (
            (self.dock_intrinsic, self.intrinsic),
            (self.dock_values, self.values),
            (self.dock_policy, self.policy),
            (self.dock_projection, self.projection),
            (self.dock_rooms, self.rooms),
        ):
            old = dock.widget()
            w.setToolTip(PANEL_TIPS[dock.objectName()])
            dock.setWidget(w)
            if old is not None:
                old.deleteLater()
        self._show_welcome(False)
        # one repaint per frame for all plots (widgets/repaint.py); the old panels are only deleted later
        self._scenes = scenes_under(
            [self.game, self.intrinsic, self.values, self.policy, self.projection, self.rooms]
        )

        self.worker = WorkerThread(session, FeatureProjector(seed=session.seed), process=self.session_process)
        w = self.worker.worker
        self.command.connect(w.command)
        w.batch_ready.connect(self._on_batch)
        w.failed.connect(self._on_worker_failed)
        w.state_changed.connect(self._on_worker_state)
        w.record_event.connect(self._on_record_event)
        self.worker.start()
        self.command.emit("speed", SPEEDS[self.speed_box.currentIndex()])
        if autoplay:
            self.command.emit("play", None)
        self.session_changed.emit()

    def stop_worker(self) -> bool:
        """Stop and join the worker thread (if any); True when no worker thread is left running."""
        if self.worker is None:
            return True
        try:
            self.command.disconnect(self.worker.worker.command)
        except TypeError:
            pass
        ok = self.worker.stop()
        # the batches a thread worker queued before it stopped belong to this session: take them now,
        # while its timeline is current (delivered after set_session they went into the next session's
        # empty timeline: "cannot put step 8"). All receivers: PyQt delivers to its own slot proxies.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall)
        self.worker = None
        return ok

    # -- recent files and drops ---------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        v = self.settings.value("recent", [])
        if isinstance(v, str):
            v = [v]
        return [str(p) for p in (v or [])]

    def _add_recent(self, path: Path) -> None:
        p = str(path.resolve())
        files = [p] + [f for f in self.recent_files() if f != p]
        self.settings.setValue("recent", files[:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for f in files:
            a = self.recent_menu.addAction(f)
            a.triggered.connect(lambda _=False, f=f: self.open_checkpoint(f))
        self.recent_menu.setEnabled(bool(files))
        if files:
            self.welcome.recent.setText(
                "recent: " + " · ".join(Path(f).name for f in files[:3]) + "  (File ▸ Open recent)"
            )

    def dragEnterEvent(self, ev) -> None:  # noqa: N802 - Qt name
        if ev.mimeData().hasUrls() and any(
            u.toLocalFile().endswith(".safetensors") or Path(u.toLocalFile()).is_dir()
            for u in ev.mimeData().urls()
        ):
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:  # noqa: N802 - Qt name
        for u in ev.mimeData().urls():
            if u.toLocalFile().endswith(".safetensors") or Path(u.toLocalFile()).is_dir():
                self.open_checkpoint(u.toLocalFile())
                break

    # -- controls -----------------------------------------------------------------------------------------
    def play(self, n: int | None = None) -> None:
        """Play on (n=None) or exactly n more steps then pause."""
        self._run_end = None if n is None else self.frames_total + n
        self.command.emit("play" if n is None else "run", n)

    def frames_left(self) -> int | None:
        """Steps still to come of a ``play(n)`` (None: no such run), so that a new session (follow mode)
        plays only the rest: ``--frames N --follow`` ends after N frames in all."""
        return None if self._run_end is None else max(0, self._run_end - self.frames_total)

    def pause(self) -> None:
        self._run_end = None
        self.command.emit("pause", None)

    def step(self) -> None:
        self.command.emit("step", None)

    def seek(self, t: int) -> None:
        if self.session is None or not self.session.seekable:
            self.statusBar().showMessage(
                "this env cannot restore its state, so the timeline cannot seek", 3000
            )
            return
        if 0 <= t < self.horizon:
            self.command.emit("seek", int(t))

    def set_speed(self, s: float) -> None:
        self.speed_box.setCurrentIndex(SPEEDS.index(s))

    def _speed_changed(self, i: int) -> None:
        self.command.emit("speed", SPEEDS[i])
        if SPEEDS[i] != 0.0:
            self._flush_playout()  # paced speeds show each step as it arrives

    def at_max_speed(self) -> bool:
        return SPEEDS[self.speed_box.currentIndex()] == 0.0

    def _bump_speed(self, d: int) -> None:
        i = min(max(self.speed_box.currentIndex() + d, 0), len(SPEEDS) - 1)
        self.speed_box.setCurrentIndex(i)

    def new_random_episode(self) -> None:
        """Shift+R: a new episode from a seed drawn here and shown in the seed box, so it can be replayed."""
        seed = random.randrange(2**31 - 1)
        self.seed_box.setValue(seed)
        self.statusBar().showMessage(f"new episode, seed {seed} (R replays it)", 5000)
        self.command.emit("seed", seed)

    def _seed_changed(self) -> None:
        if self.session is not None and self.seed_box.value() != self.session.seed:
            self.command.emit("seed", self.seed_box.value())

    def _greedy_toggled(self, checked: bool) -> None:
        self.greedy_box.setChecked(checked)

    def _greedy_box_toggled(self, checked: bool) -> None:
        self.act_greedy.setChecked(checked)
        self.command.emit("greedy", checked)

    def set_view_mode(self, mode: str) -> None:
        self.game.set_mode(mode)
        self.view_actions[mode].setChecked(True)
        if self.view_box.currentIndex() != VIEW_MODES.index(mode):
            self.view_box.setCurrentIndex(VIEW_MODES.index(mode))

    def _cycle_view(self) -> None:
        self.set_view_mode(VIEW_MODES[(VIEW_MODES.index(self.game.mode) + 1) % len(VIEW_MODES)])

    def jump_bookmark(self, direction: int) -> None:
        if self.timeline is None:
            return
        marks = [b.t for b in self.timeline.sorted_bookmarks()]
        if direction < 0:
            cands = [t for t in marks if t < self.cursor]
            target = cands[-1] if cands else None
        else:
            cands = [t for t in marks if self.cursor < t < self.horizon]
            target = cands[0] if cands else None
        if target is None:
            self.statusBar().showMessage("no bookmark that way", 2000)
            return
        self.seek(target)

    def _record(self) -> None:
        """Record video…: the dialog, then the worker records while the window follows and shows progress."""
        from snd_player.record_dialog import RecordDialog

        if self.session is None or self.worker is None:
            self.statusBar().showMessage("open a checkpoint first, then record it", 5000)
            return
        req = RecordDialog.ask(self, self.session, self.cursor)
        if req is None:
            return
        self.record_requested.emit(req.path)
        self._record_progress = RecordDialog.progress(
            self, req, lambda: self.command.emit("cancel_record", None)
        )
        self.command.emit("record", req)

    def _on_record_event(self, ev: dict) -> None:
        from snd_player.record_dialog import RecordDialog

        RecordDialog.on_event(self, getattr(self, "_record_progress", None), ev)

    def save_screenshot_dialog(self) -> None:
        """File → Save screenshot: the whole window as a PNG."""
        name = self.checkpoint.stem if self.checkpoint else "snd-player"
        suggested = str(Path.cwd() / f"{name}-step{self.cursor}.png")
        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", suggested, "PNG images (*.png)")
        if path:
            self.save_screenshot(Path(path) if Path(path).suffix else Path(path).with_suffix(".png"))

    def save_screenshot(self, path: Path) -> bool:
        ok = self.grab().save(str(path))
        self.statusBar().showMessage(f"saved {path}" if ok else f"could not write {path}", 5000)
        return ok

    def show_shortcuts(self) -> None:
        rows = []
        for a in self.actions():
            keys = ", ".join(s.toString() for s in a.shortcuts())
            if keys:
                rows.append(
                    f"<tr><td><b>{keys}</b>&nbsp;&nbsp;&nbsp;</td><td>{a.text().replace('&', '')}</td></tr>"
                )
        rows.append(
            "<tr><td><b>drag</b></td><td>timeline slider: scrub back (and forward over known steps)</td></tr>"
        )
        rows.append(
            "<tr><td><b>double-click</b></td><td>a time plot: follow the whole episode again</td></tr>"
        )
        QMessageBox.information(self, "Keyboard shortcuts", "<table>" + "".join(rows) + "</table>")

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About snd-player",
            "snd-player plays a checkpoint of a PPO agent trained with RND or SND intrinsic motivation and "
            "shows, frame by frame, what drives it.",
        )

    # -- worker → window ----------------------------------------------------------------------------------
    def _on_batch(self, batch: StepBatch) -> None:
        """Store a batch's steps; show the newest now, or queue them for the frame clock at max speed.

        At max speed the worker hands over a step whenever one is done, about every 10-15 ms, but a step
        that comes late (its process descheduled for a moment) left the screen without a new frame for
        30 ms. There, the steps wait in a short queue (PLAYOUT_QUEUE) and a steady clock (PLAYOUT_FRAME_S)
        shows the next one each frame, so a late step costs the queue one step, not the screen a frame.
        Paused, seeking and at paced speeds (whose steps the worker times itself) the newest step is shown
        at once, as before; pausing shows the newest step the worker played."""
        if self.worker is not None:
            self.worker.worker.ack()
        if self.session is None or self.timeline is None or self.room_stats is None:
            return
        queue = self.playing and batch.playing and not batch.seek and self.at_max_speed()
        for rec in batch.records:
            if rec.episode != self.timeline.episode:
                if len(self.timeline):
                    self.room_stats.fold(self.timeline)
                self.timeline = EpisodeTimeline(rec.episode, self.session.heat_grid)
                self._playout.clear()  # the old episode's last steps are skipped, as max speed skips
            self.timeline.put(rec)
            if queue:
                self._playout.append((rec, len(self.timeline)))
        if len(self.timeline) > batch.horizon:
            self.timeline.truncate(batch.horizon)
        if batch.basis is not None:
            self.basis = batch.basis
        self._newest = (batch.records[-1], len(self.timeline))
        self.frames_received += len(batch.records)
        self.frames_total += len(batch.records)
        self._fps_steps += len(batch.records)
        self.inference_ms = batch.inference_ms
        if queue:
            while len(self._playout) > PLAYOUT_QUEUE:
                self._playout.popleft()
            if self._clock_due is None:
                self._idle_ticks = 0
                self._clock_due = time.perf_counter()
                self._clock_tick()  # the first queued step at once
            return
        self._stop_playout()
        self._show(*self._newest)

    def _put_on_screen(self, rec, horizon: int) -> None:
        """Make ``rec`` the step the next frame draws; the plots end at ``horizon`` steps."""
        self.last = rec
        self.cursor = rec.t
        self.horizon = min(horizon, len(self.timeline)) if self.timeline is not None else horizon
        self._dirty = True

    def _show(self, rec, horizon: int) -> None:
        """Make ``rec`` the step on screen and draw it (now, or MIN_FRAME_S after the last frame)."""
        self._put_on_screen(rec, horizon)
        self._schedule_draw()

    def _clock_tick(self) -> None:
        """At max speed: draw the next queued step at its due time, every PLAYOUT_FRAME_S; the clock
        stops after a quarter second without steps."""
        due = self._clock_due
        if due is None:
            return
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)  # at most CLOCK_EARLY_S and Qt's millisecond
        start = time.perf_counter()
        tl = self.timeline
        while self._playout and (tl is None or self._playout[0][0].t >= len(tl)):
            self._playout.popleft()  # truncated away by a seek meanwhile
        if self._playout and tl is not None:
            self._idle_ticks = 0
            self._put_on_screen(*self._playout.popleft())
            self.draw_timer.stop()
            self._draw()
        else:
            self._idle_ticks += 1
            if self._idle_ticks * PLAYOUT_FRAME_S > 0.25:
                self._stop_playout()
                return
        # a fixed cadence; after a frame that overran its period, the next comes MIN_FRAME_S after it
        now = time.perf_counter()
        self._clock_due = max(due + PLAYOUT_FRAME_S, start + MIN_FRAME_S, now)
        self.frame_clock.start(max(0, int((self._clock_due - now - CLOCK_EARLY_S) * 1000.0)))

    def _stop_playout(self) -> None:
        self._playout.clear()
        self.frame_clock.stop()
        self._clock_due = None

    def _flush_playout(self) -> None:
        """Leave max-speed play-out: show the newest step received, which is where the worker stands."""
        self._stop_playout()
        if self._newest is not None and self.timeline is not None and self._newest[0] is not self.last:
            if self._newest[0].t < len(self.timeline) and self._newest[0].episode == self.timeline.episode:
                self._show(*self._newest)

    def _on_worker_failed(self, msg: str) -> None:
        self.statusBar().showMessage(msg, 6000)

    def _on_worker_state(self, state: dict) -> None:
        self.playing = bool(state["playing"])
        if not self.playing or not self.at_max_speed():
            self._flush_playout()
        self.play_button.setText("❚❚ Pause" if self.playing else "▶ Play")
        self.status_state.setText("▶ playing" if self.playing else "❚❚ paused")

    # -- drawing ------------------------------------------------------------------------------------------
    def _schedule_draw(self) -> None:
        """Draw the step on screen now, or when MIN_FRAME_S has passed since the last frame.

        (A fixed 60 Hz timer drew only at its ticks: a step arriving just after a tick waited for the next,
        and a tick with nothing new left a 33 ms gap, so at max speed a frame in eight came late although
        the agent played more steps a second than the screen shows.)"""
        if self.draw_timer.isActive():
            return  # the pending frame will show this batch too
        wait_ms = (self._last_draw + MIN_FRAME_S - time.perf_counter()) * 1000.0
        self.draw_timer.start(max(0, int(wait_ms + 0.5)))

    def _draw(self) -> None:
        if not self._dirty or self.last is None or self.timeline is None:
            return
        self._dirty = False
        self._last_draw = time.perf_counter()
        self.draw_now()

    def _update_rates(self) -> None:
        now = time.perf_counter()
        if now - self._fps_t0 >= 1.0:
            dt = now - self._fps_t0
            self.draw_fps, self.steps_per_s = self._fps_draws / dt, self._fps_steps / dt
            self._fps_t0, self._fps_draws, self._fps_steps = now, 0, 0
            self._update_status()

    def draw_now(self) -> None:
        """Draw the step on screen into every panel (when a step arrives, or from the max-speed clock).

        While playing, the point cloud is redrawn every PROJECTION_EVERY frames (15 Hz) and the room map
        four times a second, on frames without the point cloud: one new point or one more step in a room
        moves them by less than a pixel, and they are the dearest panels to draw. Paused, everything is
        drawn at once.

        For the same reason, while playing at most one plot axis moves per frame, none on frames with the
        room map, and on point-cloud frames only the cloud's (``RescaleBudget``)."""
        rec, tl = self.last, self.timeline
        if rec is None or tl is None or self.room_stats is None:
            return
        now = time.perf_counter()
        cloud = not self.playing or self.frames_drawn % PROJECTION_EVERY == 0
        # while playing, the room map is drawn on frames without the point cloud (each costs a few ms)
        rooms = not self.playing or (now >= self._rooms_due and not cloud)
        self.rescale.left = None if not self.playing else 0 if cloud or rooms else 1
        self.game.show_record(rec)
        # the steps up to the one on screen: at max speed a few more may wait in the play-out queue
        self.intrinsic.update_from(tl, self.cursor, self.horizon)
        self.values.update_from(tl, self.cursor, self.horizon)
        self.policy.show_record(rec)
        if cloud:
            if self.playing:
                self.rescale.left = 1
            self.projection.update_from(tl, self.basis, self.cursor, self.horizon)
        self.slider.set_state(self.horizon, self.cursor, tl.sorted_bookmarks())
        if rooms:
            self._rooms_due = now + 0.25  # the room map and heat map change slowly: four times a second
            self.rooms.update_from(self.room_stats, tl, rec)
        self._update_live_status()
        self.frame_sync.end_frame(self._scenes)
        self.frames_drawn += 1
        self._fps_draws += 1

    def _update_status(self) -> None:
        speed = speed_label(SPEEDS[self.speed_box.currentIndex()])
        rate = (
            f"draw {self.draw_fps:3.0f} fps · agent {self.steps_per_s:5.1f} steps/s"
            if self.playing
            else "paused"
        )
        self.status_fps.setText(f"{rate} · speed {speed} · networks {self.inference_ms:.1f} ms/step")
        self._update_live_status()

    def _update_live_status(self) -> None:
        """Status bar and timeline line for the record on screen, with every drawn frame (they lagged the
        overlay by up to a second when refreshed with the rates). Labels are only touched when their text
        changes (TextLine.setText), and the room count is cached per room-set size, so a frame costs a few
        string compares."""
        rec, tl = self.last, self.timeline
        if rec is None or tl is None:
            return
        self.status_episode.setText(f"episode {rec.episode + 1} · step {rec.t} / {self.horizon}")
        self.status_score.setText(f"score {rec.score:g}")
        if rec.level_seed >= 0:  # Procgen: levels, no rooms
            self.status_rooms.setText(f"level seed {rec.level_seed}")
        elif rec.room >= 0 and self.room_stats is not None:
            key = (id(tl), len(tl.room_steps), len(self.room_stats.steps), self.room_stats.episodes)
            if key != getattr(self, "_rooms_key", None):
                self._rooms_key = key
                ses = len([k for k in self.room_stats.visits(tl) if k[1] >= 0])
                self.status_rooms.setText(f"rooms {len(tl.rooms)} (session {ses})")
        else:
            self.status_rooms.setText("")
        peaks = sum(b.kind == "peak" for b in tl.bookmarks.values())  # a few dozen at most
        self.timeline_label.setText(
            f"episode {rec.episode + 1} · step {rec.t} of {self.horizon} · {peaks} r_int peaks · "
            f"{len(tl.bookmarks) - peaks} new rooms",
        )

    def release(self) -> None:
        """Stop the worker and drop the session (its env and snapshots)."""
        self.stop_worker()
        if self.session is not None:
            self.session.close()
        self.session = None
        self.last = self._newest = None
        self._stop_playout()

    def closeEvent(self, ev: QCloseEvent) -> None:  # noqa: N802 - Qt name
        self.draw_timer.stop()
        self._stop_playout()
        self.rates_timer.stop()
        self.stop_worker()
        super().closeEvent(ev)
