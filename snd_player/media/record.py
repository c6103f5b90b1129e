"""``snd-player record CKPT --out demo.mp4``: a video of the agent playing, with or without the panels.

One video frame per agent step. The default ``--fps 15`` is real time: Atari runs at 60 emulator frames
per second and the agent acts every 4th (frame skip 4), so 15 agent steps make one second of the game.

- ``.mp4``: H.264 (libx264 through PyAV), yuv420p so every player plays it, even width and height (4:2:0
  chroma needs them; an odd side is padded by one black pixel), ``--crf`` 18 by default (visually lossless
  for the flat colours of Atari and the panels).
- ``.gif``: Pillow, 256 colours per frame (fast octree, which keeps the panels' thin coloured lines). GIF
  delays are whole centiseconds, so 15 fps mixes 70 and 60 ms delays that add up to real time; identical
  consecutive frames are merged into one longer frame. Frames are streamed to the file as they come, so
  memory stays flat with length (the file itself is large: mp4 is the format for long clips).

The video is written to a hidden temp file in the destination folder and renamed over the final name only
when it is complete, so an error or Ctrl-C never leaves a half-written video under that name.

The frames come from the same :class:`~snd_player.core.session.Session` as the window's, and
:class:`VideoRecorder` is what the window's Record action can feed with the records it receives.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

# the headless stepping lives in the core (trajectory replays use it too); re-exported for the media tools
from snd_player.core.playing import INTRINSIC_BATCH, LateIntrinsic, fill_intrinsic, play  # noqa: F401
from snd_player.core.timeline import EpisodeTimeline, RoomStats, heat_grid_for
from snd_player.media.video_writers import _even, _GifWriter, _Mp4Writer
from trainer.checkpoint import output_path_problem

if TYPE_CHECKING:
    from snd_player.core.session import Session, StepRecord
    from snd_player.media.dashboard import Dashboard, DashboardInfo

REAL_TIME_FPS = 15.0
"""Agent steps per second of game time: 60 emulator frames/s at frame skip 4."""
VIDEO_EXTENSIONS = (".mp4", ".gif")
DEFAULT_CRF = 18


class RecordError(ValueError):
    """A recording that cannot be made; the message is one line."""


# ---- output paths ---------------------------------------------------------------------------------------
def check_output(path: str | Path, extensions: tuple[str, ...]) -> Path:
    """Validate an output path before any work is done; raises RecordError with one line."""
    problem = output_path_problem(Path(path), extensions)
    if problem:
        raise RecordError(problem)
    return Path(path)


def default_scale(frame_shape: tuple[int, ...]) -> int:
    """Crisp integer magnification: 3x for Atari frames (210x160 -> 630x480), 1x for Procgen's 512x512."""
    return 3 if max(frame_shape[0], frame_shape[1]) <= 256 else 1


