"""What the offscreen dashboard shows that does not change during a recording (:class:`DashboardInfo`) and
where each panel goes (:class:`Layout`); the painting is :class:`snd_player.media.dashboard.Dashboard`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import QRect

from snd_player.media.painting import _round_up

if TYPE_CHECKING:
    from snd_player.core.session import Session


@dataclass(frozen=True)
class DashboardInfo:
    """The facts the dashboard shows that do not change during a recording."""

    algo: str
    env_id: str
    is_procgen: bool
    action_names: tuple[str, ...]
    has_motivation: bool
    global_step: int | None = None
    checkpoint: str = ""
    greedy: bool = False
    seed: int = 0
    room_source: str = ""

    @classmethod
    def from_session(cls, session: Session) -> DashboardInfo:
        meta: dict[str, Any] = session.meta
        step = meta.get("global_step")
        return cls(
            algo=session.algo,
            env_id=session.env_id,
            is_procgen=session.is_procgen,
            action_names=tuple(session.action_meanings),
            has_motivation=session.has_motivation,
            global_step=int(step) if isinstance(step, int | float) else None,
            checkpoint=session.checkpoint.name if session.checkpoint is not None else "",
            greedy=session.greedy,
            seed=session.seed,
            room_source=session.room_source,
        )


MIN_HEIGHT = 540
STATUS_LINE_H = 20  # one more line of the status area under the game, when score and action do not fit on one


@dataclass(frozen=True)
class Layout:
    """Pixel rectangles of the dashboard, derived from the game frame's size and its integer scale."""

    width: int
    height: int
    header: QRect
    game: QRect
    status: QRect
    intrinsic: QRect
    values: QRect
    policy: QRect
    projection: QRect
    rooms: QRect
    status_lines: int = 1  # 2: the action under the game has its own line below the score line

    @classmethod
    def for_frame(cls, frame_h: int, frame_w: int, scale: int, status_lines: int = 1) -> Layout:
        """``status_lines`` 2 gives the action under the game its own line below the score line."""
        pad, header_h = 8, 30
        status_h = 26 + STATUS_LINE_H * (max(1, status_lines) - 1)
        gw, gh = frame_w * scale, frame_h * scale
        # at least 540 pixels high, so the panels stay readable next to a small game frame
        height = _round_up(max(header_h + pad + gh + pad + status_h + pad, MIN_HEIGHT), 8)
        left_w = max(gw, 320) + 2 * pad
        # at least 960 pixels for the panels: policy, feature projection and rooms share the bottom row
        width = _round_up(left_w + max(960, round(height * 16 / 9) - left_w), 8)
        game_h = height - header_h - 3 * pad - status_h
        game = QRect((left_w - gw) // 2, header_h + pad + (game_h - gh) // 2, gw, gh)
        status = QRect(pad, height - pad - status_h, left_w - 2 * pad, status_h)
        x0, y0 = left_w, header_h + pad
        rw, avail = width - x0 - pad, height - y0 - pad
        h_int = int(avail * 0.29)
        h_val = int(avail * 0.25)
        h_bot = avail - h_int - h_val - 2 * pad
        w_pol = int(rw * 0.36)
        w_proj = int(rw * 0.30)
        y_bot = y0 + h_int + h_val + 2 * pad
        return cls(
            width=width,
            height=height,
            header=QRect(0, 0, width, header_h),
            game=game,
            status=status,
            intrinsic=QRect(x0, y0, rw, h_int),
            values=QRect(x0, y0 + h_int + pad, rw, h_val),
            policy=QRect(x0, y_bot, w_pol, h_bot),
            projection=QRect(x0 + w_pol + pad, y_bot, w_proj, h_bot),
            rooms=QRect(x0 + w_pol + w_proj + 2 * pad, y_bot, rw - w_pol - w_proj - 2 * pad, h_bot),
            status_lines=max(1, status_lines),
        )
