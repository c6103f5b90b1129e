"""The two video encoders behind :class:`snd_player.media.record.VideoRecorder`: H.264 MP4 through PyAV and
a streamed GIF through Pillow (formats and their trade-offs are described in :mod:`snd_player.media.record`)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np


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