class VideoRecorder:
    """Writes one video frame per ``add(record)`` (or ``add_frame(rgb)``); ``close()`` publishes the file.

    ``panels=True`` renders the dashboard (needs ``info``; see :class:`snd_player.media.dashboard.Dashboard`),
    ``panels=False`` the game frame alone at ``scale`` x. The recorder keeps its own episode timeline
    built from the records it is given, so it can be fed from any thread's copy of the records (the
    window's, or the CLI's session thread) without touching the session.

    Use as a context manager, or call ``close()`` / ``abort()``: until ``close()`` returns, the video lives
    in a hidden temp file beside ``path``, which ``abort()`` (or an exception in the ``with`` block) removes.
    """

    def __init__(
        self,
        path: str | Path,
        fps: float = REAL_TIME_FPS,
        panels: bool = True,
        info: DashboardInfo | None = None,
        scale: int | None = None,
        crf: int = DEFAULT_CRF,
        preset: str = "veryfast",
        frame_fn: Callable[[StepRecord], np.ndarray] | None = None,
    ) -> None:
        self.path = check_output(path, VIDEO_EXTENSIONS)
        if not fps > 0:
            raise RecordError(f"fps must be positive, got {fps}")
        if scale is not None and scale < 1:
            raise RecordError(f"scale must be a whole number >= 1, got {scale}")
        if panels and info is None:
            raise ValueError("panels=True needs a DashboardInfo (DashboardInfo.from_session(session))")
        self.fps = float(fps)
        self.panels = panels
        self.info = info
        self.scale = scale
        self.crf = int(crf)
        self.preset = preset
        self.frame_fn = frame_fn
        """Draws the game frame of a record instead of ``rec.frame`` (a saliency overlay), same shape."""
        self.frames = 0
        self.size: tuple[int, int] | None = None  # (width, height) of the video
        self.render_s = 0.0  # seconds spent drawing frames, for benchmarks
        self.encode_s = 0.0
        self._dashboard: Dashboard | None = None
        self._writer: _Mp4Writer | _GifWriter | None = None
        self._timeline: EpisodeTimeline | None = None
        self._rooms: RoomStats | None = None
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=f".part{self.path.suffix}", dir=self.path.parent
        )
        os.close(fd)
        self._tmp: Path | None = Path(tmp)

    # -- feeding --------------------------------------------------------------------------------------------
    def add(self, rec: StepRecord) -> None:
        """One agent step: the dashboard (panels) or the scaled game frame."""
        if self.frame_fn is not None:
            rec = dataclasses.replace(rec, frame=self.frame_fn(rec))
        if not self.panels:
            self.add_frame(rec.frame)
            return
        t0 = time.perf_counter()
        tl = self._track(rec)
        if self._dashboard is None:
            from snd_player.media.dashboard import Dashboard

            assert self.info is not None
            scale = self.scale or default_scale(rec.frame.shape)
            self._dashboard = Dashboard(self.info, rec.frame.shape, scale)
        image = self._dashboard.render(rec, tl, self._rooms)
        self.render_s += time.perf_counter() - t0
        self._write(image, "bgra")

    def skip(self, rec: StepRecord) -> None:
        """One agent step played before the video starts (``record --start``): nothing is drawn or encoded,
        but the panels' history (plots, rooms) takes it in, so the first frame shows the episode so far."""
        if self.panels:
            self._track(rec)

    def add_frame(self, rgb: np.ndarray) -> None:
        """A bare RGB frame (H, W, 3) uint8, magnified ``scale`` x with crisp pixels."""
        from snd_player.media.painting import scale_nearest

        t0 = time.perf_counter()
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"add_frame expects (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
        k = self.scale or default_scale(rgb.shape)
        frame = _even(np.ascontiguousarray(scale_nearest(rgb, k)))
        self.render_s += time.perf_counter() - t0
        self._write(frame, "rgb24")

    def continue_from(self, timeline: EpisodeTimeline, rooms: RoomStats) -> None:
        """Record on from a running episode: the panels show its steps so far and the session's rooms, as the
        window does (its Record dialog, from the step on screen). Takes ownership of both."""
        self._timeline, self._rooms = timeline, rooms

    def _track(self, rec: StepRecord) -> EpisodeTimeline:
        """This recorder's own timeline of the episode being recorded, fed with the records it gets."""
        tl = self._timeline
        if self._rooms is None:
            self._rooms = RoomStats(heat_grid_for(self.info.env_id if self.info else ""))
        if tl is None or rec.episode != tl.episode:
            if tl is not None and len(tl):
                self._rooms.fold(tl)
            tl = self._timeline = EpisodeTimeline(rec.episode, self._rooms.heat_grid)
        if rec.t > len(tl):
            # recording began in mid-episode (the window): count steps from the first one recorded
            rec = _with_t(rec, len(tl))
        tl.put(rec)
        return tl

    def _write(self, frame: np.ndarray, fmt: str) -> None:
        if self._tmp is None:
            raise RecordError(f"{self.path}: the recorder is closed")
        h, w = frame.shape[:2]
        if self._writer is None:
            self._open(w, h)
        elif (w, h) != self.size:
            raise RecordError(f"frame size {w}x{h} differs from the video's {self.size[0]}x{self.size[1]}")
        t0 = time.perf_counter()
        assert self._writer is not None
        self._writer.write(frame, fmt)
        self.encode_s += time.perf_counter() - t0
        self.frames += 1

    def _open(self, width: int, height: int) -> None:
        assert self._tmp is not None
        self.size = (width, height)
        if self.path.suffix.lower() == ".mp4":
            self._writer = _Mp4Writer(self._tmp, self.fps, width, height, self.crf, self.preset)
        else:
            self._writer = _GifWriter(self._tmp, self.fps)

    # -- finishing ------------------------------------------------------------------------------------------
    def close(self) -> Path:
        """Finish the video and move it to its final name; returns that path."""
        if self._tmp is None:
            return self.path
        if self._writer is None or self.frames == 0:
            self.abort()
            raise RecordError(f"{self.path}: no frames were recorded")
        tmp = self._tmp
        try:
            self._writer.close()
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp made it private; a video is an ordinary file
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            self._tmp = None
            self._writer = None
        return self.path

    def abort(self) -> None:
        """Drop the recording; nothing appears under the final name."""
        tmp, self._tmp = self._tmp, None
        if tmp is None:
            return
        try:
            if self._writer is not None:
                self._writer.abort()
        except Exception:  # noqa: BLE001 - the file is being thrown away; its encoder's state does not matter
            pass
        finally:
            self._writer = None
            tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoRecorder:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _with_t(rec: StepRecord, t: int) -> StepRecord:
    return dataclasses.replace(rec, t=t)


