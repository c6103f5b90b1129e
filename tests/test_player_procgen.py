"""The player on Procgen: its bundled Qt5 (procgen_mirror.libs) loads beside PyQt6, the window plays and
seeks, and the panels show what Procgen offers (level seed, colour by time) instead of rooms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PyQt6.QtCore import QSettings  # noqa: E402

from snd_player.app.main_window import MainWindow  # noqa: E402
from snd_player.core.session import Session  # noqa: E402

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def coinrun_checkpoint(tmp_path_factory) -> Path:
    """A freshly initialised SND-V agent for procgen:coinrun (the networks cost the same trained or not)."""
    import torch

    from trainer.agent import build_agent, save_agent
    from trainer.config import TrainConfig

    cfg = TrainConfig(env="procgen:coinrun", algo="snd-v").resolved()
    path = tmp_path_factory.mktemp("coinrun") / "000000000000.safetensors"
    save_agent(build_agent(cfg, torch.device("cpu"), seed=0), path, 0)
    return path


def test_procgen_session_steps_and_seeks(coinrun_checkpoint):
    s = Session.from_checkpoint(coinrun_checkpoint, seed=3)
    try:
        first = [s.step() for _ in range(30)]
        assert s.is_procgen and s.seekable
        r = first[0]
        assert r.frame.shape == (512, 512, 3) and r.obs.shape == (6, 64, 64)
        assert r.room == -1 and r.level_seed >= 0 and s.room_source == "Procgen: no rooms; levels"
        again = s.seek(12)
        assert np.array_equal(again.frame, first[12].frame)
        for a, b in zip([s.step() for _ in range(10)], first[13:]):
            assert a.action == b.action and np.array_equal(a.frame, b.frame)
    finally:
        s.close()


def test_procgen_window_plays_and_draws(qtbot, tmp_path, coinrun_checkpoint):
    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1600, 1000)
    win.show()
    win.set_speed(0.0)
    win.set_session(Session.from_checkpoint(coinrun_checkpoint, seed=1), autoplay=False)
    win.play(40)
    qtbot.waitUntil(lambda: win.frames_received >= 40 and not win.playing, timeout=WAIT_MS)
    win.draw_now()
    win.rooms.update_from(win.room_stats, win.timeline, win.last)
    assert win.intrinsic.reward.xData is not None and len(win.intrinsic.reward.xData) == 40
    assert not win.projection.by_room and sum(len(i.data) for i in win.projection._groups.values()) == 40
    assert "level seed" in win.rooms.summary.text() and not win.rooms.heat_plot.isVisible()
    assert win.game.image.image.shape == (512, 512, 3)
    # no rooms in the status bar (it said "rooms 1 (session 1)"), and readable action names, not "d, a, w"
    assert win.status_rooms.text() == f"level seed {win.last.level_seed}"
    names = win.policy.labels
    assert "fire" in names and "left+up" in names and not {"d", "a", "w", "s", "q", "e"} & set(names)
    assert win.last.action_name == win.session.action_meanings[win.last.action]
    thread = win.worker.thread
    win.close()
    assert thread.isFinished()
