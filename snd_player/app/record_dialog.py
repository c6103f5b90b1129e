"""The window's Record dialog: what to record (from the step on screen or from the episode's start, how many
frames, dashboard or bare game frame, where), then a progress bar with Cancel while the worker records.

A saliency overlay (none / policy / V_int / r_int / V_ext, by grad×input or perturbation) draws the map over
each game frame of the video, as ``snd-player record --saliency`` does.

The worker records itself (``command("record", RecordRequest)``, see :class:`snd_player.core.stepper.Stepper`):
it owns the session, so "from the step on screen" is exact (a seek, as the timeline does), and the window
follows the recorded steps as they are played, so what it shows is what the video holds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from snd_player.core.stepper import RecordRequest
from snd_player.media.record import VIDEO_EXTENSIONS, RecordError, check_output

DEFAULT_FRAMES = 900
"""One minute of play at real time (15 agent steps per second)."""


class RecordDialog(QDialog):
    def __init__(self, parent: QWidget | None, session: Any, cursor: int) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record a video")
        self.cursor = cursor
        form = QFormLayout(self)
        self.from_here = QRadioButton(f"the step on screen ({cursor})")
        self.from_start = QRadioButton("the start of this episode")
        self.from_here.setChecked(True)
        if not session.seekable:
            self.from_here.setText("the next step (this game cannot go back)")
            self.from_start.setText("a fresh episode from the seed")
        start = QButtonGroup(self)
        start.addButton(self.from_here)
        start.addButton(self.from_start)
        row = QHBoxLayout()
        row.addWidget(self.from_here)
        row.addWidget(self.from_start)
        form.addRow("start at", row)
        self.frames = QSpinBox()
        self.frames.setRange(1, 1_000_000)
        self.frames.setValue(DEFAULT_FRAMES)
        self.frames.setSuffix(" frames")
        self.frames.setToolTip("one video frame per agent step; 15 frames are one second of real time")
        form.addRow("length", self.frames)
        self.dashboard = QRadioButton("dashboard (game and panels)")
        self.bare = QRadioButton("game frame only")
        self.dashboard.setChecked(True)
        kind = QButtonGroup(self)
        kind.addButton(self.dashboard)
        kind.addButton(self.bare)
        row = QHBoxLayout()
        row.addWidget(self.dashboard)
        row.addWidget(self.bare)
        form.addRow("content", row)
        # the saliency overlay, as ``snd-player record --saliency``: the map drawn over each game frame
        self.saliency = QComboBox()
        self.saliency.addItem("none", None)
        for target, label in (("policy", "policy"), ("v_int", "V_int"), ("r_int", "r_int"), ("v_ext", "V_ext")):
            if target != "r_int" or getattr(session, "has_motivation", True):
                self.saliency.addItem(label, target)
        self.saliency_method = QComboBox()
        self.saliency_method.addItem("grad×input (fast)", "gradxinput")
        self.saliency_method.addItem("perturbation (about 1 s a frame)", "perturbation")
        self.saliency.setToolTip("draw this output's saliency map over the game frame (docs/player-guide.md)")
        row = QHBoxLayout()
        row.addWidget(self.saliency)
        row.addWidget(self.saliency_method)
        form.addRow("saliency", row)
        name = Path(session.checkpoint).stem if session.checkpoint else "snd"
        self.path = QLineEdit(str(Path.cwd() / f"{name}-seed{session.seed}.mp4"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form.addRow("save as", row)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Record")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.error = ""

    def _browse(self) -> None:
        out, _ = QFileDialog.getSaveFileName(self, "Record a video", self.path.text(), "Videos (*.mp4 *.gif)")
        if out:
            self.path.setText(out)

    def request(self) -> RecordRequest:
        """The dialog's choices; raises RecordError (one line) for a path that cannot be written."""
        path = Path(self.path.text().strip())
        if not path.suffix:
            path = path.with_suffix(".mp4")
        check_output(path, VIDEO_EXTENSIONS)
        return RecordRequest(
            path=str(path),
            frames=self.frames.value(),
            from_start=self.from_start.isChecked(),
            panels=self.dashboard.isChecked(),
            cursor=self.cursor,
            saliency=self.saliency.currentData(),
            saliency_method=self.saliency_method.currentData(),
        )

    def _accept(self) -> None:
        try:
            self.request()
        except RecordError as e:
            self.error = str(e)
            self.path.setToolTip(self.error)
            self.path.setStyleSheet("border: 1px solid #ff5555;")
            return
        self.accept()

    # -- the window's side ------------------------------------------------------------------------------------
    @classmethod
    def ask(cls, parent: QWidget, session: Any, cursor: int) -> RecordRequest | None:
        dlg = cls(parent, session, cursor)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return None
        return dlg.request()

    @staticmethod
    def progress(parent: QWidget, req: RecordRequest, cancel: Callable[[], None]) -> QProgressDialog:
        bar = QProgressDialog(f"Recording {Path(req.path).name}…", "Cancel", 0, req.frames, parent)
        bar.setWindowTitle("Recording")
        bar.setWindowModality(Qt.WindowModality.WindowModal)
        bar.setMinimumDuration(0)
        bar.setAutoClose(False)
        bar.setAutoReset(False)
        bar.canceled.connect(cancel)
        bar.setValue(0)
        return bar

    @staticmethod
    def on_event(win: Any, bar: QProgressDialog | None, ev: dict) -> None:
        """A record event from the worker: move the bar, or close it and say how it ended."""
        kind = ev.get("event")
        if kind == "progress" and bar is not None:
            bar.setValue(int(ev["done"]))
        elif kind == "finished":
            if bar is not None:
                bar.canceled.disconnect()
                bar.close()
            if ev.get("error"):
                msg = f"recording failed: {ev['error']}"
            elif ev.get("cancelled"):
                msg = f"recording cancelled after {ev['done']} frames; nothing was written"
            else:
                msg = f"recorded {ev['path']} ({ev['done']} frames)"
            win.statusBar().showMessage(msg, 15000)