def session_recorder(
    session: Session,
    path: Path,
    fps: float,
    panels: bool,
    frame_fn: Callable[[StepRecord], np.ndarray] | None = None,
) -> VideoRecorder:
    """The player's Record action: a :class:`VideoRecorder` for ``path``, with the dashboard of ``session``
    when ``panels`` and ``frame_fn`` (a saliency overlay) drawing each game frame (the app hands this to
    :class:`snd_player.core.stepper.Stepper`)."""
    from snd_player.media.dashboard import DashboardInfo, ensure_gui_app

    info = None
    if panels:
        ensure_gui_app()  # fonts for the dashboard; in a child process there is no app yet
        info = DashboardInfo.from_session(session)
    return VideoRecorder(Path(path), fps=fps, panels=panels, info=info, frame_fn=frame_fn)


def record(
    session: Session,
    recorder: VideoRecorder,
    frames: int | None = None,
    episodes: int | None = None,
    progress: bool = True,
    start: int = 0,
) -> VideoRecorder:
    """Play ``frames`` steps (or ``episodes`` episodes) of the session into the recorder and close it.

    With ``start``, the first ``start`` steps are played but not recorded (:meth:`VideoRecorder.skip`): the
    video begins at step ``start`` of the episode and ``frames`` counts from there. An episode that ends
    before ``start`` is a :class:`RecordError` (nothing is written).
    """
    from tqdm import tqdm

    played = frames + start if frames is not None else None  # the skipped steps are played too
    unit_desc = f"{episodes} episode{'s' if episodes != 1 else ''}" if episodes is not None else None
    bar = tqdm(
        total=played,
        unit="frame",
        desc=f"recording {recorder.path.name}",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
        postfix=unit_desc,
    )
    try:
        # closing(): the session thread stops at once, also when the recording fails
        with recorder, contextlib.closing(play(session, played, episodes)) as records:
            ep_done = n = 0
            for rec in records:
                n += 1
                if n <= start:
                    if rec.done:
                        raise RecordError(f"--start {start}: the episode ended at step {rec.t}, before the video began")
                    recorder.skip(rec)
                    bar.update(1)
                    continue
                recorder.add(rec)
                bar.update(1)
                if rec.done:
                    ep_done += 1
                    if episodes is not None:
                        bar.set_postfix_str(
                            f"episode {ep_done}/{episodes}, score {rec.score + rec.raw_reward:g}"
                        )
    finally:
        bar.close()
    return recorder
