"""Compare mode on checkpoints `trainer train` wrote in the test: lock step on one seed, the side whose
episode ends first waits, one timeline scrubs both, different games are refused in one line, and the
window and ``record --compare`` show the same pair records."""

from __future__ import annotations

import numpy as np
import pytest

from snd_player.core.compare import CompareError, Comparison, PairTimeline
from tests.conftest import ckpt_path as ckpt  # noqa: E402

pytest.importorskip("pytestqt")
av = pytest.importorskip("av")

WAIT_MS = 60_000


@pytest.fixture
def sndv_vs_rnd(tiny_run, tiny_run_rnd):
    cmp = Comparison.open(tiny_run, tiny_run_rnd, seed=2)
    yield cmp
    cmp.close()


def test_same_agent_twice_gives_identical_sides(tiny_run):
    """Same checkpoint, same seed, in lock step: every pair step must be the same on both sides."""
    cmp = Comparison.open(ckpt(tiny_run, 64), ckpt(tiny_run, 64), seed=5)
    try:
        for _ in range(12):
            p = cmp.step()
            assert p.a.t == p.b.t == p.t
            assert np.array_equal(p.a.frame, p.b.frame) and p.a.action == p.b.action
            assert p.a.r_int == p.b.r_int and p.a.v_int == p.b.v_int
    finally:
        cmp.close()


def test_the_side_that_ends_first_waits_then_both_restart_together(sndv_vs_rnd):
    cmp = sndv_vs_rnd
    pairs = [cmp.step() for _ in range(41)]
    # RND's episodes end after 25 steps, SND-V's after 40 (the runs' max_episode_steps)
    assert pairs[24].b.done and not pairs[24].b_held and not pairs[24].done
    for p in pairs[25:40]:
        assert p.b_held and p.b is pairs[24].b and not p.a_held and p.a.t == p.t
    assert pairs[39].a.done and pairs[39].done
    first = pairs[40]  # a new pair episode: both from step 0 on the next seed
    assert (first.episode, first.seed, first.t, first.a.t, first.b.t) == (1, 3, 0, 0, 0)  # seed 2, then 3
    assert not first.a_held and not first.b_held


def test_reset_with_a_seed_starts_a_new_episode_for_the_consumers(sndv_vs_rnd):
    cmp, pt = sndv_vs_rnd, PairTimeline(sndv_vs_rnd.a.heat_grid)
    for _ in range(10):
        pt.put(cmp.step())
    cmp.reset(7)
    p = cmp.step()
    assert (p.episode, p.seed, p.t) == (1, 7, 0)
    pt.put(p)
    assert pt.n == 1 and len(pt.sides[0]) == 1  # the old episode's ten steps are gone from the curves
    replay = Comparison.open(*[s.checkpoint for s in cmp.sides], seed=7)
    try:
        q = replay.step()
    finally:
        replay.close()
    # the level seed 7 gives (sampled actions also depend on each session's episode count, which a reset
    # does not restart, so only the start state is compared)
    assert np.array_equal(q.a.frame, p.a.frame) and np.array_equal(q.b.obs, p.b.obs)


def test_seek_scrubs_both_sides(sndv_vs_rnd):
    cmp = sndv_vs_rnd
    pairs = [cmp.step() for _ in range(36)]
    assert cmp.horizon == 36
    back = cmp.seek(10)
    assert back.t == 10 and back.a.t == 10 and back.b.t == 10
    assert np.array_equal(back.a.frame, pairs[10].a.frame) and np.array_equal(back.b.frame, pairs[10].b.frame)
    assert back.a.v_int == pytest.approx(pairs[10].a.v_int) and back.b.action == pairs[10].b.action
    held = cmp.seek(30)  # RND had ended at 25: it shows its last step again
    assert held.b_held and held.b.t == 24 and held.a.t == 30
    nxt = cmp.step()  # playing on from a seek reproduces what was played
    assert nxt.t == 31 and np.array_equal(nxt.a.frame, pairs[31].a.frame)


def test_pair_timeline_keeps_each_sides_curve(sndv_vs_rnd):
    pt = PairTimeline(sndv_vs_rnd.a.heat_grid)
    pairs = [sndv_vs_rnd.step() for _ in range(30)]
    for p in pairs:
        pt.put(p)
    assert pt.n == 30
    assert np.allclose(pt.curve(0, "r_int", 29), [p.a.r_int for p in pairs])
    assert pt.curve(1, "r_int", 29).size == 25  # RND stopped at 25 steps
    assert pt.rooms_text(0) == "rooms 1 · 1 in all episodes"


