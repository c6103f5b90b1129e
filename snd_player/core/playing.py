"""Stepping a session headless, a few records ahead, with the intrinsic pass batched (``record``, ``eval``
and trajectory replays). Qt-free: the video side is :mod:`snd_player.media.record`."""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from snd_player.core.session import Session
    from snd_player.core.step_record import StepRecord


# ---- batched intrinsic pass ------------------------------------------------------------------------------
INTRINSIC_BATCH = 16
"""States per batched intrinsic pass of the headless tools."""


class LateIntrinsic:
    """An agent as a Session sees it, with the intrinsic pass left for later (headless tools only).

    ``Session.step`` calls ``agent.intrinsic`` on one state per step. On a CPU at batch size 1 that costs
    about twice the policy (target, predictor, and the target again for the features), while one call on 16
    states costs a quarter of that per state. So ``record`` and ``eval`` wrap the session's agent in this
    class, step the Session as usual (frames, actions, values, rooms: all the Session's own), and fill in
    r_int, the error and the features of each record from one batched ``agent.intrinsic`` call on the
    records' observations (:func:`fill_intrinsic`): the same function of the same inputs, equal to the
    per-step values to float32 rounding (tested). The session's own timeline keeps zeros for them.
    """

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        m = agent.motivation
        self._dim = int(m.feature_dim) if m is not None else 0

    def __getattr__(self, name: str) -> Any:  # everything but intrinsic() is the agent's
        return getattr(self.agent, name)

    def intrinsic(self, obs: np.ndarray) -> Any:
        from trainer.agent import IntrinsicOutput

        n = obs.shape[0]
        zeros = np.zeros(n, np.float32)
        return IntrinsicOutput(zeros, zeros.copy(), np.zeros((n, self._dim), np.float32))


def fill_intrinsic(agent: Any, records: list[StepRecord]) -> list[StepRecord]:
    """The records with r_int, int_error and features computed in one batched pass of ``agent``."""
    if not records or getattr(agent, "motivation", None) is None:
        return records
    out = agent.intrinsic(np.stack([r.obs for r in records]))  # (B, C, H, W) -> (B,), (B,), (B, F)
    return [
        dataclasses.replace(
            r, r_int=float(out.reward[i]), int_error=float(out.error[i]), features=out.features[i]
        )
        for i, r in enumerate(records)
    ]


# ---- playing ----------------------------------------------------------------------------------------------
def play(
    session: Session, frames: int | None, episodes: int | None, prefetch: int = 8
) -> Iterator[StepRecord]:
    """Records of the next ``frames`` steps, or of the next ``episodes`` whole episodes.

    The session is stepped in a background thread, ``prefetch`` records ahead, so the networks (which
    release the GIL) run while the caller draws and encodes the previous frame. When the session's agent
    is a :class:`LateIntrinsic`, records come in batches of ``INTRINSIC_BATCH`` with the intrinsic values
    filled in.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=prefetch)
    stop = threading.Event()
    done = object()

    def offer(item: Any) -> None:
        while not stop.is_set():  # never block for good: the consumer may be gone
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    late = isinstance(session.agent, LateIntrinsic)
    pending: list[StepRecord] = []

    def flush() -> None:
        for r in fill_intrinsic(session.agent.agent, pending) if late else pending:
            offer(r)
        pending.clear()

    def produce() -> None:
        try:
            n = ep = 0
            while not stop.is_set():
                if frames is not None and n >= frames:
                    break
                if episodes is not None and ep >= episodes:
                    break
                rec = session.step()
                n += 1
                ep += int(rec.done)
                pending.append(rec)
                if len(pending) >= (INTRINSIC_BATCH if late else 1):
                    flush()
            flush()
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which raises it
            offer(e)
            return
        offer(done)

    worker = threading.Thread(target=produce, name="snd-record-session", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:  # unblock a producer waiting on a full queue
                q.get_nowait()
            except queue.Empty:
                pass
            worker.join(timeout=0.05)
