"""Per-episode history, bookmarks and room bookkeeping, shared by the session and the window (Qt-free).

The session keeps one :class:`EpisodeTimeline` for the episode it is playing; the window keeps its own,
fed with the same :class:`~snd_player.core.session.StepRecord` objects, so both sides agree on rooms and
bookmarks without sending anything but records between threads.

A timeline is *prefix-consistent*: everything it derives at step ``t`` (bookmarks, first visits, the
per-room counters) depends only on steps ``0..t``. Seeking back and playing forward again therefore writes
the same values over the same indices, and truncating (when the future is discarded) removes exactly what
the discarded steps added.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from snd_player.core.step_record import StepRecord

RoomKey = tuple[int, int]  # (level, room), both 0-based as the game stores them

# Montezuma's Revenge level 1: 24 rooms in a pyramid (snd-spec §6, Go-Explore's PYRAMID).
MR_PYRAMID_ROWS: tuple[tuple[int, tuple[int, ...]], ...] = (
    (3, (0, 1, 2)),
    (2, (3, 4, 5, 6, 7)),
    (1, (8, 9, 10, 11, 12, 13, 14)),
    (0, (15, 16, 17, 18, 19, 20, 21, 22, 23)),
)
"""(first column, rooms) per row of the level-1 pyramid; 9 columns in all."""


def mr_room_cell(room: int) -> tuple[int, int] | None:
    """(row, column) of a level-1 Montezuma room in the 4x9 pyramid grid, None for ids outside 0..23."""
    for row, (col0, rooms) in enumerate(MR_PYRAMID_ROWS):
        if room in rooms:
            return row, col0 + rooms.index(room)
    return None


def is_montezuma(env_id: str) -> bool:
    return "montezuma" in env_id.lower()


def room_source(env_id: str, is_procgen: bool) -> str:
    """One line saying what the game offers as 'rooms' (shown by the rooms panel)."""
    low = env_id.lower()
    if is_procgen:
        return "Procgen: no rooms; levels"
    if "montezuma" in low:
        return "Montezuma's Revenge: room from RAM[3], level RAM[57]"
    if "pitfall" in low:
        return "Pitfall: room from RAM[1]"
    game = env_id.split("/")[-1].split("-")[0]
    return f"{game}: the game offers no rooms"


@dataclass(frozen=True)
class HeatGrid:
    """Binning of (x, y) positions for the per-room heat map; positions outside are clipped."""

    x_lo: int
    x_hi: int
    y_lo: int
    y_hi: int
    bin: int

    @property
    def shape(self) -> tuple[int, int]:  # (X bins, Y bins): pyqtgraph images are indexed [x, y]
        return (self.x_hi - self.x_lo) // self.bin, (self.y_hi - self.y_lo) // self.bin

    def cell(self, x: int, y: int) -> tuple[int, int]:
        nx, ny = self.shape
        i = min(max((x - self.x_lo) // self.bin, 0), nx - 1)
        j = min(max((y - self.y_lo) // self.bin, 0), ny - 1)
        return i, j


def heat_grid_for(env_id: str) -> HeatGrid:
    """Montezuma: x in RAM[42] spans 2..151 and y in RAM[43] 134..252 (snd-spec §6); else a byte square."""
    if is_montezuma(env_id):
        return HeatGrid(0, 160, 128, 256, 4)
    return HeatGrid(0, 256, 0, 256, 8)


@dataclass(frozen=True)
class Bookmark:
    t: int
    kind: str  # "peak" (an r_int peak) or "room" (a room entered for the first time this episode)
    label: str


_FLOAT_FIELDS = ("r_int", "int_error", "r_ext", "raw_reward", "v_ext", "v_int", "entropy", "score")
_INT_FIELDS = ("action", "level", "room", "x", "y", "lives", "driven")
"""``driven``: 1 where a person chose the action (drive mode), see ``StepRecord.driven``."""


class EpisodeTimeline:
    """Growable per-step arrays of one episode plus the bookmarks and room counters derived from them.

    ``put(record)`` appends (``record.t == len``) or overwrites (``record.t < len``, a replay after a seek);
    ``truncate(n)`` drops steps ``n..``. Arrays are exposed as views ``timeline.array(name)`` of length
    ``len(timeline)``.
    """

    PEAK_SIGMAS = 2.5
    """An r_int peak is a local maximum above mean + PEAK_SIGMAS * std of the episode so far: with the
    heavy right tail of distillation errors this marks roughly the top 1-3 % of steps."""
    PEAK_WARMUP = 16
    """No peak bookmarks in the first steps, while the running threshold means nothing yet."""
    PEAK_SEPARATION = 8
    """A peak within this many steps after another one is the same event, not a new bookmark."""

    def __init__(self, episode: int, heat_grid: HeatGrid, capacity: int = 1024) -> None:
        self.episode = episode
        self.heat_grid = heat_grid
        self._n = 0
        self._cap = capacity
        self._f = {k: np.zeros(capacity, np.float64 if k == "score" else np.float32) for k in _FLOAT_FIELDS}
        self._i = {k: np.zeros(capacity, np.int32) for k in _INT_FIELDS}
        self._features: np.ndarray | None = None  # (cap, F)
        # prefix sums of r_int (float64) for the running peak threshold, index i holds the sum over 0..i
        self._s1 = np.zeros(capacity, np.float64)
        self._s2 = np.zeros(capacity, np.float64)
        self.bookmarks: dict[int, Bookmark] = {}
        self.first_visit: dict[RoomKey, int] = {}
        self.room_steps: Counter[RoomKey] = Counter()
        self.heat: dict[RoomKey, np.ndarray] = {}
        self.done = False

    def __len__(self) -> int:
        return self._n

    # -- arrays -------------------------------------------------------------------------------------------
    def array(self, name: str) -> np.ndarray:
        if name in self._f:
            return self._f[name][: self._n]
        return self._i[name][: self._n]

    @property
    def features(self) -> np.ndarray:
        """(n, F) target features; (n, 0) when the agent has no motivation."""
        if self._features is None:
            return np.zeros((self._n, 0), np.float32)
        return self._features[: self._n]

    def _grow(self) -> None:
        cap = self._cap * 2
        for d in (self._f, self._i):
            for k, v in d.items():
                d[k] = np.concatenate([v, np.zeros_like(v)])
        self._s1 = np.concatenate([self._s1, np.zeros_like(self._s1)])
        self._s2 = np.concatenate([self._s2, np.zeros_like(self._s2)])
        if self._features is not None:
            self._features = np.concatenate([self._features, np.zeros_like(self._features)])
        self._cap = cap

    # -- writing ------------------------------------------------------------------------------------------
    def put(self, rec: StepRecord) -> None:
        t = rec.t
        if t > self._n:
            raise ValueError(f"timeline of episode {self.episode} has {self._n} steps; cannot put step {t}")
        if t < self._n:
            self._forget(t)  # a replay overwrites index t: take back what the old value added
        else:
            if t == self._cap:
                self._grow()
            self._n = t + 1
        for k in _FLOAT_FIELDS:
            self._f[k][t] = getattr(rec, k)
        for k in _INT_FIELDS:
            self._i[k][t] = getattr(rec, k) if k != "driven" else getattr(rec, k, False)
        f = rec.features
        if f.size:
            if self._features is None or self._features.shape[1] != f.shape[0]:
                self._features = np.zeros((self._cap, f.shape[0]), np.float32)
            self._features[t] = f
        r = float(rec.r_int)
        self._s1[t] = r + (self._s1[t - 1] if t else 0.0)
        self._s2[t] = r * r + (self._s2[t - 1] if t else 0.0)
        self.done = rec.done

        key = (rec.level, rec.room)
        if rec.room >= 0:
            self.room_steps[key] += 1
            if rec.x >= 0 and rec.y >= 0:
                heat = self.heat.get(key)
                if heat is None:
                    heat = self.heat[key] = np.zeros(self.heat_grid.shape, np.int32)
                heat[self.heat_grid.cell(rec.x, rec.y)] += 1
            if key not in self.first_visit:
                self.first_visit[key] = t
                if t > 0:
                    lvl = f"level {rec.level + 1} " if rec.level else ""
                    self.bookmarks[t] = Bookmark(t, "room", f"{lvl}room {rec.room} entered")
        if t >= 1:
            self._mark_peak(t - 1)

    def _mark_peak(self, i: int) -> None:
        """Decide whether step i is an r_int peak; needs steps i-1..i+1, uses only steps 0..i+1."""
        if i < self.PEAK_WARMUP:
            return
        r = self._f["r_int"]
        if not (r[i] > r[i - 1] and r[i] >= r[i + 1]):
            self._drop_peak(i)
            return
        n = i + 1
        mean = self._s1[i] / n
        std = np.sqrt(max(self._s2[i] / n - mean * mean, 0.0))
        recent = any(
            self.bookmarks.get(j) is not None and self.bookmarks[j].kind == "peak"
            for j in range(i - self.PEAK_SEPARATION, i)
        )
        if r[i] > mean + self.PEAK_SIGMAS * std and std > 0 and not recent:
            if i not in self.bookmarks:  # a room bookmark at the same step wins
                self.bookmarks[i] = Bookmark(i, "peak", f"r_int peak {r[i]:.3g}")
        else:
            self._drop_peak(i)

    def _drop_peak(self, i: int) -> None:
        b = self.bookmarks.get(i)
        if b is not None and b.kind == "peak":
            del self.bookmarks[i]

    def _forget(self, t: int) -> None:
        """Undo the room counters step t added (before it is overwritten or truncated)."""
        key = (int(self._i["level"][t]), int(self._i["room"][t]))
        if key[1] < 0:
            return
        self.room_steps[key] -= 1
        if self.room_steps[key] <= 0:
            del self.room_steps[key]
        x, y = int(self._i["x"][t]), int(self._i["y"][t])
        if x >= 0 and y >= 0 and key in self.heat:
            self.heat[key][self.heat_grid.cell(x, y)] -= 1
        if self.first_visit.get(key) == t:
            del self.first_visit[key]
            b = self.bookmarks.get(t)
            if b is not None and b.kind == "room":
                del self.bookmarks[t]

    def truncate(self, n: int) -> None:
        """Drop steps n.. (the future after a seek, once the agent is about to play differently)."""
        if n >= self._n:
            return
        for t in range(self._n - 1, n - 1, -1):
            self._forget(t)
        self._n = n
        self.done = False
        for t in [t for t in self.bookmarks if t >= n - 1]:
            if t >= n or self.bookmarks[t].kind == "peak":
                del self.bookmarks[t]

    # -- reading ------------------------------------------------------------------------------------------
    def sorted_bookmarks(self) -> list[Bookmark]:
        return [self.bookmarks[t] for t in sorted(self.bookmarks)]

    def driven_spans(self, n: int | None = None) -> list[tuple[int, int]]:
        """The runs of driven steps among the first ``n`` (default all), as [start, end) pairs."""
        d = self._i["driven"][: self._n if n is None else min(n, self._n)]
        if not d.any():
            return []
        edges = np.flatnonzero(np.diff(np.concatenate([[0], d != 0, [0]]).astype(np.int8)))
        return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]

    def room_changes(self) -> np.ndarray:
        """Steps at which the room differs from the previous step's."""
        room = self._i["room"][: self._n]
        level = self._i["level"][: self._n]
        if self._n < 2:
            return np.zeros(0, np.int64)
        return np.flatnonzero((np.diff(room) != 0) | (np.diff(level) != 0)) + 1

    @property
    def rooms(self) -> set[RoomKey]:
        return set(self.first_visit)


