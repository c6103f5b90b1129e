"""The window's side of a training run: open a run folder, choose among its checkpoints, see its curves,
follow it while it trains, and start a comparison.

:class:`RunSupport` attaches to a :class:`~snd_player.app.main_window.MainWindow` (menu actions, one dock) and
reacts to ``session_changed``: when the open checkpoint lies in ``<run>/checkpoints/``, the "Training run"
dock shows that run's curves (:class:`~snd_player.app.widgets.training.TrainingPanel`) with the checkpoint's
step marked, and a chooser lists the run's checkpoints with step, score and rooms. A one-second timer reads
only the bytes the trainer has appended to ``metrics.jsonl`` (:class:`trainer.runs.MetricsTail`) and the
checkpoint folder's listing.

Follow mode: when a checkpoint newer than the open one appears, it becomes *pending*; the window switches
to it when the episode being played ends (a record with ``done``), so an episode is never cut in the
middle, and the status bar says so.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QObject, Qt, QTimer
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from snd_player.app.widgets import theme
from snd_player.app.widgets.export import ExportMenu
from snd_player.app.widgets.training import TrainingPanel
from trainer.checkpoint import step_of
from trainer.runs import MetricsTail, Run, RunError, checkpoint_info, resolve_target, run_of_checkpoint

if TYPE_CHECKING:
    from snd_player.app.worker import StepBatch

POLL_MS = 1000


def why_best(info) -> str:
    """Why a run's ``best`` checkpoint is best, for the chooser (issue 27 item 7; the rule is
    trainer.loop.is_new_best)."""
    if info.score is None:
        return ("best: no episode had ended when it was written, so no score picked it; with equal scores "
                "the newest checkpoint is best")  # fmt: skip
    return (f"best: the highest mean score of the recent episodes when written ({info.score:g}); with equal "
            "scores the newest checkpoint is best")  # fmt: skip


class RunSupport(QObject):
    """Run folders, the training panel, follow mode and File → Compare… for one main window."""

    def __init__(self, win: QMainWindow) -> None:
        # win is the player's MainWindow; typed by its Qt base, since main_window imports this module
        super().__init__(win)
        self.win = win
        self.run: Run | None = None
        self.tail: MetricsTail | None = None
        self.follow = False
        self.pending: Path | None = None
        self._listed: tuple[str, ...] = ()
        self._switching = False
        self._gone = False  # the run folder was not there at the last poll
        self._dead = False  # the session's worker failed because its checkpoint file is gone
        self._bad_rows = 0  # bad metric rows already reported
        self._said = ""  # the last status line of _say_once
        self.waiting = False  # a run with no checkpoint yet is open: its first one is opened when it appears
        self.compare_windows: list[QWidget] = []

        self.panel = TrainingPanel()
        self.export = ExportMenu(self.panel, "training", self.panel.columns)  # right-click on any of its plots
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.setSpacing(2)
        # the chooser has a row of its own and the follow box sits beside the info line: at 1280x720 the
        # dock is ~330 px wide, and "best (step 4,096) · score 0 · rooms 1" was cut (issue 27 item 6)
        row = QHBoxLayout()
        self.chooser = QComboBox()
        self.chooser.setToolTip(
            "the run's checkpoints (step, mean score and rooms when written); pick one to play"
        )
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.chooser.setMinimumContentsLength(16)
        self.chooser.view().setTextElideMode(Qt.TextElideMode.ElideNone)  # the open list shows whole labels
        self.chooser.activated.connect(self._chosen)
        row.addWidget(self.chooser, 1)
        lay.addLayout(row)
        row = QHBoxLayout()
        self.follow_box = QCheckBox("follow")
        self.follow_box.setToolTip("switch to each newer checkpoint at the next episode boundary (F)")
        self.follow_box.toggled.connect(self.set_follow)
        row.addWidget(self.follow_box, 0, Qt.AlignmentFlag.AlignTop)
        self.info = QLabel("")
        self.info.setStyleSheet(f"color: {theme.MUTED};")
        self.info.setWordWrap(True)  # wraps rather than cuts "· following, next: 4,096"
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row.addWidget(self.info, 1)
        lay.addLayout(row)
        lay.addWidget(self.panel, 1)
        self.dock = win._dock("Training run", "dock_training", box)
        # a tab beside the feature projection: the curves need height and width, and while a run trains
        # they say more than the point cloud
        win.tabifyDockWidget(win.dock_projection, self.dock)
        self.dock.hide()
        win.view_menu.addAction(self.dock.toggleViewAction())

        self.act_open_run = QAction("Open &run folder…", win)
        self.act_open_run.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.act_open_run.triggered.connect(self.open_run_dialog)
        self.act_compare = QAction("&Compare two agents…", win)
        self.act_compare.setShortcut(QKeySequence("Ctrl+K"))
        self.act_compare.triggered.connect(self.compare_dialog)
        self.act_follow = QAction("Follow the run's newest checkpoint", win, checkable=True)
        self.act_follow.setShortcut(QKeySequence("F"))
        self.act_follow.toggled.connect(self.set_follow)
        for a in (self.act_open_run, self.act_compare, self.act_follow):
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            win.addAction(a)
        after = win.file_menu.actions()[win.file_menu.actions().index(win.act_open) + 1]
        for a in (self.act_open_run, self.act_compare, self.act_follow):
            win.file_menu.insertAction(after, a)

        win.session_changed.connect(self._on_session)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.poll)

    # -- opening ------------------------------------------------------------------------------------------
    def open_run_dialog(self) -> None:
        start = str(self.run.path.parent) if self.run else str(Path.cwd())
        path = QFileDialog.getExistingDirectory(self.win, "Open a training run folder", start)
        if path:
            self.open_run(path)

    def open_run(self, path: str | Path, which: str | None = None) -> bool:
        """Open a run folder's checkpoint (``best`` by default); one-line message box when it cannot."""
        p = Path(path)
        if p.is_dir() and which in (None, "best", "latest"):
            run_dir = p.parent if p.name == "checkpoints" and Run.is_run(p.parent) else p
            if Run.is_run(run_dir) and Run(run_dir).is_starting():
                self.wait_for_run(run_dir)
                return True
        try:
            ckpt, run = resolve_target(path, which)
        except RunError as e:
            QMessageBox.critical(self.win, "Cannot open run", str(e))
            return False
        ok = self.win.open_checkpoint(ckpt)
        if ok and run is not None:
            self.win._add_recent(run.path)
        return ok

    def wait_for_run(self, path: str | Path) -> None:
        """A run whose trainer has just started (no checkpoint yet; issue 27 item 4): show its training panel,
        say that the player waits, follow it, and open its first checkpoint when a poll finds one. A session
        already open plays on until then."""
        win = self.win
        run = Run(path)
        self.run, self.tail = run, MetricsTail(run.metrics_path)
        self._bad_rows, self._gone, self._listed = 0, False, ()
        self.panel.clear_rows()
        self.waiting = True
        self.set_follow(True)
        if win.session is None:
            win.header.setText(
                f"waiting for the first checkpoint of <b>{run.path.name}</b> "
                f"<span style='color:{theme.MUTED}'>(the trainer writes one when its first update ends; "
                "this window opens it then)</span>"
            )
            win._show_welcome(False)
            win.status_state.setText("◔ waiting")
            win.status_fps.setText(f"waiting for {run.path.name}'s first checkpoint")
        self.dock.show()
        self.dock.raise_()
        win._add_recent(run.path)
        self._say_once(f"{run.path.name} has no checkpoint yet: waiting for its first one", 0)
        self.timer.start(POLL_MS)
        self.poll()

    def _open_first(self, path: Path) -> None:
        """The waited-for run's first checkpoint is out: open it (a hand-opened checkpoint since then wins)."""
        if not self.waiting:
            return
        if self.win.loading is not None:  # an open by hand is loading: the next poll tries again
            return
        self.waiting = False
        if not self.win.open_checkpoint(path):
            self.waiting = True
            return
        left = self.win.frames_left()  # `--frames N` given while waiting: N frames from the first one on
        if left is not None:
            self.win.play(left)
        self.win.statusBar().showMessage(f"{path.parent.parent.name}: its first checkpoint is out, playing it", 8000)

    # -- the open session ---------------------------------------------------------------------------------
    def _on_session(self) -> None:
        session = self.win.session
        ckpt = session.checkpoint if session is not None else None
        run = run_of_checkpoint(ckpt) if ckpt is not None else None
        self.pending = None
        self._switching = False
        self._dead = False
        self.waiting = False
        if self.win.worker is not None:
            self.win.worker.worker.batch_ready.connect(self._on_batch)
            self.win.worker.worker.failed.connect(self._on_worker_failed)
        if run is None:
            self.run, self.tail = None, None
            self.timer.stop()
            self.dock.hide()
            if self.follow:
                self.win.statusBar().showMessage("follow needs a checkpoint inside a run folder", 5000)
            return
        if self.run is None or self.run.path.resolve() != run.path.resolve():
            self.run, self.tail = run, MetricsTail(run.metrics_path)
            self._bad_rows, self._gone = 0, False
            self.panel.clear_rows()
            self._listed = ()
            self.dock.show()
            self.dock.raise_()
        self.timer.start(POLL_MS)
        self.poll()
        self._select_current()
        step = self.current_step()
        self.panel.mark_step(step)

    def current_step(self) -> int | None:
        s = self.win.session
        step = s.meta.get("global_step") if s is not None else None
        return int(step) if isinstance(step, int) else None

    def poll(self) -> None:
        """New metric rows, the checkpoint listing, and (following) a newer checkpoint to switch to.

        A run folder changes under the player's feet (a trainer's --restart or --resume sets files aside, a
        user renames the folder): whatever the folder holds at a poll is read as it is, and a file that is
        gone a moment later is one status line, never an exception out of the timer."""
        if self.run is None or self.tail is None:
            return
        try:
            self._poll()
        except (OSError, ValueError) as e:  # ValueError: CheckpointError, RunError of a file that just moved
            self._say_once(f"following {self.run.path.name}: {(str(e).splitlines() or [type(e).__name__])[0]}")

    def _say_once(self, msg: str, ms: int = 8000) -> None:
        """A status line, shown once until something else is said (a poll runs every second)."""
        if msg != self._said:
            self._said = msg
            self.win.statusBar().showMessage(msg, ms)

    def _poll(self) -> None:
        assert self.run is not None and self.tail is not None
        name = self.run.path.name
        if not self.run.path.is_dir():
            self._gone = True
            self._say_once(f"{self.run.path} is gone (renamed or moved?): playing on, waiting for it to come back")
            return
        if self._gone:
            self._gone = False
            self._say_once(f"{name} is back: following it again", 5000)
        rows, restarted = self.tail.poll()
        if restarted:
            self.panel.clear_rows()
        if rows or restarted:
            self.panel.add_rows(rows)
        if len(self.tail.bad_rows) > self._bad_rows:  # one line for each new batch of bad rows, never a traceback
            line, why = self.tail.bad_rows[self._bad_rows]
            n = len(self.tail.bad_rows) - self._bad_rows
            self._bad_rows = len(self.tail.bad_rows)
            msg = f"{self.run.metrics_path}: skipped {n} row(s) it cannot draw (line {line}: {why})"
            print(f"snd-player: warning: {msg}", file=sys.stderr)
            self._say_once(msg)
        steps = self.run.step_checkpoints()
        best = self.run.best_path()
        listed = tuple(p.name for p in steps) + ((best.name, str(best.stat().st_mtime_ns)) if best else ())
        if listed != self._listed:
            self._listed = listed
            self._fill_chooser()
        if self.waiting:
            if steps or best is not None:
                QTimer.singleShot(0, lambda p=steps[-1] if steps else best: self._open_first(p))
        elif self.follow and not self._switching:
            self._follow(steps)
        self._update_info()

    def _follow(self, steps: list[Path]) -> None:
        """Make the checkpoint to switch to pending: a newer step, or, when the open checkpoint was moved away
        (the run was restarted, or resumed from an older step), the run's newest one, whatever its step."""
        session = self.win.session
        opened = session.checkpoint if session is not None else None
        moved = opened is not None and not opened.exists()
        name = self.run.path.name if self.run is not None else ""
        if not steps:
            if moved:
                self._say_once(f"following: {opened.name} was moved away ({name} restarted?); waiting for its "
                               "next checkpoint")  # fmt: skip
            return
        newest, cur = steps[-1], self.current_step()
        newer = cur is not None and step_of(newest) > cur
        if not (newer or moved) or newest == self.pending or (opened is not None and newest == opened):
            return
        self.pending = newest
        if self._dead:  # no episode end will come from a worker that failed: switch now
            self._switching = True
            QTimer.singleShot(0, self._switch)
        if moved and not newer:
            self._say_once(f"following: {opened.name} was moved away ({name} restarted?); switching to step "
                           f"{step_of(newest):,} at the end of this episode")  # fmt: skip
            return
        bar = self.win.statusBar()
        if not bar.currentMessage():  # never over "switched to …": a fast trainer writes every second
            bar.showMessage(
                f"following: step {step_of(newest):,} is out; switching at the end of this episode", 8000
            )

    def _fill_chooser(self) -> None:
        assert self.run is not None
        infos = self.run.checkpoints()[::-1]  # best first, then newest to oldest
        best = self.run.best_path()
        if best is not None:
            try:
                infos.insert(0, checkpoint_info(best))
            except (ValueError, OSError):
                pass
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for i, info in enumerate(infos):
            self.chooser.addItem(info.label, str(info.path))
            tip = f"{info.label}\n{why_best(info)}" if info.is_best else info.label  # the whole label when cut
            self.chooser.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.chooser.blockSignals(False)
        self._select_current()

    def _select_current(self) -> None:
        """Show the open checkpoint in the chooser (whichever way it was opened)."""
        cur = self.win.session.checkpoint if self.win.session is not None else None
        for i in range(self.chooser.count()):
            if cur is not None and Path(self.chooser.itemData(i)).resolve() == Path(cur).resolve():
                self.chooser.blockSignals(True)
                self.chooser.setCurrentIndex(i)
                self.chooser.blockSignals(False)
                return

    def _update_info(self) -> None:
        assert self.run is not None and self.tail is not None
        n = self.panel.rows
        last = f"{int(self.panel.steps[-1]):,} steps" if n else "no rows yet"
        step = self.current_step()
        playing = f" · marked: {step:,}" if step is not None else ""
        follow = ""
        if self.follow:
            follow = " · following" + (
                f", next: {step_of(self.pending):,}" if self.pending is not None else ""
            )
        text = f"{self.run.path.name}: {n} updates, {last}{playing}{follow}"
        self.info.setText(text)
        self.info.setToolTip(text)

    def _chosen(self, index: int) -> None:
        path = self.chooser.itemData(index)
        if not path:
            return
        if self.follow:
            self.set_follow(False)
            self.win.statusBar().showMessage("follow is off: a checkpoint was picked by hand", 5000)
        self.win.open_checkpoint(path)

    # -- follow -------------------------------------------------------------------------------------------
    def set_follow(self, on: bool) -> None:
        on = bool(on)
        for w in (self.follow_box, self.act_follow):
            if w.isChecked() != on:
                w.blockSignals(True)
                w.setChecked(on)
                w.blockSignals(False)
        if on == self.follow:
            return
        self.follow = on
        self.pending = None
        if on and self.run is not None:
            self.win.statusBar().showMessage(
                f"following {self.run.path.name}: newer checkpoints are played from the next episode on", 5000
            )
            self.poll()
        elif on and self.win.session is not None:
            self.win.statusBar().showMessage("follow needs a checkpoint inside a run folder", 5000)
        if self.run is not None:
            self._update_info()

    def _on_batch(self, batch: StepBatch) -> None:
        if self.pending is not None and not self._switching and any(r.done for r in batch.records):
            self._switching = True
            QTimer.singleShot(0, self._switch)  # not from inside the worker's signal: set_session replaces it

    def _switch(self) -> None:
        from trainer.checkpoint import CheckpointError
        from trainer.envs import EnvError

        path, self.pending = self.pending, None
        if path is None or not self.follow:
            self._switching = False
            return
        win = self.win
        if win.loading is not None:  # an open by hand is loading: it wins, the next poll finds this again
            self._switching = False
            return
        playing = win.playing or self._dead
        # the episode is over: its last frame stays on screen while the next checkpoint loads beside the GUI
        # thread (the old session must not play into a new episode meanwhile)
        win.command.emit("pause", None)
        try:
            session = win.load_session(path)
        except (CheckpointError, EnvError, OSError) as e:
            self._switching = False
            if playing:
                win.command.emit("play" if win.frames_left() is None else "run", win.frames_left())
            win.statusBar().showMessage(f"following: cannot open {path.name}: {str(e).splitlines()[0]}", 8000)
            return
        win.stop_worker()  # its last batches are counted before the rest of a play(n) is worked out
        left = win.frames_left()  # --frames N --follow: N frames in all, over every switch
        if win._closing or not self.follow:  # closed, or follow turned off, while it loaded
            session.close()
            self._switching = False
            return
        win.set_session(session, autoplay=playing and left is None)
        if left:
            win.play(left)
        elif not playing and left is None:
            win.step()  # paused: the new checkpoint's first frame in every panel
        try:
            label = checkpoint_info(path).label
        except (ValueError, OSError):  # moved or pruned since it was loaded
            label = f"step {step_of(path):,}"
        self._said = ""
        win.statusBar().showMessage(f"following: episode over, switched to {label}", 10000)

    def _on_worker_failed(self, msg: str) -> None:
        """The session's worker could not rebuild the session (its process loads the checkpoint again, and a
        pruned or set-aside file is gone by then): following, reopen the run's newest checkpoint."""
        session = self.win.session
        if not self.follow or session is None or session.checkpoint is None or session.checkpoint.exists():
            return
        self._dead = True
        self.pending = None  # made pending again, and switched to at once, by the next poll
        QTimer.singleShot(0, self.poll)

    # -- compare ------------------------------------------------------------------------------------------
    def compare_dialog(self) -> None:
        dlg = CompareDialog(self.win, str(self.win.checkpoint or ""), self.win.seed_box.value())
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        self.open_compare(dlg.a.text(), dlg.b.text(), dlg.seed.value())

    def open_compare(self, a: str, b: str, seed: int) -> QWidget | None:
        """A compare window for A and B on ``seed``; one-line message box when they cannot be compared."""
        from snd_player.app.compare_window import CompareWindow
        from snd_player.core.compare import CompareError, Comparison
        from trainer.checkpoint import CheckpointError
        from trainer.envs import EnvError

        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            cmp = Comparison.open(a, b, seed=seed, greedy=self.win.greedy_box.isChecked())
        except (CompareError, RunError, CheckpointError, EnvError, OSError) as e:
            QApplication.restoreOverrideCursor()
            QMessageBox.critical(self.win, "Cannot compare", str(e).splitlines()[0])
            return None
        QApplication.restoreOverrideCursor()
        w = CompareWindow(cmp)
        w.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.compare_windows.append(w)
        w.destroyed.connect(lambda *_: self.compare_windows.remove(w) if w in self.compare_windows else None)
        w.show()
        w.play()
        return w


class CompareDialog(QDialog):
    """Two paths (checkpoint files or run folders) and a seed."""

    def __init__(self, parent: QWidget, a: str, seed: int) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare two agents")
        form = QFormLayout(self)
        self.a, self.b = QLineEdit(a), QLineEdit("")
        for name, edit in (("A", self.a), ("B", self.b)):
            row = QHBoxLayout()
            edit.setMinimumWidth(380)
            edit.setPlaceholderText("checkpoint .safetensors or run folder")
            row.addWidget(edit, 1)
            for text, folder in (("File…", False), ("Folder…", True)):
                btn = QPushButton(text)
                btn.clicked.connect(lambda _=False, e=edit, f=folder: self._browse(e, f))
                row.addWidget(btn)
            form.addRow(name, row)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(seed)
        form.addRow("seed", self.seed)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self, edit: QLineEdit, folder: bool) -> None:
        start = edit.text() or str(Path.cwd())
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Run folder", start)
        else:
            path, _ = QFileDialog.getOpenFileName(
                self, "Checkpoint", start, "snd checkpoints (*.safetensors)"
            )
        if path:
            edit.setText(path)
