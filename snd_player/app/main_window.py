"""The main window: game view and timeline in the middle, one dock per panel, controls in a toolbar.

The window never steps the env or runs a network: a :class:`~snd_player.app.worker.SessionWorker` does, in a
child process (the app) or a thread (tests), and hands over :class:`~snd_player.app.worker.StepBatch` objects.
Batches are only stored here. Paused and at paced speeds a frame is drawn when a batch arrives, at most one
per ``MIN_FRAME_S``; at max speed the steps go through a short play-out queue and a steady frame clock
shows one per frame (see ``_on_batch``). Panels use long-lived items (STYLE.md item 8), and all of them are
painted in one repaint of the window.

The class is in three parts, by responsibility: this module opens checkpoints and sessions (the worker's
life, recent files, drops, closing); :class:`~snd_player.app.window_build.WindowBuild` builds the actions,
toolbar, menus, docks and status bar; :class:`~snd_player.app.playback.Playback` holds the controls, the
batches and the drawing.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from PyQt6.QtCore import QCoreApplication, QEvent, QSettings, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent
from PyQt6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from snd_player.app.drive import Drive
from snd_player.app.loading import run_beside
from snd_player.app.playback import MIN_FRAME_S as MIN_FRAME_S  # re-exported: the frame tests read it here
from snd_player.app.playback import PLAYOUT_FRAME_S as PLAYOUT_FRAME_S
from snd_player.app.playback import Playback
from snd_player.app.run_support import RunSupport
from snd_player.app.saliency_view import SaliencyView
from snd_player.app.widgets import theme
from snd_player.app.widgets.export import ExportMenu
from snd_player.app.widgets.game_view import GameView
from snd_player.app.widgets.plots import IntrinsicPlot, RescaleBudget, ValuePlot
from snd_player.app.widgets.policy import PolicyBars
from snd_player.app.widgets.projection import ProjectionView
from snd_player.app.widgets.repaint import FrameSync, scenes_under
from snd_player.app.widgets.rooms import RoomsPanel
from snd_player.app.widgets.text_line import TextLine
from snd_player.app.widgets.timeline_slider import TimelineSlider
from snd_player.app.window_build import PANEL_TIPS, WelcomePage, WindowBuild, header_html
from snd_player.app.worker import SPEEDS, WorkerThread
from snd_player.core.projection import Basis, FeatureProjector
from snd_player.core.session import Session
from snd_player.core.timeline import EpisodeTimeline, RoomStats, is_montezuma

DEMO_CHECKPOINT = Path(__file__).resolve().parent.parent / "assets" / "demo.safetensors"
MAX_RECENT = 8


class MainWindow(WindowBuild, Playback, QMainWindow):
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
        snd_player.app.worker."""
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
        self.device = "cpu"  # torch device for the networks of the sessions this window loads
        self.loading: Path | None = None  # the checkpoint being loaded beside the GUI thread
        self._closing = False
        self._scenes: list = []
        self.frame_sync = FrameSync(self)
        self.rescale = RescaleBudget()  # plot axes that may move in the frame being drawn (draw_now)
        self.drive = Drive(self)  # drive mode: the keyboard takes the game (app/drive.py)

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
        self.saliency_view = SaliencyView(self)  # View ▸ Saliency overlay, its maps and status line

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

        if self.loading is not None:  # a second open while one loads: the first one wins
            self.statusBar().showMessage(f"still loading {self.loading.name}: wait for it to open", 5000)
            return False
        try:
            session = self.load_session(path)
        except (CheckpointError, EnvError, OSError) as e:
            QMessageBox.critical(self, "Cannot open checkpoint", str(e))
            return False
        except Exception as e:  # noqa: BLE001 - whatever else breaks, the window keeps what it had open
            first = str(e).splitlines()[0] if str(e) else ""
            QMessageBox.critical(self, "Cannot open checkpoint", f"{path}: {type(e).__name__}: {first}")
            return False
        if self._closing:  # the window was closed while the checkpoint loaded
            session.close()
            return False
        # the first checkpoint plays at once; another one opened while paused stays paused, on its first frame
        autoplay = self.session is None or self.playing
        self.set_session(session, autoplay=autoplay)
        if not autoplay:
            self.step()
        self._add_recent(Path(path))
        return True

    def load_session(self, path: str | Path, loader=None) -> Session:
        """Build a session from ``path`` beside the GUI thread (snd_player.app.loading) while the window
        says what it is loading and keeps answering; raise what the load raised. ``loader(path)`` replaces
        ``Session.from_checkpoint`` with this window's seed and greedy setting (the command line's
        trajectory replay)."""
        path = Path(path)
        seed, greedy = self.seed_box.value(), self.greedy_box.isChecked()
        if loader is None:
            def loader(p: Path) -> Session:
                return Session.from_checkpoint(p, seed=seed, greedy=greedy, device=self.device)

        self._set_loading(path)
        QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)  # busy, not blocked: clicks still work
        try:
            return run_beside(lambda: loader(path))
        finally:
            QApplication.restoreOverrideCursor()
            self._set_loading(None)

    def _set_loading(self, path: Path | None) -> None:
        """Say in the status bar (and in the header while nothing is open) what is loading."""
        self.loading = path
        if path is None:
            self.statusBar().clearMessage()
            self.status_state.setText("▶ playing" if self.playing else "❚❚ paused")
            self._update_status()
            if self.session is None and self.header.text().startswith("loading"):
                self.header.setText("")
            return
        text = f"loading {path.name} …"
        self.statusBar().showMessage(f"{text} (reading the networks and building the game)")
        self.status_state.setText("◔ loading")
        self.status_fps.setText(text)
        if self.session is None:
            self.header.setText(f"loading <b>{path.name}</b> … <span style='color:{theme.MUTED}'>{path}</span>")
            self._show_welcome(False)

    def set_session(self, session: Session, autoplay: bool = True) -> None:
        """Show a loaded session: rebuild the panels that depend on the game, start a fresh worker."""
        self.drive.set_active(False, hand_back=False)  # the keys go back to the shortcuts
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
        self.saliency_view.attach(w)
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

    def release(self) -> None:
        """Stop the worker and drop the session (its env and snapshots)."""
        self.stop_worker()
        if self.session is not None:
            self.session.close()
        self.session = None
        self.last = self._newest = None
        self._stop_playout()

    def closeEvent(self, ev: QCloseEvent) -> None:  # noqa: N802 - Qt name
        self._closing = True  # a load still running is dropped when it ends (open_checkpoint)
        self.draw_timer.stop()
        self._stop_playout()
        self.rates_timer.stop()
        self.stop_worker()
        super().closeEvent(ev)
