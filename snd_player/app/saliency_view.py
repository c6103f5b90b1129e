"""The window's side of the live saliency overlay (issue 25, item 2): View ▸ Saliency overlay (off / policy /
V_int / r_int / V_ext, key O cycles; method perturbation or grad×input; opacity), the maps received from the
session, and a status-bar line saying how often the overlay is updated.

The maps are computed by the session (:mod:`snd_player.core.saliency_live`, in the worker's process or thread),
never here: this side only keeps the maps by (episode, step) and hands the game view the one for the step
it draws. Paused, that is the step's own map (the plain frame until it comes); while playing, the newest
map of the episode, which trails the frame by the time a map takes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from PyQt6.QtCore import QTimer

from snd_player.app.widgets.actions import exclusive_actions
from snd_player.app.widgets.text_line import TextLine

OVERLAY_TARGETS = (None, "policy", "v_int", "r_int", "v_ext")
"""The key O cycles through these, in this order (None: off)."""
TARGET_LABELS = {None: "off", "policy": "policy", "v_int": "V_int", "r_int": "r_int", "v_ext": "V_ext"}
METHOD_LABELS = {"gradxinput": "grad×input", "perturbation": "perturbation"}
OPACITIES = (0.3, 0.5, 0.7, 0.9, 1.0)
KEPT_MAPS = 512
"""Maps kept for stepping back and forth (an 84x84 float32 map is 28 KB: 14 MB at most)."""


class SaliencyView:
    """The overlay's menu, state and maps for one :class:`~snd_player.app.main_window.MainWindow`."""

    def __init__(self, win: Any) -> None:
        self.win = win
        self.target: str | None = None
        self.method = "gradxinput"
        self.opacity = 0.7
        self.maps: OrderedDict[tuple[int, int], Any] = OrderedDict()
        self.newest: tuple[int, int, Any] | None = None  # (episode, t, map) of the newest map received
        self.received = 0
        self._count, self._t0 = 0, time.perf_counter()
        self.maps_per_s = 0.0
        self.ms = 0.0
        self._build_menu()
        self.status = TextLine("")
        win.statusBar().addPermanentWidget(self.status)
        self._timer = QTimer(win)
        self._timer.timeout.connect(self._update_status)
        self._timer.start(1000)

    def _build_menu(self) -> None:
        w = self.win
        m = self.menu = w.view_menu.addMenu("&Saliency overlay")
        self.target_group, self.target_actions = exclusive_actions(
            w, {t: TARGET_LABELS[t] for t in OVERLAY_TARGETS}, self.set_target, None, m
        )
        self.act_cycle = w._action(
            "Cycle saliency overlay: off / policy / V_int / r_int / V_ext", "O", self.cycle
        )
        m.addAction(self.act_cycle)
        m.addSeparator()
        self.method_group, self.method_actions = exclusive_actions(
            w,
            {meth: f"method: {label}" for meth, label in METHOD_LABELS.items()},
            self.set_method,
            self.method,
            m,
        )
        m.addSeparator()
        self.opacity_group, self.opacity_actions = exclusive_actions(
            w, {o: f"opacity {o:.0%}" for o in OPACITIES}, self.set_opacity, self.opacity, m
        )

    # -- controls -------------------------------------------------------------------------------------------
    def cycle(self) -> None:
        self.set_target(OVERLAY_TARGETS[(OVERLAY_TARGETS.index(self.target) + 1) % len(OVERLAY_TARGETS)])

    def set_target(self, target: str | None) -> None:
        """Show ``target``'s map over the game frame (None: the plain frame); the session computes them."""
        if target not in OVERLAY_TARGETS:
            raise ValueError(f"saliency overlay must be one of {OVERLAY_TARGETS}, got {target!r}")
        s = self.win.session
        if target == "r_int" and s is not None and not s.has_motivation:
            self.win.statusBar().showMessage(
                f"a {s.algo} agent has no intrinsic reward, so no r_int saliency", 5000
            )
            target = self.target if self.target != "r_int" else None
        self.target = target
        self.target_actions[target].setChecked(True)
        self._restart()

    def set_method(self, method: str) -> None:
        if method not in METHOD_LABELS:
            raise ValueError(f"saliency method must be one of {tuple(METHOD_LABELS)}, got {method!r}")
        self.method = method
        self.method_actions[method].setChecked(True)
        self._restart()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(opacity)
        if opacity in self.opacity_actions:
            self.opacity_actions[opacity].setChecked(True)
        self._redraw()

    def attach(self, worker: Any) -> None:
        """A new session's worker: take its maps, and turn its overlay on when one is chosen."""
        worker.saliency_ready.connect(self._on_map)
        worker.batch_ready.connect(self._on_batch)
        self._restart()

    # -- maps -----------------------------------------------------------------------------------------------
    def _restart(self) -> None:
        self.maps.clear()
        self.newest = None
        self._count, self._t0, self.maps_per_s, self.ms = 0, time.perf_counter(), 0.0, 0.0
        if self.win.worker is not None:
            self.win.command.emit("saliency", None if self.target is None else (self.target, self.method))
        self._update_status()
        self._redraw()

    def _on_batch(self, batch: Any) -> None:
        """A freshly played step (t) of an episode makes its maps of steps >= t stale: the episode took
        another way from t on (a seek back, then other actions; a seek itself restores the same steps).
        A map always arrives after its step, so no map of this batch is dropped."""
        if not self.maps or batch.seek:
            return
        first = batch.records[0]
        stale = [k for k in self.maps if k[0] == first.episode and k[1] >= first.t]
        for k in stale:
            del self.maps[k]
        if self.newest is not None and self.newest[0] == first.episode and self.newest[1] >= first.t:
            self.newest = None

    def _on_map(self, msg: dict) -> None:
        smap = msg["map"]
        if self.target is None or (smap.target, smap.method) != (self.target, self.method):
            return  # sent before the switch
        key = (int(msg["episode"]), int(msg["t"]))
        self.maps[key] = smap
        self.maps.move_to_end(key)
        while len(self.maps) > KEPT_MAPS:
            self.maps.popitem(last=False)
        self.newest = (key[0], key[1], smap)
        self.received += 1
        self._count += 1
        self.ms = float(msg.get("ms", 0.0))
        rec = self.win.last
        if rec is not None and (rec.episode, rec.t) == key or self.win.playing:
            self._redraw()

    def map_for(self, rec: Any) -> Any:
        """The map to draw over ``rec``: its own, or while playing the newest of its episode; None when off."""
        if self.target is None or rec is None:
            return None
        own = self.maps.get((rec.episode, rec.t))
        if own is not None or not self.win.playing:
            return own
        if self.newest is not None and self.newest[0] == rec.episode:
            return self.newest[2]
        return None

    def before_draw(self, rec: Any) -> None:
        """Called by the window's draw before the game view shows ``rec``."""
        game = self.win.game
        game.saliency = self.map_for(rec)
        game.saliency_opacity = self.opacity

    def _redraw(self) -> None:
        rec = self.win.last
        if rec is None:
            return
        self.before_draw(rec)
        self.win.game.show_record(rec)

    def _update_status(self) -> None:
        now = time.perf_counter()
        if now - self._t0 >= 1.0:
            self.maps_per_s = self._count / (now - self._t0)
            self._count, self._t0 = 0, now
        if self.target is None:
            self.status.setText("")
            return
        rate = (
            f"{self.maps_per_s:.1f} maps/s · {self.ms:.0f} ms/map"
            if self.newest is not None
            else "computing…"
        )
        self.status.setText(f"saliency {TARGET_LABELS[self.target]} · {METHOD_LABELS[self.method]} · {rate}")


__all__ = ["OVERLAY_TARGETS", "SaliencyView"]
