"""Two agents on the same seed, stepped in lock step: the Qt-free core of compare mode.

``Comparison.step()`` steps both :class:`~snd_player.core.session.Session` objects once and returns a
:class:`PairRecord` (one :class:`~snd_player.core.session.StepRecord` per side). The side-by-side window
(``snd_player.app.compare_window``) and ``snd-player record --compare`` (``snd_player.media.compare_video``) both
drive this class and keep their curves in a :class:`PairTimeline`, so what is watched and what is recorded
is one code path.

Lock step. Both sides start each *pair episode* together from the same env seed (``seed`` for the first,
``seed + k`` for the k-th after it, so every pair episode is the same level for both; ``reset(seed)``
starts the count again from a new seed, while the episode index keeps growing so consumers see a new
episode). The side whose episode ends
first holds its last frame (``held``) until the other one ends too; then both start the next pair
episode. Pair step ``t`` is step ``t`` of both episodes, so one timeline scrubs both: ``seek(t)`` seeks each
session to ``t`` (a side that had already ended shows its last step).

``snd-player compare A B [--seed S]`` opens the window; A and B are checkpoint files or run folders (their
best checkpoint). Two checkpoints of different games are refused with one line before anything is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from snd_player.core.timeline import EpisodeTimeline, RoomStats

if TYPE_CHECKING:
    from snd_player.core.session import Session, StepRecord



def min_max(y: np.ndarray) -> np.ndarray:
    """``y`` shifted and scaled to 0..1 (its minimum to 0, its maximum to 1); a flat curve sits at 0.5.

    The "normalised" view of the compare window and of ``record --compare`` (issue 27 item 7): divided by
    their maxima, V_int of 5.1 ± 0.1 and 38 ± 0.5 were two flat lines near 1; min–max keeps each shape."""
    y = np.asarray(y, np.float64)
    if not y.size:
        return y
    lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
    if not hi - lo > 1e-12:
        return np.full_like(y, 0.5)
    return (y - lo) / (hi - lo)

class CompareError(ValueError):
    """Two checkpoints that cannot be compared; the message is one line."""


@dataclass(frozen=True)
class PairRecord:
    """Pair step ``t`` of pair episode ``episode``: what each side shows."""

    t: int
    episode: int
    """Pair episode index, from 0; it only grows (a reset with a new seed starts the next one)."""
    seed: int
    """The env seed both sides' episodes started from."""
    a: StepRecord
    b: StepRecord
    a_held: bool
    """Side A's episode ended before ``t``: ``a`` is its last step, shown again."""
    b_held: bool

    @property
    def done(self) -> bool:
        """Both episodes have ended at (or before) this step: the next step starts a new pair episode."""
        return (self.a_held or self.a.done) and (self.b_held or self.b.done)


def _game(path: Path) -> str:
    from trainer.checkpoint import read_metadata

    meta = read_metadata(path)
    return str(meta.get("env_id", "?"))


def check_same_game(a: str | Path, b: str | Path) -> None:
    """CompareError (one line) unless both checkpoints were trained on the same game; reads metadata only."""
    ga, gb = _game(Path(a)), _game(Path(b))
    if ga != gb:
        raise CompareError(
            f"cannot compare {a} ({ga}) with {b} ({gb}): both agents must have been trained on the same game"
        )


def side_label(session: Session) -> str:
    """``SND-V · step 1,024 · 000000001024.safetensors`` for a side's header and the video."""
    step = session.meta.get("global_step")
    parts = [session.algo.upper()]
    if isinstance(step, int):
        parts.append(f"step {step:,}")
    if session.checkpoint is not None:
        parts.append(session.checkpoint.name)
    return " · ".join(parts)


