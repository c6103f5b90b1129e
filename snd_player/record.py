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

The frames come from the same :class:`~snd_player.session.Session` as the window's, and
:class:`VideoRecorder` is what the window's Record action can feed with the records it receives.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import os
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from snd_player.timeline import EpisodeTimeline, RoomStats, heat_grid_for
from trainer.checkpoint import output_path_problem
from trainer.numbers import MAX_SEED, whole_number

if TYPE_CHECKING:
    from snd_player.dashboard import Dashboard, DashboardInfo
    from snd_player.session import Session, StepRecord

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


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad an (H, W, C) frame with black to even H and W, as 4:2:0 video needs."""
    h, w = frame.shape[:2]
    ph, pw = h % 2, w % 2
    if ph or pw:
        frame = np.pad(frame, ((0, ph), (0, pw), (0, 0)))
    return frame


# ---- encoders -------------------------------------------------------------------------------------------
class _Mp4Writer:
    """H.264 in MP4 through PyAV. Frames are (H, W, 3) rgb24 or (H, W, 4) bgra uint8."""

    def __init__(self, path: Path, fps: float, width: int, height: int, crf: int, preset: str) -> None:
        import av

        self._av = av
        self.container = av.open(str(path), mode="w", format="mp4")
        try:
            rate = Fraction(fps).limit_denominator(1001)
            self.stream = self.container.add_stream("libx264", rate=rate)
            self.stream.width, self.stream.height = width, height
            self.stream.pix_fmt = "yuv420p"
            self.stream.options = {"crf": str(crf), "preset": preset}
        except BaseException:
            self.container.close()
            raise

    def write(self, frame: np.ndarray, fmt: str) -> None:
        # OpenCV's BT.601 RGB -> I420 (what swscale does by default, to within rounding) takes a tenth of
        # PyAV's from_ndarray + swscale on a 1272x712 dashboard, and releases the GIL while it runs
        code = cv2.COLOR_BGRA2YUV_I420 if fmt == "bgra" else cv2.COLOR_RGB2YUV_I420
        yuv = cv2.cvtColor(frame, code)  # (H * 3 / 2, W): Y plane, then U and V
        vf = self._av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        self.container.mux(self.stream.encode(vf))

    def close(self) -> None:
        try:
            self.container.mux(self.stream.encode(None))  # flush the encoder's delayed frames
        finally:
            self.container.close()

    def abort(self) -> None:
        self.container.close()


class _GifWriter:
    """GIF streamed to disk with Pillow: each frame is quantised at once to its own 256 colours with the fast
    octree and written as soon as the next one shows how long it lasts, so memory stays flat however long
    the clip (Pillow's ``save_all`` keeps every frame until the end: 1.8 MB a frame of the dashboard).

    As ``save_all`` does, a frame stores only the rectangle that changed since the previous one (the rest
    stays on screen), and identical consecutive frames are merged into one longer frame.

    Pillow directly rather than through imageio's plugin, which quantises with median cut only: median cut
    drops colours that cover few pixels, so the thin purple error curve and its legend came out grey, and it
    takes ten times longer (70 vs 7 ms for a 1272x712 dashboard).
    """

    def __init__(self, path: Path, fps: float) -> None:
        self.fps = fps
        self._file = open(path, "wb")  # noqa: SIM115 - held open while frames arrive; close()/abort() end it
        self._count = 0
        self._shown: np.ndarray | None = None  # (H, W, 3) the previous frame as quantised, i.e. on screen
        self._pending: list[Any] | None = None  # [image, (x, y), duration ms] waiting for its duration

    def write(self, frame: np.ndarray, fmt: str) -> None:
        from PIL import GifImagePlugin, Image

        if fmt == "bgra":
            frame = frame[..., 2::-1]
        image = Image.fromarray(np.ascontiguousarray(frame), mode="RGB")
        q = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        n = self._count
        self._count += 1
        # GIF stores centiseconds: cumulative rounding keeps the total exact (15 fps -> 70, 60, 70 ms, ...)
        cs = round((n + 1) * 100 / self.fps) - round(n * 100 / self.fps)
        duration = 10 * max(cs, 1)
        shown = np.asarray(q.convert("RGB"))
        indices = np.asarray(q)  # (H, W) into q's palette
        palette = np.frombuffer(bytes(q.palette.palette).ljust(768, b"\0"), np.uint8).reshape(256, 3)
        if self._shown is None:
            image, extra = _gif_part(indices, palette, np.ones(indices.shape, bool))
            header, _ = GifImagePlugin.getheader(image, info={"loop": 0, "duration": duration})
            self._file.write(b"".join(header))
            extra["include_color_table"] = False  # its palette is the global one
            self._pending, self._shown = [image, (0, 0), duration, extra], shown
            return
        changed = np.any(shown != self._shown, axis=2)
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        assert self._pending is not None
        if rows.size == 0:
            self._pending[2] += duration  # the same picture: the previous frame stays up longer
            return
        self._flush()
        x0, y0, x1, y1 = int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1
        image, extra = _gif_part(indices[y0:y1, x0:x1], palette, changed[y0:y1, x0:x1])
        self._pending, self._shown = [image, (x0, y0), duration, extra], shown

    def _flush(self) -> None:
        from PIL import GifImagePlugin

        assert self._pending is not None
        image, offset, duration, extra = self._pending
        # every frame has its own colour table (the first: the global one), as each was quantised on its own
        params = {"duration": duration, "include_color_table": True, **extra}
        for chunk in GifImagePlugin.getdata(image, offset, **params):
            self._file.write(chunk)
        self._pending = None

    def close(self) -> None:
        try:
            self._flush()
            self._file.write(b";")  # GIF trailer
        finally:
            self._file.close()

    def abort(self) -> None:
        self._file.close()


def _gif_part(indices: np.ndarray, palette: np.ndarray, new: np.ndarray) -> tuple[Any, dict[str, Any]]:
    """A GIF frame (or the changed rectangle of one) as save_all's optimize makes it: the colour table holds
    only the colours of the ``new`` pixels, and the others are transparent, so the picture below shows
    through them (one index in long runs, which compresses well). indices (h, w) into palette (256, 3)."""
    from PIL import Image

    used = np.flatnonzero(np.bincount(indices[new], minlength=256))
    extra: dict[str, Any] = {}
    if used.size < 256:
        remap = np.zeros(256, np.uint8)
        remap[used] = np.arange(used.size)
        indices, palette = remap[indices], palette[used]
        if not new.all():
            t = used.size
            indices = np.where(new, indices, np.uint8(t))
            palette = np.concatenate([palette, np.zeros((1, 3), np.uint8)])
            extra["transparency"] = t
    h, w = indices.shape
    image = Image.frombytes("P", (w, h), np.ascontiguousarray(indices, np.uint8).tobytes())
    image.putpalette(palette.tobytes(), "RGB")
    return image, extra


# ---- the recorder ---------------------------------------------------------------------------------------
class VideoRecorder:
    """Writes one video frame per ``add(record)`` (or ``add_frame(rgb)``); ``close()`` publishes the file.

    ``panels=True`` renders the dashboard (needs ``info``; see :class:`snd_player.dashboard.Dashboard`),
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
        if not self.panels:
            self.add_frame(rec.frame)
            return
        t0 = time.perf_counter()
        tl = self._track(rec)
        if self._dashboard is None:
            from snd_player.dashboard import Dashboard

            assert self.info is not None
            scale = self.scale or default_scale(rec.frame.shape)
            self._dashboard = Dashboard(self.info, rec.frame.shape, scale)
        image = self._dashboard.render(rec, tl, self._rooms)
        self.render_s += time.perf_counter() - t0
        self._write(image, "bgra")

    def add_frame(self, rgb: np.ndarray) -> None:
        """A bare RGB frame (H, W, 3) uint8, magnified ``scale`` x with crisp pixels."""
        from snd_player.dashboard import scale_nearest

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


def record(
    session: Session,
    recorder: VideoRecorder,
    frames: int | None = None,
    episodes: int | None = None,
    progress: bool = True,
) -> VideoRecorder:
    """Play ``frames`` steps (or ``episodes`` episodes) of the session into the recorder and close it."""
    from tqdm import tqdm

    total = frames if frames is not None else None
    unit_desc = f"{episodes} episode{'s' if episodes != 1 else ''}" if episodes is not None else None
    bar = tqdm(
        total=total,
        unit="frame",
        desc=f"recording {recorder.path.name}",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
        postfix=unit_desc,
    )
    try:
        # closing(): the session thread stops at once, also when the recording fails
        with recorder, contextlib.closing(play(session, frames, episodes)) as records:
            ep_done = 0
            for rec in records:
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


# ---- command line ---------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="snd-player record",
        description="Record a video of a checkpoint playing: the game alone, or with the player's panels "
        "(intrinsic motivation, values, policy, rooms). One video frame per agent step.",
        epilog="--fps 15 (the default) is real time: Atari runs at 60 frames/s and the agent acts every 4th. "
        "Two agents side by side: snd-player record --compare A B --out ab.mp4 (see --compare --help). "
        "A run checkpoint by checkpoint: snd-player record RUN --across-checkpoints [--every k] "
        "--out evolution.mp4 (see RUN --across-checkpoints --help).",
    )
    p.add_argument("checkpoint", type=Path, help="an snd .safetensors checkpoint or a run folder")
    p.add_argument(
        "--checkpoint",
        dest="which",
        default=None,
        help="of a run folder: best (default), latest or a step number",
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output video: .mp4 (H.264) or .gif (large files: best for short clips)",
    )
    n = p.add_mutually_exclusive_group()
    n.add_argument("--frames", type=whole_number(1, 10**9), default=None, help="record this many agent steps")
    n.add_argument("--episodes", type=whole_number(1, 10**6), default=None, help="record this many whole episodes (default 1)")
    panels = p.add_mutually_exclusive_group()
    panels.add_argument(
        "--panels",
        dest="panels",
        action="store_true",
        default=True,
        help="game frame plus the player's panels (default)",
    )
    panels.add_argument("--no-panels", dest="panels", action="store_false", help="the game frame alone")
    p.add_argument(
        "--fps", type=float, default=REAL_TIME_FPS, help="video frames per second (default 15 = real time)"
    )
    p.add_argument("--seed", type=whole_number(0, MAX_SEED), default=0, help="env and action-sampling seed (default 0)")
    p.add_argument("--greedy", action="store_true", help="argmax actions instead of sampling")
    p.add_argument(
        "--scale",
        type=int,
        default=None,
        help="game-frame magnification, whole pixels (default 3 for Atari, 1 for Procgen)",
    )
    p.add_argument(
        "--crf", type=int, default=DEFAULT_CRF, help="H.264 quality, 0 = lossless, 18 default, 51 worst"
    )
    p.add_argument("--device", default="cpu", help="torch device for the networks (default cpu)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: at batch size 1 more threads only compete with the encoder)",
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return p


def _fail(msg: str) -> int:
    print(f"snd-player record: error: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--compare" in argv:  # two agents side by side: snd_player.compare_video
        from snd_player.compare_video import main as compare_main

        return compare_main(argv)
    if "--across-checkpoints" in argv:  # a run checkpoint by checkpoint: snd_player.evolution
        from snd_player.evolution import main as evolution_main

        return evolution_main(argv)
    args = build_parser().parse_args(argv)
    if args.checkpoint.is_dir() or args.which is not None:
        from trainer.runs import RunError, resolve_target

        try:
            args.checkpoint, _ = resolve_target(args.checkpoint, args.which)
        except RunError as e:
            return _fail(str(e))
    if args.frames is not None and args.frames < 1:
        return _fail(f"--frames must be at least 1, got {args.frames}")
    if args.episodes is not None and args.episodes < 1:
        return _fail(f"--episodes must be at least 1, got {args.episodes}")
    if args.frames is None and args.episodes is None:
        args.episodes = 1
    if not args.fps > 0:
        return _fail(f"--fps must be positive, got {args.fps:g}")
    if args.scale is not None and args.scale < 1:
        return _fail(f"--scale must be a whole number >= 1, got {args.scale}")
    if not 0 <= args.crf <= 51:
        return _fail(f"--crf must be in 0..51, got {args.crf}")
    try:
        check_output(args.out, VIDEO_EXTENSIONS)
    except RecordError as e:
        return _fail(str(e))

    import torch

    from snd_player.session import Session
    from trainer.checkpoint import CheckpointError
    from trainer.envs import EnvError

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        session = Session.from_checkpoint(
            args.checkpoint, seed=args.seed, greedy=args.greedy, device=args.device
        )
        session.agent = LateIntrinsic(session.agent)
    except (CheckpointError, EnvError) as e:
        return _fail(str(e).splitlines()[0])
    except (OSError, RuntimeError) as e:
        return _fail(
            f"{args.checkpoint}: cannot load ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
        )
    try:
        info = None
        if args.panels:
            from snd_player.dashboard import DashboardInfo, ensure_gui_app

            ensure_gui_app()
            info = DashboardInfo.from_session(session)
        recorder = VideoRecorder(
            args.out, fps=args.fps, panels=args.panels, info=info, scale=args.scale, crf=args.crf
        )
        t0 = time.perf_counter()
        record(session, recorder, frames=args.frames, episodes=args.episodes, progress=args.progress)
        dt = time.perf_counter() - t0
    except KeyboardInterrupt:
        print(f"snd-player record: interrupted; {args.out} was not written", file=sys.stderr)
        return 130
    except (RecordError, OSError) as e:
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:  # the encoder names its hidden temp file
            return _fail(
                f"{args.out}: no space left on device; nothing was written (the partial video was removed)"
            )
        return _fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
    finally:
        session.close()
    w, h = recorder.size or (0, 0)
    secs = recorder.frames / recorder.fps
    print(
        f"{args.out}: {recorder.frames} frames, {w}x{h}, {secs:.1f} s at {recorder.fps:g} fps "
        f"(recorded at {recorder.frames / max(dt, 1e-9):.0f} frames/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
