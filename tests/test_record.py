"""``snd-player record``: videos have the frames asked for, decode at the expected size, show the session's
frames, and a failed recording leaves nothing under the final name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")


def tiny_checkpoint(base: Path, algo: str = "snd-v", env: str = "ALE/MontezumaRevenge-v5") -> Path:
    """A freshly initialised agent saved as a checkpoint (cached for the pytest session). Its target is
    initialised from another seed than its config's, as if trained, and its input normaliser has seen a
    few frames."""
    path = base / "snd-tools" / f"{algo}-{env.replace('/', '_').replace(':', '_')}.safetensors"
    if path.exists():
        return path
    import torch

    from trainer.agent import build_agent, save_agent
    from trainer.config import TrainConfig
    from trainer.envs import make_env

    cfg = TrainConfig(env=env, algo=algo, seed=5).resolved()
    agent = build_agent(cfg, torch.device("cpu"), seed=6)
    if agent.motivation is not None and agent.motivation.has_normaliser:
        e = make_env(agent.env_config, 0)
        obs, _ = e.reset(seed=0)
        for a in range(8):
            agent.motivation.observe(torch.as_tensor(obs[None]))
            obs, *_ = e.step(a % agent.spec.num_actions)
        e.close()
    save_agent(agent, path, 2048)
    return path


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    import torch

    torch.set_num_threads(1)
    return tiny_checkpoint(tmp_path_factory.getbasetemp())


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def run(argv: list[str]) -> int:
    from snd_player.cli.record import main

    return main([*argv, "--no-progress"])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_mp4_frames_are_the_sessions_frames(ckpt, tmp_path):
    from snd_player.core.session import Session

    out = tmp_path / "bare.mp4"
    assert (
        run([str(ckpt), "--out", str(out), "--frames", "12", "--no-panels", "--scale", "1", "--seed", "3"])
        == 0
    )
    frames = decode(out)
    assert len(frames) == 12
    assert frames[0].shape == (210, 160, 3)
    s = Session.from_checkpoint(ckpt, seed=3)
    for i in range(12):
        expected = s.step().frame.astype(np.int16)
        # H.264 with 4:2:0 chroma is lossy at the colour edges; a wrong frame is off by tens
        assert np.abs(frames[i].astype(np.int16) - expected).mean() < 3.0, f"frame {i}"
    assert leftovers(tmp_path) == []


def test_gif_with_panels_has_every_frame_at_dashboard_size(ckpt, tmp_path):
    from PIL import Image, ImageSequence

    out = tmp_path / "panels.gif"
    assert run([str(ckpt), "--out", str(out), "--frames", "6", "--seed", "1"]) == 0
    frames = decode(out)
    assert len(frames) == 6  # the step counter in the header makes every frame differ
    h, w = frames[0].shape[:2]
    # Atari frame at 3x beside the panels (policy, projection, rooms); 712 high before the action label
    # under the game got a line of its own (it overlapped the score line)
    assert (w, h) == (1456, 736)
    with Image.open(out) as im:
        durations = [f.info["duration"] for f in ImageSequence.Iterator(im)]
    # GIF delays are whole centiseconds: 60 and 70 ms mixed so that 6 frames last 6/15 s exactly
    assert set(durations) <= {60, 70} and sum(durations) == 400
    assert leftovers(tmp_path) == []


def test_mp4_with_panels_and_episodes(ckpt, tmp_path, monkeypatch):
    """--episodes stops at the end of an episode (made short here by a stub that ends every 5th step)."""
    import dataclasses

    from snd_player.core import session as session_mod

    real_step = session_mod.Session.step

    def short_step(self):
        rec = real_step(self)
        return dataclasses.replace(rec, done=rec.t % 5 == 4)

    monkeypatch.setattr(session_mod.Session, "step", short_step)
    out = tmp_path / "two.mp4"
    assert run([str(ckpt), "--out", str(out), "--episodes", "2", "--scale", "2"]) == 0
    frames = decode(out)
    assert len(frames) == 10
    assert frames[0].shape[0] % 2 == 0 and frames[0].shape[1] % 2 == 0


def test_start_begins_the_video_at_that_step(ckpt, tmp_path):
    """--start 7 --frames 3 shows steps 7-9 of the episode, not 0-2."""
    from snd_player.core.session import Session

    out = tmp_path / "late.mp4"
    argv = [str(ckpt), "--out", str(out), "--frames", "3", "--start", "7", "--no-panels", "--scale", "1"]
    assert run([*argv, "--seed", "3", "--crf", "0"]) == 0
    frames = decode(out)
    assert len(frames) == 3
    s = Session.from_checkpoint(ckpt, seed=3)
    steps = [s.step().frame.astype(np.int16) for _ in range(10)]
    s.close()
    err = lambda a, b: np.abs(a.astype(np.int16) - b).mean()  # noqa: E731
    for i in range(3):
        assert err(frames[i], steps[7 + i]) < 3.0, f"frame {i}"
    # the agent moves between steps 0 and 7, so the first frames would be told apart
    assert err(frames[0], steps[0]) > err(frames[0], steps[7])
    assert leftovers(tmp_path) == []


def test_start_with_panels_draws_the_same_frames_as_a_full_recording(ckpt, tmp_path):
    """The skipped steps still feed the panels: frame k of a --start 4 video is frame 4 + k of a video
    from step 0, pixel for pixel (plots, rooms and step counter included)."""
    full, late = tmp_path / "full.gif", tmp_path / "late.gif"
    assert run([str(ckpt), "--out", str(full), "--frames", "6", "--seed", "2"]) == 0
    assert run([str(ckpt), "--out", str(late), "--frames", "2", "--start", "4", "--seed", "2"]) == 0
    a, b = decode(full), decode(late)
    assert len(b) == 2 and np.array_equal(b[0], a[4]) and np.array_equal(b[1], a[5])
    assert not np.array_equal(b[0], a[0])


def test_start_past_the_episode_end_is_one_line_and_no_file(ckpt, tmp_path, monkeypatch, capsys):
    import dataclasses

    from snd_player.core import session as session_mod

    real_step = session_mod.Session.step
    monkeypatch.setattr(session_mod.Session, "step", lambda self: dataclasses.replace(real_step(self), done=True))
    out = tmp_path / "v.mp4"
    assert run([str(ckpt), "--out", str(out), "--frames", "2", "--start", "3", "--no-panels"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "snd-player record: error: --start 3: the episode ended at step 0, before the video began"
    assert list(tmp_path.iterdir()) == []


def test_dashboard_shows_the_frame_pixel_for_pixel(ckpt):
    from snd_player.core.session import Session
    from snd_player.core.timeline import EpisodeTimeline, RoomStats, heat_grid_for
    from snd_player.media.dashboard import Dashboard, DashboardInfo

    s = Session.from_checkpoint(ckpt, seed=0)
    d = Dashboard(DashboardInfo.from_session(s), (210, 160), scale=2)
    tl = EpisodeTimeline(0, heat_grid_for(s.env_id))
    for _ in range(3):
        rec = s.step()
        tl.put(rec)
        img = d.render(rec, tl, RoomStats(tl.heat_grid))
    g = d.layout.game
    game = img[g.y() : g.y() + g.height(), g.x() : g.x() + g.width(), 2::-1]  # BGRA -> RGB
    assert np.array_equal(game, np.repeat(np.repeat(rec.frame, 2, axis=0), 2, axis=1))
    assert img.shape[:2] == (d.size[1], d.size[0])
    assert d.size[0] % 2 == 0 and d.size[1] % 2 == 0


def _ink_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(mask)
    return None if len(xs) == 0 else (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))


@pytest.mark.parametrize("scale", [2, 3])
def test_dashboard_score_line_and_action_label_do_not_overlap(ckpt, scale):
    """Under the game, "score · lives · room" (left) and the action label (right) shared one line at the
    game's width: at 2x "DOWNRIGHTFIRE" was drawn over "room 1". The ink of each, found by rendering with and
    without it, must not share a pixel box."""
    import dataclasses

    from snd_player.core.session import Session
    from snd_player.core.timeline import EpisodeTimeline, RoomStats, heat_grid_for
    from snd_player.media.dashboard import Dashboard, DashboardInfo

    s = Session.from_checkpoint(ckpt, seed=0)
    d = Dashboard(DashboardInfo.from_session(s), (210, 160), scale=scale)
    tl = EpisodeTimeline(0, heat_grid_for(s.env_id))
    rec = s.step()
    tl.put(rec)
    longest = max(s.action_meanings, key=len)
    assert longest == "DOWNRIGHTFIRE"
    rec = dataclasses.replace(rec, action_name=longest, done=True, chooser="human", score=12345.0, room=23)
    st = d.layout.status
    area = (slice(st.top(), st.bottom() + 1), slice(st.left(), st.right() + 1))
    full = d.render(rec, tl, RoomStats(tl.heat_grid))[area].copy()
    no_action = d.render(
        dataclasses.replace(rec, action_name="", done=False, chooser="agent"), tl, RoomStats(tl.heat_grid)
    )[area].copy()
    background = d._bg[area]
    score_box = _ink_box(np.any(no_action != background, axis=-1))
    action_box = _ink_box(np.any(full != no_action, axis=-1))
    assert score_box is not None and action_box is not None
    sx0, sy0, sx1, sy1 = score_box
    ax0, ay0, ax1, ay1 = action_box
    apart = ax0 > sx1 or ax1 < sx0 or ay0 > sy1 or ay1 < sy0
    assert apart, f"score ink {score_box} and action ink {action_box} overlap at {scale}x"
    # at these scales the game column is too narrow for both on one line: the action goes under the score
    assert d.layout.status_lines == 2 and ay0 > sy1
    assert st.bottom() < d.size[1] and d.layout.game.bottom() < st.top()


def test_failed_recording_leaves_no_file(tmp_path):
    from snd_player.media.record import VideoRecorder

    out = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError):
        with VideoRecorder(out, panels=False, scale=1) as rec:
            for _ in range(5):
                rec.add_frame(np.zeros((210, 160, 3), np.uint8))
            raise RuntimeError("the agent crashed")
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_empty_recording_is_an_error_and_no_file(tmp_path):
    from snd_player.media.record import RecordError, VideoRecorder

    out = tmp_path / "empty.gif"
    rec = VideoRecorder(out, panels=False)
    with pytest.raises(RecordError, match="no frames"):
        rec.close()
    assert not out.exists() and leftovers(tmp_path) == []


def test_interrupted_recording_leaves_no_file(ckpt, tmp_path, monkeypatch, capsys):
    from snd_player.core import session as session_mod

    real_step = session_mod.Session.step
    calls = {"n": 0}

    def step(self):
        calls["n"] += 1
        if calls["n"] > 4:
            raise KeyboardInterrupt
        return real_step(self)

    monkeypatch.setattr(session_mod.Session, "step", step)
    out = tmp_path / "ctrl-c.mp4"
    assert run([str(ckpt), "--out", str(out), "--frames", "50", "--no-panels"]) == 130
    assert not out.exists() and leftovers(tmp_path) == []
    assert "not written" in capsys.readouterr().err


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def test_unknown_extension(ckpt, tmp_path, capsys):
    out = tmp_path / "demo.avi"
    assert run([str(ckpt), "--out", str(out)]) == 2
    assert ".avi" in one_line_error(capsys)
    assert not out.exists()


@pytest.mark.parametrize("where", ["missing-folder", "proc"])
def test_unwritable_output(ckpt, tmp_path, capsys, where):
    out = tmp_path / "no" / "such" / "demo.mp4" if where == "missing-folder" else Path("/proc/snd-demo.mp4")
    assert run([str(ckpt), "--out", str(out)]) == 2
    assert str(out) in one_line_error(capsys)


def test_corrupt_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all" + bytes(64))
    out = tmp_path / "demo.mp4"
    assert run([str(bad), "--out", str(out)]) == 2
    assert "bad.safetensors" in one_line_error(capsys)
    assert not out.exists() and leftovers(tmp_path) == []


def test_missing_checkpoint(tmp_path, capsys):
    assert run([str(tmp_path / "nope.safetensors"), "--out", str(tmp_path / "demo.mp4")]) == 2
    assert "nope.safetensors" in one_line_error(capsys)


def test_batched_intrinsic_equals_per_step(ckpt):
    """record and eval compute r_int in batches; the records must match what the window shows."""
    from snd_player.core.session import Session
    from snd_player.media.record import LateIntrinsic, play

    s = Session.from_checkpoint(ckpt, seed=4)
    plain = [s.step() for _ in range(20)]
    late = Session.from_checkpoint(ckpt, seed=4)
    late.agent = LateIntrinsic(late.agent)
    batched = list(play(late, 20, None))
    assert [r.t for r in batched] == list(range(20))
    for a, b in zip(plain, batched):
        assert a.action == b.action and np.array_equal(a.frame, b.frame) and a.v_ext == b.v_ext
        assert b.r_int == pytest.approx(a.r_int, abs=1e-5) and b.int_error == pytest.approx(
            a.int_error, rel=1e-5
        )
        assert np.allclose(a.features, b.features, atol=1e-4)
        assert b.features.shape == (late.agent.motivation.feature_dim,)


def _gif_frames(path: Path) -> list[tuple[np.ndarray, int]]:
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        return [(np.asarray(f.convert("RGB")).copy(), f.info["duration"]) for f in ImageSequence.Iterator(im)]


def test_streamed_gif_shows_each_quantised_frame_and_merges_repeats(tmp_path):
    """Frame by frame, the GIF shows what Pillow's fast octree makes of each input frame (the changed
    rectangle over the previous picture), and a repeated frame lengthens the previous one."""
    from PIL import Image

    from snd_player.media.record import VideoRecorder

    frames = []
    for i in range(12):
        f = np.full((60, 90, 3), 20 * i, np.uint8)
        f[10:20, 5 * i : 5 * i + 8] = (255, 0, 128)  # a thin coloured mark that moves
        frames.append(frames[-1] if i in (4, 5) else f)  # frames 4 and 5 repeat frame 3
    out = tmp_path / "t.gif"
    with VideoRecorder(out, panels=False, scale=1, fps=15) as rec:
        for f in frames:
            rec.add_frame(f)
    octree = Image.Quantize.FASTOCTREE
    want = [np.asarray(Image.fromarray(f).quantize(256, method=octree, dither=Image.Dither.NONE).convert("RGB"))
            for f in frames]  # fmt: skip
    got = _gif_frames(out)
    assert len(got) == 10
    for (shown, _), expected in zip(got, want[:4] + want[6:], strict=True):
        assert np.array_equal(shown, expected)
    # 15 fps in centiseconds: 70, 60, 70, 70, 60, 70, ...; frame 3 lasts three frames (70 + 60 + 70 ms)
    assert [d for _, d in got] == [70, 60, 70, 200, 70, 60, 70, 70, 60, 70]
    assert sum(d for _, d in got) == 800  # 12 frames at 15 fps
    # about as small as Pillow's all-in-memory save_all (changed rectangles, unchanged pixels transparent)
    q = [Image.fromarray(f).quantize(256, method=octree, dither=Image.Dither.NONE) for f in frames]
    q[0].save(tmp_path / "ref.gif", save_all=True, append_images=q[1:], duration=70, loop=0)
    assert out.stat().st_size <= 1.1 * (tmp_path / "ref.gif").stat().st_size


def _rss_mb() -> float:
    import os

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_gif_memory_stays_flat_with_length(tmp_path):
    """A dashboard-sized GIF: the memory after 4N frames is within a few MB of that after N (Pillow's
    save_all kept every quantised frame, about 0.9 MB each: +80 MB here)."""
    import gc

    from snd_player.media.record import VideoRecorder

    n = 30
    y, x = np.mgrid[0:712, 0:1272]
    picture = np.stack([x % 256, (y * 3) % 256, (x + y) % 256], axis=-1).astype(np.uint8)
    rec = VideoRecorder(tmp_path / "long.gif", panels=False, scale=1)
    for i in range(4 * n):
        frame = picture.copy()
        frame[300 : 300 + i % 40, :, 2] = 255  # a band that changes every frame, as the curves do
        frame[:40, :] = (5 * i) % 256  # and a header that does too
        rec.add_frame(frame)
        if i + 1 == n:
            gc.collect()
            after_n = _rss_mb()
    gc.collect()
    growth = _rss_mb() - after_n
    rec.close()
    assert growth < 20, f"memory grew {growth:.0f} MB over {3 * n} more frames"
    assert len(_gif_frames(tmp_path / "long.gif")) == 4 * n


@pytest.mark.parametrize(
    "option, value", [("--fps", "inf"), ("--fps", "nan"), ("--fps", "0"), ("--crf", "52")]
)
def test_every_video_form_refuses_the_same_bad_fps_and_crf(ckpt, tmp_path, option, value, capsys):
    """One set of video options for the three forms: the single video took ``--fps inf`` (a float > 0)
    before, where the side-by-side and evolution videos refused it."""
    from snd_player.cli.record import compare_parser, evolution_parser

    out = tmp_path / "demo.mp4"
    with pytest.raises(SystemExit) as e:
        run([str(ckpt), "--out", str(out), option, value])
    assert e.value.code == 2 and option in one_line_error(capsys) and not out.exists()
    for parser in (compare_parser(), evolution_parser()):
        with pytest.raises(SystemExit) as e:
            parser.parse_args([str(ckpt), str(ckpt), "--out", str(out), option, value])
        assert e.value.code == 2 and option in one_line_error(capsys)


@pytest.mark.parametrize("value", ["0", "17", "2.5", "-3"])
def test_the_single_and_evolution_videos_refuse_the_same_bad_scale(ckpt, tmp_path, value, capsys):
    """``--scale`` was an int checked by hand in each form (17, a 2720x3570 Atari frame, went through);
    now one option, a whole number in [1, 16], refused by argparse alike in both."""
    from snd_player.cli.record import MAX_SCALE, evolution_parser

    assert MAX_SCALE == 16
    out = tmp_path / "demo.mp4"
    with pytest.raises(SystemExit) as e:
        run([str(ckpt), "--out", str(out), "--scale", value])
    assert e.value.code == 2 and "--scale" in one_line_error(capsys) and not out.exists()
    with pytest.raises(SystemExit) as e:
        evolution_parser().parse_args([str(ckpt), "--out", str(out), "--scale", value])
    assert e.value.code == 2 and "--scale" in one_line_error(capsys)
    good = [str(ckpt), "--across-checkpoints", "--out", str(out), "--scale", "16"]
    assert evolution_parser().parse_args(good).scale == 16
