"""The window's live saliency overlay, on the session's side (issue 25, item 2): maps are computed next to the
stepper, never in the window's GUI thread, and leave as small :class:`~snd_player.core.saliency.SaliencyMap`
messages.

A :class:`LiveSaliency` owns one thread of the session's process (or of the worker thread's process, in tests)
and a one-slot mailbox. The stepper posts the newest record it hands over (``submit``); the thread computes
the map of the newest record posted and posts the result through ``on_map``. A record posted while a map is
being computed replaces any record still waiting, so while playing the overlay is as fresh as the method
keeps up with (grad x input: tens of ms; perturbation: about a second on a CPU) and no queue grows; paused,
every step or seek is the newest record, so every frame shown gets its map.

torch releases the GIL inside its kernels, so the stepper keeps playing while a map is computed. The networks
are shared with the session: both only read them (the session under ``no_grad``; grad mode is per thread).

Off (``set(None)``), the stepper posts nothing: the step path pays one ``is None`` test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from snd_player.core.saliency import Saliency, SaliencyError


def agent_of(session: Any) -> Any:
    """The trainer agent behind a session (``record --panels`` wraps it as ``LateIntrinsic(agent)``)."""
    agent = session.agent
    return agent if hasattr(agent, "policy") else getattr(agent, "agent", agent)


class LiveSaliency:
    """Maps of the records posted by :meth:`submit`, computed in a thread of their own (module docstring).

    ``on_map`` receives dicts ``{"episode", "t", "map": SaliencyMap, "ms": compute time}`` from that
    thread; ``on_failed`` one line when a map cannot be made."""

    def __init__(self, agent: Any, on_map: Callable[[dict], None], on_failed: Callable[[str], None]) -> None:
        self.saliency = Saliency(agent)
        self._on_map, self._on_failed = on_map, on_failed
        self.target: str | None = None
        self.method = "gradxinput"
        self._cond = threading.Condition()
        self._pending: Any = None
        self._stop = False
        self.busy = False
        self.computed = 0
        self._thread = threading.Thread(target=self._run, name="snd-saliency", daemon=True)
        self._thread.start()

    @property
    def active(self) -> bool:
        return self.target is not None

    def set(self, target: str | None, method: str = "gradxinput") -> None:
        """Turn the overlay on for ``target`` by ``method``, or off (None); raises SaliencyError (one line)
        for a map the agent cannot give."""
        if target is not None:
            self.saliency.check(target, method)
        with self._cond:
            self.target, self.method = target, method
            if target is None:
                self._pending = None

    def submit(self, rec: Any) -> None:
        """Post the newest record; it replaces a record still waiting (the thread takes the newest)."""
        with self._cond:
            if self.target is None:
                return
            self._pending = (rec, self.target, self.method)
            self._cond.notify()

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stop = True
            self._pending = None
            self._cond.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                (rec, target, method), self._pending = self._pending, None
                self.busy = True
            try:
                t0 = time.perf_counter()
                smap = self.saliency.compute(rec.obs, target, method)
                ms = 1000.0 * (time.perf_counter() - t0)
            except SaliencyError as e:
                self._on_failed(f"saliency: {e}")
                continue
            except Exception as e:  # noqa: BLE001 - a failed map is reported, the session plays on
                self._on_failed(f"saliency: {type(e).__name__}: {e}")
                continue
            finally:
                self.busy = False
            self.computed += 1
            with self._cond:
                current = (self.target, self.method) == (target, method)
            if current:  # a map of an output switched away from meanwhile is dropped
                try:
                    self._on_map({"episode": rec.episode, "t": rec.t, "map": smap, "ms": ms})
                except (BrokenPipeError, EOFError, OSError):
                    return  # the window is gone


__all__ = ["LiveSaliency", "agent_of"]
