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

import numpy as np
from PyQt6.QtCore import QRect, Qt
from PyQt6.QtGui import QColor, QImage, QPainter

from snd_player.media import theme
from snd_player.media.dashboard import ensure_gui_app
from snd_player.media.painting import _font, _qimage_array, scale_nearest
from trainer.runs import CheckpointInfo

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
    from snd_player.core.session import Session
    from snd_player.media.record import LateIntrinsic, default_scale

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
