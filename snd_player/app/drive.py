"""Drive mode: the keyboard takes the game from the agent (F2 or Controls → Drive, the toolbar's Drive).

While driving, the arrows and WASD move and Space fires (Procgen: the arrows move, Space or D fires and
Q, W, E, A, S are its other buttons); keys held together make the game's combined actions
(:func:`snd_player.core.drive.drive_action`). Each key press takes one agent step with that action
(``command("act", index)``: the session takes it instead of the agent's, and the step comes back as a
:class:`~snd_player.core.step_record.StepRecord` marked ``chooser="human"``, so every panel shows the
person's states). While a key is held, more steps follow at the real-time rate (15 a second at 1x, scaled by
the speed box), so holding ↑ climbs a ladder. Backspace steps back; F2 or Escape hands the game back to the
agent, which plays on from the state on screen.

The keys are taken with an event filter on the application while driving: the shortcuts on Space, ← and →
(play, step, back) are overridden (ShortcutOverride accepted), then the key presses are consumed, so they
reach the game whichever widget has the focus. Auto-repeated presses are ignored: the timer sets the pace.

File → Save trajectory… asks the session (in its worker) to save the episode so far with who chose each
action (:meth:`snd_player.core.stepper.Stepper._save_trajectory`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt6.QtCore import QEvent, QObject, Qt, QTimer
from PyQt6.QtWidgets import QApplication, QFileDialog, QWidget

from snd_player.core.drive import drive_action
from snd_player.core.stepper import REAL_TIME_STEPS_PER_S

K = Qt.Key
ATARI_KEYS: dict[int, str] = {
    K.Key_Up: "up", K.Key_W: "up", K.Key_Down: "down", K.Key_S: "down",
    K.Key_Left: "left", K.Key_A: "left", K.Key_Right: "right", K.Key_D: "right", K.Key_Space: "fire",
}  # fmt: skip
PROCGEN_KEYS: dict[int, str] = {
    K.Key_Up: "up", K.Key_Down: "down", K.Key_Left: "left", K.Key_Right: "right",
    K.Key_Space: "fire", K.Key_D: "fire", K.Key_A: "button_a", K.Key_W: "button_w", K.Key_S: "button_s",
    K.Key_Q: "button_q", K.Key_E: "button_e",
}  # fmt: skip
MAX_AHEAD = 2
"""Held-key steps sent but not yet back from the worker, at most: a slow worker slows the pace, and
releasing the key stops the game at once instead of after a queue of steps."""
MAX_SPEED_RATE = 4.0
"""The held-key pace at max speed, as a multiple of real time."""


class Drive(QObject):
    """The window's drive mode; ``win`` is the :class:`~snd_player.app.main_window.MainWindow`."""

    def __init__(self, win: Any) -> None:
        super().__init__(win)
        self.win = win
        self.active = False
        self.repeat = True
        """Held keys step at the real-time rate (Controls → Repeat held keys); off: one step per press."""
        self.held: dict[int, str] = {}  # key -> control, in press order
        self.sent = 0
        """Actions sent to the worker in this drive."""
        self._ahead = 0
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._repeat_tick)

    # -- on and off ---------------------------------------------------------------------------------------
    def set_active(self, on: bool, hand_back: bool = True) -> None:
        """Take the game (on) or hand it back to the agent, which plays on from the state on screen
        (``hand_back``; False: stay paused, e.g. when another checkpoint is opened)."""
        win = self.win
        on = bool(on) and win.session is not None and win.worker is not None
        if on == self.active:
            win.act_drive.setChecked(on)
            return
        self.active = on
        win.act_drive.setChecked(on)
        self.held.clear()
        self.timer.stop()
        self._ahead = 0
        app = QApplication.instance()
        if on:
            app.installEventFilter(self)
            win.worker.worker.batch_ready.connect(self._on_batch)
            win.pause()
            win.statusBar().showMessage(
                "driving: arrows/WASD move, Space fires, Backspace steps back; F2 or Esc hands back", 8000
            )
        else:
            app.removeEventFilter(self)
            if win.worker is not None:
                try:
                    win.worker.worker.batch_ready.disconnect(self._on_batch)
                except TypeError:
                    pass
                if hand_back:
                    win.play()
            if hand_back:
                win.statusBar().showMessage("the agent plays on from here", 3000)
        win.status_state.setText("◆ driving" if on else "▶ playing" if win.playing else "❚❚ paused")

    def keys(self) -> dict[int, str]:
        s = self.win.session
        return PROCGEN_KEYS if s is not None and s.is_procgen else ATARI_KEYS

    def action(self) -> int:
        """The action of the controls held now."""
        s = self.win.session
        return drive_action(s.action_meanings, set(self.held.values()), procgen=s.is_procgen)

    # -- keys ---------------------------------------------------------------------------------------------
    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt name
        t = ev.type()
        if t in (QEvent.Type.WindowDeactivate, QEvent.Type.FocusOut) and obj is self.win:
            self.held.clear()  # a release the window will never see
            self.timer.stop()
            return False
        if t not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        if not (obj is self.win or (isinstance(obj, QWidget) and obj.window() is self.win)):
            return False
        if ev.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False  # Ctrl+S, Ctrl+Q ... stay shortcuts
        key = ev.key()
        mine = key in self.keys() or key in (K.Key_Escape, K.Key_Backspace)
        if not mine:
            return False
        if t == QEvent.Type.ShortcutOverride:
            ev.accept()  # the key is a key press for us, not the play/step/back shortcut
            return True
        if ev.isAutoRepeat():
            return True
        if t == QEvent.Type.KeyRelease:
            self.held.pop(key, None)
            if not self.held:
                self.timer.stop()
            return True
        if key == K.Key_Escape:
            QTimer.singleShot(0, lambda: self.set_active(False))
        elif key == K.Key_Backspace:
            self.win.seek(self.win.cursor - 1)
        else:
            self.held[key] = self.keys()[key]
            self.send(self.action())
            if self.repeat:
                self.timer.start(round(1000.0 / self.rate()))
        return True

    def rate(self) -> float:
        """Held-key steps a second: real time times the speed box (max speed: MAX_SPEED_RATE times)."""
        speed = self.win.speed_box.currentData() or MAX_SPEED_RATE
        return REAL_TIME_STEPS_PER_S * float(speed)

    def send(self, action: int) -> None:
        self.sent += 1
        self._ahead += 1
        self.win.command.emit("act", int(action))

    def _repeat_tick(self) -> None:
        if not self.held or not self.active:
            self.timer.stop()
            return
        if self._ahead < MAX_AHEAD:
            self.send(self.action())

    def _on_batch(self, batch: Any) -> None:
        done = sum(r.driven for r in batch.records)
        self._ahead = max(0, self._ahead - done) if not batch.seek else 0

    # -- File → Save trajectory… ------------------------------------------------------------------------
    def save_dialog(self) -> None:
        win = self.win
        if win.session is None or win.worker is None:
            win.statusBar().showMessage("open a checkpoint first, then save its episode", 5000)
            return
        name = win.checkpoint.stem if win.checkpoint else "episode"
        suggested = str(Path.cwd() / f"{name}-seed{win.session.seed}-step{win.cursor + 1}.json")
        path, _ = QFileDialog.getSaveFileName(win, "Save trajectory", suggested, "Trajectories (*.json)")
        if path:
            self.save(Path(path) if Path(path).suffix else Path(path).with_suffix(".json"))

    def save(self, path: str | Path) -> None:
        """Save the episode up to the step on screen (the session's worker writes it and says so in the
        status bar, or why it could not)."""
        self.win.command.emit("save_trajectory", str(path))