class RoomStats:
    """Rooms over a whole session: finished episodes folded in, plus the episode being played."""

    def __init__(self, heat_grid: HeatGrid) -> None:
        self.heat_grid = heat_grid
        self.steps: Counter[RoomKey] = Counter()
        self.heat: dict[RoomKey, np.ndarray] = {}
        self.episodes = 0
        self.rooms_per_episode: list[int] = []

    def fold(self, tl: EpisodeTimeline) -> None:
        """Add a finished (or abandoned) episode."""
        self.steps.update(tl.room_steps)
        for key, h in tl.heat.items():
            if key in self.heat:
                self.heat[key] += h
            else:
                self.heat[key] = h.copy()
        self.episodes += 1
        self.rooms_per_episode.append(len(tl.first_visit))

    def visits(self, current: EpisodeTimeline | None) -> Counter[RoomKey]:
        """Steps spent per (level, room), the current episode included."""
        out = Counter(self.steps)
        if current is not None:
            out.update(current.room_steps)
        return out

    def heat_for(self, key: RoomKey, current: EpisodeTimeline | None) -> np.ndarray:
        h = self.heat.get(key)
        c = current.heat.get(key) if current is not None else None
        if h is None and c is None:
            return np.zeros(self.heat_grid.shape, np.int32)
        if h is None:
            return c.copy()
        return h + c if c is not None else h.copy()
