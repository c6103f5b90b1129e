"""``snd-player record RUN --across-checkpoints [--every k] --out evolution.mp4``: a run's training on video.

One segment per step checkpoint of the run, oldest first (or every k-th, always ending with the newest),
each playing the same seed, so the segments differ only in the agent. Every frame carries a banner with the
checkpoint's step, the mean score and the rooms the run had reached when it was written (from the
checkpoint's metadata), the segment's number and the score of the episode being played, and a bar showing
how far into the run the checkpoint lies.

A segment is ``--frames`` agent steps (300, 20 s of game time, by default) or ``--episodes`` whole episodes.
The trainer keeps only its newest checkpoints unless told otherwise: train with ``--keep-checkpoints 0`` to
keep them all for such a video.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QRect, Qt
from PyQt6.QtGui import QColor, QImage, QPainter

from snd_player.dashboard import _font, _qimage_array, ensure_gui_app, scale_nearest
from snd_player.widgets import theme
from trainer.runs import CheckpointInfo, Run

BANNER_H = 40
DEFAULT_SEGMENT_FRAMES = 300


def pick(infos: list[CheckpointInfo], every: int) -> list[CheckpointInfo]:
    """Every ``every``-th checkpoint from the oldest, plus the newest (the run's end belongs in the video)."""
    chosen = infos[::every]
    if infos and chosen[-1] is not infos[-1]:
        chosen.append(infos[-1])
    return chosen


class Banner:
    """The game frame at ``scale`` with a banner above it naming the checkpoint."""

    def __init__(self, frame_shape: tuple[int, ...], scale: int, last_step: int) -> None:
        ensure_gui_app()
        self.scale = scale
        self.last_step = max(last_step, 1)
        h, w = frame_shape[0] * scale, frame_shape[1] * scale
        self.w, self.h = w + (w % 2), h + BANNER_H + (h % 2)
        self._img = QImage(self.w, self.h, QImage.Format.Format_RGB32)
        self._buf = _qimage_array(self._img)
        self._f_big, self._f_small = _font(15, bold=True), _font(12)

    def render(
        self, frame: np.ndarray, info: CheckpointInfo, index: int, count: int, score: float
    ) -> np.ndarray:
        """An RGB (H, W, 3) frame: banner plus game."""
        self._img.fill(QColor(theme.PANEL_2))
        game = scale_nearest(np.ascontiguousarray(frame), self.scale)
        self._buf[BANNER_H : BANNER_H + game.shape[0], : game.shape[1], :3] = game[..., ::-1]  # RGB -> BGR(A)
        p = QPainter(self._img)
        try:
            r = QRect(10, 0, self.w - 20, BANNER_H - 4)
            p.setFont(self._f_big)
            p.setPen(QColor(theme.TEXT))
            p.drawText(r, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, info.label)
            p.setFont(self._f_small)
            p.setPen(QColor(theme.MUTED))
            p.drawText(
                r,
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{index + 1}/{count} · game score {score:g}",
            )
            frac = min(max(info.step / self.last_step, 0.0), 1.0)
            p.fillRect(0, BANNER_H - 4, self.w, 4, QColor(theme.GRID))
            p.fillRect(0, BANNER_H - 4, round(self.w * frac), 4, QColor(theme.ACCENT))
        finally:
            p.end()
        return np.ascontiguousarray(self._buf[..., 2::-1])


def record_evolution(
    infos: list[CheckpointInfo],
    recorder,
    frames: int | None,
    episodes: int | None,
    seed: int = 0,
    greedy: bool = False,
    device: str = "cpu",
    scale: int | None = None,
    log=None,
) -> list[tuple[int, int]]:
    """One segment per checkpoint into ``recorder`` (closed at the end); returns (step, frames) per segment."""
    from snd_player.record import LateIntrinsic, default_scale
    from snd_player.session import Session

    banner: Banner | None = None
    out = []
    with recorder:
        for i, info in enumerate(infos):
            session = Session.from_checkpoint(info.path, seed=seed, greedy=greedy, device=device)
            session.agent = LateIntrinsic(session.agent)  # the game alone: no intrinsic pass needed
            try:
                n = ep = 0
                while (frames is None or n < frames) and (episodes is None or ep < episodes):
                    rec = session.step()
                    if banner is None:
                        k = scale or default_scale(rec.frame.shape)
                        banner = Banner(rec.frame.shape, k, infos[-1].step)
                    score = rec.score + (rec.raw_reward if rec.done else 0.0)
                    recorder.add_frame(banner.render(rec.frame, info, i, len(infos), score))
                    n += 1
                    ep += int(rec.done)
            finally:
                session.close()
            out.append((info.step, n))
            if log is not None:
                log(f"segment {i + 1}/{len(infos)}: {info.label}, {n} frames")
    return out


def build_parser() -> argparse.ArgumentParser:
    from snd_player.record import DEFAULT_CRF, REAL_TIME_FPS, _Parser

    p = _Parser(
        prog="snd-player record RUN --across-checkpoints",
        description="A run's evolution on video: one segment per checkpoint (or every k-th), same seed, each "
        "labelled with its step, score and rooms.",
    )
    p.add_argument("run", type=Path, help="a run folder (as `trainer train --run-dir` writes)")
    p.add_argument(
        "--across-checkpoints", action="store_true", required=True, help="one segment per checkpoint"
    )
    p.add_argument("--every", type=int, default=1, help="every k-th checkpoint (the newest always ends it)")
    p.add_argument("--out", type=Path, required=True, help="output video: .mp4 (H.264) or .gif")
    n = p.add_mutually_exclusive_group()
    n.add_argument(
        "--frames", type=int, default=None, help=f"agent steps per segment (default {DEFAULT_SEGMENT_FRAMES})"
    )
    n.add_argument("--episodes", type=int, default=None, help="whole episodes per segment")
    p.add_argument(
        "--seed", type=int, default=0, help="env and action-sampling seed of every segment (default 0)"
    )
    p.add_argument("--greedy", action="store_true", help="argmax actions instead of sampling")
    p.add_argument(
        "--scale", type=int, default=None, help="game-frame magnification (default 3 Atari, 1 Procgen)"
    )
    p.add_argument("--fps", type=float, default=REAL_TIME_FPS, help="video frames per second (default 15)")
    p.add_argument("--crf", type=int, default=DEFAULT_CRF, help="H.264 quality, 0 = lossless, 18 default")
    p.add_argument("--device", default="cpu", help="torch device for the networks (default cpu)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no per-segment lines")
    return p


def main(argv: list[str]) -> int:
    from snd_player.record import VIDEO_EXTENSIONS, RecordError, VideoRecorder, check_output
    from trainer.checkpoint import CheckpointError
    from trainer.envs import EnvError

    args = build_parser().parse_args(argv)

    def fail(msg: str) -> int:
        print(f"snd-player record: error: {msg}", file=sys.stderr)
        return 2

    for name in ("frames", "episodes", "every"):
        v = getattr(args, name)
        if v is not None and v < 1:
            return fail(f"--{name} must be at least 1, got {v}")
    if args.frames is None and args.episodes is None:
        args.frames = DEFAULT_SEGMENT_FRAMES
    if not args.fps > 0:
        return fail(f"--fps must be positive, got {args.fps:g}")
    if args.scale is not None and args.scale < 1:
        return fail(f"--scale must be a whole number >= 1, got {args.scale}")
    if not Run.is_run(args.run):
        return fail(
            f"{args.run}: not a run folder (expected checkpoints/ or metrics.jsonl, as `trainer train` writes)"
        )
    infos = Run(args.run).checkpoints()
    if not infos:
        return fail(f"{args.run}: no readable step checkpoint in {Run(args.run).ckpt_dir}")
    try:
        check_output(args.out, VIDEO_EXTENSIONS)
    except RecordError as e:
        return fail(str(e))
    import torch

    torch.set_num_threads(1)
    chosen = pick(infos, args.every)
    log = (lambda m: print(m, file=sys.stderr)) if args.progress else None
    try:
        recorder = VideoRecorder(args.out, fps=args.fps, panels=False, scale=1, crf=args.crf)
        t0 = time.perf_counter()
        record_evolution(chosen, recorder, args.frames, args.episodes, args.seed, args.greedy, args.device,
                         args.scale, log)  # fmt: skip
        dt = time.perf_counter() - t0
    except KeyboardInterrupt:
        print(f"snd-player record: interrupted; {args.out} was not written", file=sys.stderr)
        return 130
    except (CheckpointError, EnvError) as e:
        return fail(str(e).splitlines()[0])
    except (RecordError, OSError) as e:
        return fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
    w, h = recorder.size or (0, 0)
    print(
        f"{args.out}: {len(chosen)} checkpoints, {recorder.frames} frames, {w}x{h}, "
        f"{recorder.frames / recorder.fps:.1f} s (recorded at {recorder.frames / max(dt, 1e-9):.0f} frames/s)"
    )
    return 0
