"""How the main window is built: actions and shortcuts, the toolbar, the menus, one dock per panel with
its default size, the status bar, the welcome page and the header; and the screenshot and help dialogs.
A base of :class:`~snd_player.app.main_window.MainWindow`, which calls these from its constructor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QEvent, QSize, Qt, QTimer
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from snd_player.app.playback import speed_label
from snd_player.app.widgets import theme
from snd_player.app.widgets.actions import exclusive_actions
from snd_player.app.widgets.game_view import VIEW_LABELS, VIEW_MODES
from snd_player.app.widgets.plots import IntrinsicPlot, ValuePlot
from snd_player.app.widgets.policy import PolicyBars
from snd_player.app.widgets.projection import ProjectionView
from snd_player.app.widgets.text_line import TextLine
from snd_player.app.worker import SPEEDS

TRAIN_HINT = "trainer train --env ALE/MontezumaRevenge-v5 --algo snd-v --run-dir runs/mr-sndv"
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


def header_html(meta: dict[str, Any], path: Path | None) -> str:
    """Algorithm · env · steps trained · date, from the checkpoint metadata."""
    algo = str(meta.get("algo", "?")).upper()
    env = meta.get("env_id", "?")
    steps = meta.get("global_step")
    steps_s = f"{int(steps):,} steps trained" if isinstance(steps, int | float) else "steps unknown"
    date = str(meta.get("created", ""))[:10] or "date unknown"
    dot = f"<span style='color:{theme.MUTED}'>·</span>&nbsp;"
    # <nobr> per segment, its "· " inside it: a narrow window wraps between segments, never inside
    # "MontezumaRevenge-v5", and a line never ends in a lone "·" (issue 27 item 6)
    return (
        f"<nobr><span style='font-size:13pt; font-weight:700; color:{theme.ACCENT}'>{algo}</span></nobr> "
        f"<nobr>{dot}<span style='font-size:12pt'>{env}</span></nobr> <nobr>{dot}{steps_s}</nobr> "
        f"<nobr>{dot}{date}</nobr>"
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


class WindowBuild:
    """Actions, toolbar, menus, docks and status bar of the main window (see the module docstring)."""

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
        # drive mode (app/drive.py): the keyboard takes the game; F2 because WASD and the arrows are its keys
        self.act_drive = self._action(
            "Drive: play the game from the keyboard",
            "F2",
            lambda on: self.drive.set_active(on),
            checkable=True,
        )
        self.act_drive.setIconText("◆ Drive")  # the toolbar button's text
        self.act_drive_repeat = self._action(
            "Drive: held keys repeat at real time", None, self._drive_repeat_toggled, checkable=True
        )
        self.act_drive_repeat.setChecked(True)
        self.act_save_trajectory = self._action("Save &trajectory…", None, lambda: self.drive.save_dialog())
        self.view_group, self.view_actions = exclusive_actions(
            self, {mode: f"Show {VIEW_LABELS[mode]}" for mode in VIEW_MODES}, self.set_view_mode, "frame"
        )

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
        self.drive_button = QToolButton()
        self.drive_button.setDefaultAction(self.act_drive)  # checked while driving, in step with the menu
        self.drive_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.drive_button.setToolTip("drive the game from the keyboard: arrows/WASD, Space fires (F2)")
        tb.addWidget(self.drive_button)
        self.toolbar = tb

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = self.file_menu = mb.addMenu("&File")
        f.addAction(self.act_open)
        self.recent_menu = f.addMenu("Open &recent")
        f.addSeparator()
        f.addAction(self.act_record)
        f.addAction(self.act_screenshot)
        f.addAction(self.act_save_trajectory)
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
            self.act_drive,
            self.act_drive_repeat,
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

    def _drive_repeat_toggled(self, on: bool) -> None:
        self.drive.repeat = bool(on)

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

    # -- screenshots and help ---------------------------------------------------------------------------
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
            "<tr><td><b>driving (F2)</b></td><td>arrows or WASD move, Space fires, keys together combine; "
            "held keys repeat at 15 steps/s; Backspace steps back; Esc or F2 hands back</td></tr>"
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