def test_different_games_are_refused_in_one_line(tiny_run, tmp_path, capsys):
    from snd_player.cli.compare import main as compare_main
    from snd_player.cli.record import main as record_main
    from tests.test_record import tiny_checkpoint

    coinrun = tiny_checkpoint(tmp_path, algo="rnd", env="procgen:coinrun")
    with pytest.raises(CompareError, match="procgen:coinrun.*same game"):
        Comparison.open(tiny_run, coinrun)
    for main, argv in (
        (compare_main, [str(tiny_run), str(coinrun)]),
        (record_main, ["--compare", str(tiny_run), str(coinrun), "--out", str(tmp_path / "ab.mp4")]),
    ):
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "ALE/MontezumaRevenge-v5" in err and "procgen:coinrun" in err
    assert not (tmp_path / "ab.mp4").exists()


def test_record_compare_writes_the_pair_side_by_side(tiny_run, tiny_run_rnd, tmp_path):
    from snd_player.cli.record import main as record_main
    from snd_player.media.compare_video import GAME_W, fit_frame

    out = tmp_path / "ab.mp4"
    argv = ["--compare", str(ckpt(tiny_run, 96)), str(tiny_run_rnd), "--out", str(out), "--seed", "2"]
    assert record_main(argv) == 0
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 40  # one pair episode (--episodes 1 by default): the longer side's 40 steps
    assert frames[0].shape == (520, 1280, 3)
    # the same comparison played here: its game frames are in the video, A left and B right
    cmp = Comparison.open(ckpt(tiny_run, 96), tiny_run_rnd, seed=2)
    try:
        pairs = [cmp.step() for _ in range(40)]
    finally:
        cmp.close()
    for i in (5, 33):
        a, b = fit_frame(pairs[i].a.frame), fit_frame(pairs[i].b.frame)
        h = a.shape[0]
        got_a = frames[i][34 : 34 + h, 8 : 8 + GAME_W].astype(int)
        got_b = frames[i][34 : 34 + h, 16 + GAME_W : 16 + 2 * GAME_W].astype(int)
        assert np.abs(got_a - a).mean() < 4  # H.264 at crf 18: close, not exact
        if i < 25:
            assert np.abs(got_b - b).mean() < 4
        else:  # B's episode is over: its last frame, dimmed under the "waiting" note
            assert got_b.mean() < b.astype(int).mean()


def test_compare_window_plays_scrubs_and_normalises(qtbot, tiny_run, tiny_run_rnd):
    from snd_player.app.compare_window import CompareWindow

    win = CompareWindow(Comparison.open(tiny_run, tiny_run_rnd, seed=2))
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.show()
    win.set_speed(0.0)
    win.play(30)
    qtbot.waitUntil(lambda: win.frames_received >= 30 and not win.playing, timeout=WAIT_MS)
    win.draw_now()
    assert win.horizon == 30 and win.slider.maximum() == 29
    assert win.plot_int.curve_a.xData.size == 30 and win.plot_int.curve_b.xData.size == 25
    assert np.allclose(win.plot_vint.curve_a.yData, win.pt.curve(0, "v_int", 29))
    assert "episode over" in win.infos[1].text()
    win.seek(7)
    qtbot.waitUntil(lambda: win.cursor == 7, timeout=WAIT_MS)
    win.draw_now()
    assert win.games[0]._last.t == 7 and win.games[1]._last.t == 7  # one timeline scrubs both
    assert win.plot_int.cursor.value() == 7
    win.norm_box.setChecked(True)
    win.draw_now()
    for curve in (win.plot_int.curve_a, win.plot_int.curve_b, win.plot_vint.curve_a, win.plot_vint.curve_b):
        y = curve.yData  # min–max (issue 27): lowest 0, highest 1; a flat curve (RND's r_int at 1.0) at 0.5
        assert (y.min(), y.max()) == pytest.approx((0.0, 1.0)) or np.allclose(y, 0.5)
    win.close()


def test_record_compare_takes_the_windows_pair_options_and_passes_checkpoint(tiny_run, tiny_run_rnd, tmp_path,
                                                                             monkeypatch, capsys):  # fmt: skip
    """`record --compare` and the compare window choose the pair with the same options (one definition);
    `--checkpoint 32` of two run folders reaches Comparison.open (record --compare had no --checkpoint)."""
    from snd_player.cli.compare import build_parser
    from snd_player.cli.record import compare_parser
    from snd_player.cli.record import main as record_main
    from snd_player.core.compare import CompareError

    pair = {"which", "seed", "greedy", "trajectory", "normalised"}
    window = {a.dest for a in build_parser()._actions}
    video = {a.dest for a in compare_parser()._actions}
    assert pair <= window and pair <= video
    seen = {}

    def fake_open(cls, a, b, **kw):
        seen.update(kw, a=a, b=b)
        raise CompareError("stop here")

    monkeypatch.setattr(Comparison, "open", classmethod(fake_open))
    argv = ["--compare", str(tiny_run), str(tiny_run_rnd), "--out", str(tmp_path / "ab.mp4"), "--checkpoint", "32"]
    assert record_main(argv) == 2
    assert seen["which"] == "32" and seen["a"] == tiny_run and seen["b"] == tiny_run_rnd
    assert capsys.readouterr().err.strip() == "snd-player record: error: stop here"