class Comparison:
    """Two sessions stepped in lock step (see the module docstring)."""

    def __init__(self, a: Session, b: Session, seed: int = 0, trajectory: Any = None) -> None:
        if a.env_id != b.env_id:
            raise CompareError(f"cannot compare {a.env_id} with {b.env_id}: the agents play different games")
        self.sides = (a, b)
        self.trajectory = trajectory
        """A trajectory (``snd_player.core.trajectory``) both sides play in the first pair episode, or None; the
        sessions must come from ``open_replay`` (its env dynamics) and ``seed`` be its seed."""
        self.seed = int(seed)
        self.episode = -1
        self._first = 0  # the pair episode that started from self.seed
        self._new_episode()

    @classmethod
    def open(
        cls,
        a: str | Path,
        b: str | Path,
        seed: int = 0,
        greedy: bool = False,
        device: str = "cpu",
        trajectory: Any = None,
        which: str | None = None,
    ) -> Comparison:
        """Both sessions from checkpoint files or run folders (``which`` of each folder: best by default,
        latest or a step number; a file is itself); raises CompareError, RunError, CheckpointError or
        EnvError, each with one line. With a ``trajectory`` both play its actions on its seed first
        (TrajectoryError when it is not of their game)."""
        from snd_player.core.session import Session
        from trainer.runs import resolve_target

        pa, _ = resolve_target(a, which if Path(a).is_dir() else None)
        pb, _ = resolve_target(b, which if Path(b).is_dir() else None)
        check_same_game(pa, pb)

        def side(path: Path) -> Session:
            if trajectory is None:
                return Session.from_checkpoint(path, seed=seed, greedy=greedy, device=device)
            from snd_player.core.trajectory import open_replay
            from trainer.agent import load_agent

            return open_replay(load_agent(path, device=device), trajectory, path, greedy=greedy)

        if trajectory is not None:
            seed = trajectory.seed
        sa = side(pa)
        try:
            sb = side(pb)
        except BaseException:
            sa.close()
            raise
        return cls(sa, sb, seed=seed, trajectory=trajectory)

    @property
    def a(self) -> Session:
        return self.sides[0]

    @property
    def b(self) -> Session:
        return self.sides[1]

    @property
    def t(self) -> int:
        """The next pair step to be played."""
        return self._t

    @property
    def horizon(self) -> int:
        """Pair steps of this pair episode known so far (the slider's range)."""
        return self._known

    @property
    def seekable(self) -> bool:
        return all(s.seekable for s in self.sides)

    def _new_episode(self, seed: int | None = None) -> None:
        self.episode += 1
        if seed is not None:
            self.seed, self._first = int(seed), self.episode
        self.episode_seed = self.seed + self.episode - self._first
        for s in self.sides:  # the k-th pair episode is the same level for both: seed + k
            s.reset(seed=self.episode_seed)
            if self.trajectory is not None and self.episode == 0:
                s.script(list(self.trajectory.actions), list(self.trajectory.chooser))
        self._t = 0
        self._known = 0
        self._end: list[int | None] = [None, None]  # pair step at which each side's episode ended
        self._last: list[StepRecord | None] = [None, None]
        self._done = False

    def reset(self, seed: int | None = None) -> None:
        """A new pair episode: from ``seed`` (which becomes the base seed) or the next one."""
        self._new_episode(seed)

    def _side(self, i: int, t: int) -> tuple[StepRecord, bool]:
        end = self._end[i]
        if end is not None and t >= end:
            last = self._last[i]
            assert last is not None
            return last, True
        rec = self.sides[i].step()
        self._last[i] = rec
        if rec.done:
            self._end[i] = rec.t + 1
        return rec, False

    def step(self) -> PairRecord:
        """Both sides one step on (a new pair episode first when both have ended)."""
        if self._done:
            self._new_episode()
        t = self._t
        (ra, ha), (rb, hb) = self._side(0, t), self._side(1, t)
        pair = PairRecord(t=t, episode=self.episode, seed=self.episode_seed, a=ra, b=rb, a_held=ha, b_held=hb)
        self._t = t + 1
        self._known = max(self._known, self._t)
        self._done = pair.done
        return pair

    def seek(self, t: int) -> PairRecord:
        """Both sides back (or forward over known steps) to pair step ``t``; SessionError when an env cannot
        restore its state or ``t`` is outside the known steps."""
        from snd_player.core.session import SessionError

        if not self.seekable:
            raise SessionError(
                f"{self.a.env_id} cannot save and restore its state, so the timeline cannot seek"
            )
        if not 0 <= t < self._known:
            raise SessionError(f"step {t} is outside this pair episode's known steps 0..{self._known - 1}")
        recs = []
        for i, s in enumerate(self.sides):
            end = self._end[i]
            held = end is not None and t >= end
            rec = s.seek(end - 1 if held and end is not None else t)
            self._last[i] = rec
            recs.append((rec, held))
        (ra, ha), (rb, hb) = recs
        pair = PairRecord(t=t, episode=self.episode, seed=self.episode_seed, a=ra, b=rb, a_held=ha, b_held=hb)
        self._t = t + 1
        self._done = pair.done
        return pair

    def close(self) -> None:
        for s in self.sides:
            s.close()


class PairTimeline:
    """Both sides' episode curves and rooms, built from the PairRecords a consumer receives (the window's
    copy in the GUI thread, the recorder's in its own), never from the sessions themselves."""

    def __init__(self, heat_grid: Any) -> None:
        self.heat_grid = heat_grid
        self.episode = -1
        self.sides = (EpisodeTimeline(-1, heat_grid), EpisodeTimeline(-1, heat_grid))
        self.rooms = (RoomStats(heat_grid), RoomStats(heat_grid))
        self.n = 0  # pair steps of this pair episode known

    def put(self, pair: PairRecord) -> None:
        if pair.episode != self.episode:
            for tl, st in zip(self.sides, self.rooms):
                if len(tl):
                    st.fold(tl)
            self.episode = pair.episode
            self.sides = (
                EpisodeTimeline(pair.episode, self.heat_grid),
                EpisodeTimeline(pair.episode, self.heat_grid),
            )
            self.n = 0
        for tl, rec, held in zip(self.sides, (pair.a, pair.b), (pair.a_held, pair.b_held)):
            if not held:
                tl.put(rec)
        self.n = max(self.n, pair.t + 1)

    def curve(self, side: int, name: str, upto: int) -> Any:
        """Side's per-step values for pair steps 0..upto (shorter when its episode ended earlier)."""
        return self.sides[side].array(name)[: upto + 1]

    def rooms_text(self, side: int) -> str:
        """``rooms 1 → 0 → 4 · 5 in all episodes``: this episode's rooms in the order first entered (level
        2 and up as ``level:room``), and the rooms of every pair episode so far."""
        tl = self.sides[side]
        order = sorted(tl.first_visit.items(), key=lambda kv: kv[1])
        names = " → ".join(str(rm) if lv <= 0 else f"{lv + 1}:{rm}" for (lv, rm), _ in order if rm >= 0)
        total = len([k for k in self.rooms[side].visits(tl) if k[1] >= 0])
        if not names and total == 0:
            return "no rooms in this game"
        return f"rooms {names} · {total} in all episodes"
