"""Trajectory files (snd_player.core.trajectory): save/load round trip, exact replay under any checkpoint with
sticky actions and no-ops on, ``eval --trajectory`` rows equal to the player engine's, one line and exit 2
for each kind of bad file, and the bundled example leaving Montezuma's first room."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from snd_player.core import trajectory as T
from tests.test_record import tiny_checkpoint
from trainer.envs import EnvConfig, make_env

DEMO = Path(__file__).resolve().parents[1] / "snd_player" / "assets" / "demo.safetensors"
BUNDLED = Path(__file__).resolve().parents[1] / "snd_player" / "assets" / "montezuma-first-room.json"
MR = "ALE/MontezumaRevenge-v5"
STICKY = EnvConfig(env_id=MR, sticky_action_prob=0.25, sticky_per_frame=True, noop_max=8)
"""Sticky actions per frame and up to 8 random no-ops: both drawn from the env's generator."""


def random_trajectory(n: int = 40, seed: int = 11, cfg: EnvConfig = STICKY) -> T.Trajectory:
    acts = np.random.default_rng(seed).integers(0, 18, n)
    who = ["human" if i % 3 else "agent" for i in range(n)]
    return T.Trajectory.from_steps(cfg, seed, acts, who, note="test")


@pytest.fixture(scope="module")
def demo_agent():
    import torch

    from trainer.agent import load_agent

    torch.set_num_threads(1)
    return load_agent(DEMO)


@pytest.fixture(scope="module")
def rnd_ckpt(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.getbasetemp(), algo="rnd")


def env_only(traj: T.Trajectory, n: int | None = None) -> list[tuple[int, str, float]]:
    """(room, frame hash, score) of s_t for each step, from the env alone (no network anywhere)."""
    env = make_env(traj.env_config(), traj.seed, render_rgb=True)
    _, info = env.reset(seed=traj.seed)
    out = []
    for a in traj.actions[:n]:
        out.append((int(info["room"]), T.frame_hash(info["rgb"]), float(info["score"])))
        _, _, _, _, info = env.step(a)
    env.close()
    return out


def replayed(agent, traj: T.Trajectory, late: bool = False) -> list[T.ReplayStep]:
    session = T.open_replay(agent, traj, late_intrinsic=late)
    try:
        return list(T.replay(session, traj))
    finally:
        session.close()


# ---- the file ---------------------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path):
    traj = random_trajectory()
    path = T.save(tmp_path / "t.json", traj)
    back = T.load(path)
    assert back == traj
    assert back.chooser[:4] == ("agent", "human", "human", "agent")
    doc = json.loads(path.read_text())
    assert doc["format"] == "snd-trajectory" and doc["version"] == 1
    assert (doc["env_id"], doc["seed"], doc["sticky_action_prob"], doc["noop_max"]) == (MR, 11, 0.25, 8)
    assert doc["sticky_per_frame"] is True and doc["frame_skip"] == 4
    assert len(doc["actions"]) == len(doc["chooser"]) == 40
    # the env a replay builds: the file's dynamics over a checkpoint's observation settings
    cfg = back.env_config(EnvConfig(frame_size=84, sticky_action_prob=0.0, noop_max=30, max_episode_steps=25))
    got = (cfg.frame_size, cfg.sticky_action_prob, cfg.noop_max, cfg.max_episode_steps)
    assert got == (84, 0.25, 8, 4500)
    # noop_max None (a bare EnvConfig) means none and is written as 0
    assert T.Trajectory.from_steps(EnvConfig(), 0, [1, 2]).dynamics["noop_max"] == 0


def test_session_script_only_at_episode_start(demo_agent):
    from snd_player.core.session import SessionError

    session = T.open_replay(demo_agent, random_trajectory(5))
    session.step()
    with pytest.raises(SessionError, match="step 0"):
        session.script([0, 1])
    session.close()


# ---- replay -------------------------------------------------------------------------------------------------
def test_replay_is_exact_under_three_checkpoints_with_sticky_actions(demo_agent, rnd_ckpt, legacy_demo):
    from trainer.agent import load_agent

    traj = random_trajectory()
    rnd, legacy = load_agent(rnd_ckpt), load_agent(legacy_demo)
    # the checkpoints differ in their own env settings (frame size 84 vs 96; sticky per step in the first
    # demo's format, which predates sticky_per_frame, vs per frame since): the replay takes the dynamics from
    # the file and the observation settings from each checkpoint
    assert legacy.env_config.sticky_per_frame is False and rnd.env_config.sticky_per_frame is True
    assert demo_agent.spec.obs_shape != rnd.spec.obs_shape
    truth = env_only(traj)
    for agent, late in ((demo_agent, False), (legacy, False), (rnd, False), (demo_agent, True)):
        steps = replayed(agent, traj, late)
        assert [(s.record.room, s.frame_hash, s.record.score) for s in steps] == truth
        assert [s.record.action for s in steps] == list(traj.actions)
        assert [s.chooser for s in steps] == list(traj.chooser)
        # the person's steps of the file show as driven in the replay (and save as driven again); the
        # file's agent steps are now the script's
        assert [s.record.chooser for s in steps] == ["human" if c == "human" else "script" for c in traj.chooser]
        assert sum(s.record.driven for s in steps) == traj.chooser.count("human") > 0
    # the frames depend on the env's randomness as the file seeds it: another seed, or no sticky actions,
    # plays other frames (so equal hashes above are not a property of any replay)
    other_seed = T.Trajectory(**{**traj.__dict__, "seed": 12})
    no_sticky = T.Trajectory(**{**traj.__dict__, "dynamics": {**traj.dynamics, "sticky_action_prob": 0.0}})
    for other in (other_seed, no_sticky):
        assert [h for _, h, _ in env_only(other)] != [h for _, h, _ in truth]


def test_greedy_toggled_mid_replay_keeps_the_files_actions(demo_agent):
    """The window's greedy switch drops the known future of an episode, but not a script's steps: they do
    not depend on how the agent acts."""
    traj = random_trajectory(12)
    session = T.open_replay(demo_agent, traj)
    recs = [session.step() for _ in range(4)]
    session.set_greedy(True)
    recs += [session.step() for _ in range(8)]
    assert [r.action for r in recs] == list(traj.actions) and session.script_left == 0
    assert [T.frame_hash(r.frame) for r in recs] == [h for _, h, _ in env_only(traj)]
    session.close()


def test_replay_stops_with_one_line_when_the_episode_ends_early(demo_agent):
    # five steps allowed, but the file claims more: the time limit ends the episode at step 4
    traj = random_trajectory(8)
    short = T.Trajectory(**{**traj.__dict__, "dynamics": {**traj.dynamics, "max_episode_steps": 5}})
    with pytest.raises(T.TrajectoryError, match="ended at step 4 of 8"):
        replayed(demo_agent, short)


# ---- eval --trajectory ------------------------------------------------------------------------------------
def test_eval_trajectory_writes_the_engines_signals(demo_agent, tmp_path, capsys):
    from snd_player.cli.eval import main

    traj = random_trajectory(24)
    path = T.save(tmp_path / "t.json", traj)
    out = tmp_path / "sig" / "signals.csv"
    rc = main([str(DEMO), "--trajectory", str(path), "--out", str(out), "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 24
    assert list(rows[0])[:10] == [
        "step", "room", "level", "score", "r_int", "error", "v_ext", "v_int", "p_action", "chooser",
    ]  # fmt: skip
    engine = replayed(demo_agent, traj)  # the window's engine: one intrinsic pass per step
    for row, s in zip(rows, engine, strict=True):
        r = s.record
        assert int(row["step"]) == r.t and int(row["room"]) == r.room and row["frame_hash"] == s.frame_hash
        assert row["chooser"] == s.chooser and int(row["action"]) == r.action
        assert math.isclose(float(row["r_int"]), r.r_int, rel_tol=1e-5, abs_tol=1e-9)
        assert math.isclose(float(row["error"]), r.int_error, rel_tol=1e-5, abs_tol=1e-9)
        assert math.isclose(float(row["v_int"]), r.v_int, rel_tol=1e-6, abs_tol=1e-9)
        assert math.isclose(float(row["p_action"]), float(r.probs[r.action]), rel_tol=1e-6)
    assert max(float(r["r_int"]) for r in rows) > 0  # the demo has a predictor: the column is not all 0


# ---- bad files ------------------------------------------------------------------------------------------------
def _good() -> dict:
    return json.loads(random_trajectory(6).to_json())


def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as f:  # a hole: no disk used, no time spent
        f.truncate(size)


def _write(doc) -> callable:
    return lambda p: p.write_text(doc if isinstance(doc, str) else json.dumps(doc))


BAD_FILES = [
    ("other game", _write({**_good(), "env_id": "ALE/Pong-v5", "action_names": [], "actions": [0, 1, 2, 3, 4, 5]}),
     "a trajectory of ALE/Pong-v5, but the checkpoint plays ALE/MontezumaRevenge-v5"),
    ("action out of range", _write({**_good(), "actions": [0, 1, 18, 2, 3, 4]}),
     "action 2 is 18, out of range for ALE/MontezumaRevenge-v5 (valid: 0..17)"),
    ("negative action", _write({**_good(), "actions": [0, -1, 1, 2, 3, 4]}), "action 1 is -1"),
    ("truncated JSON", lambda p: p.write_text(random_trajectory(6).to_json()[:200]), "truncated JSON at line"),
    ("malformed JSON", _write('{"format": "snd-trajectory", "version": 1,, }'), "malformed JSON at line 1"),
    ("empty actions", _write({**_good(), "actions": [], "chooser": []}), "no actions"),
    ("a directory", lambda p: p.mkdir(), "is a folder"),
    ("a huge file", lambda p: _sparse(p, T.MAX_FILE_BYTES + 1), "too large for a trajectory"),
    ("not a trajectory", _write({"format": "snd-checkpoint", "actions": [1]}), "not a trajectory"),
    ("a JSON list", _write([1, 2, 3]), "not a trajectory"),
    ("binary", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\0\0"), "not UTF-8 text"),
    ("newer version", _write({**_good(), "version": 99}), "version 99 is newer"),
    ("choosers per action", _write({**_good(), "chooser": ["human"]}), "1 choosers for 6 actions"),
    ("unknown chooser", _write({**_good(), "chooser": ["robot"] * 6}), 'chooser 0 is "robot"'),
    ("missing seed", _write({k: v for k, v in _good().items() if k != "seed"}), 'missing "seed"'),
    ("bad sticky", _write({**_good(), "sticky_action_prob": 2}), '"sticky_action_prob" is 2'),
    ("unknown game", _write({**_good(), "env_id": "ALE/NoSuchGame-v5"}), "NoSuchGame"),
    ("other action set", _write({**_good(), "action_names": ["NOOP", "FIRE"]}), "do not match"),
    ("longer than the time limit", _write({**_good(), "max_episode_steps": 3}), "6 actions, but max_episode"),
    ("missing file", lambda p: None, "no such file"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "expected"), [b[1:] for b in BAD_FILES], ids=[b[0] for b in BAD_FILES])
def test_bad_trajectory_file_is_one_line_and_exit_2(tmp_path, capsys, make, expected):
    from snd_player.cli.eval import main

    path = tmp_path / "bad.json"
    make(path)
    out = tmp_path / "signals.csv"
    rc = main([str(DEMO), "--trajectory", str(path), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("snd-player eval: error: "), err
    assert expected in err and str(path) in err, err
    assert not out.exists()


def test_bad_trajectory_through_the_command_line(tmp_path, capsys):
    """The entry point in a fresh interpreter: no traceback, one line, exit 2; record refuses it alike."""
    from tests.test_record import run

    path = tmp_path / "t.json"
    path.write_text(random_trajectory(6).to_json()[:-20])
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    argv = ["eval", str(DEMO), "--trajectory", str(path), "--out", str(tmp_path / "s.csv")]
    r = subprocess.run(
        [sys.executable, "-c", "import sys; from snd_player.cli import main; sys.exit(main())", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().count("\n") == 0 and "truncated JSON" in r.stderr, r.stderr
    assert run([str(DEMO), "--trajectory", str(path), "--out", str(tmp_path / "v.mp4")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("snd-player record: error: ") and err.count("\n") == 1 and "truncated JSON" in err
    assert not (tmp_path / "v.mp4").exists()


# ---- record --trajectory ----------------------------------------------------------------------------------
def test_record_trajectory_has_one_frame_per_step_of_the_replay(demo_agent, tmp_path):
    from tests.test_record import decode, run

    traj = random_trajectory(12)
    path = T.save(tmp_path / "t.json", traj)
    out = tmp_path / "v.mp4"
    assert run([str(DEMO), "--trajectory", str(path), "--out", str(out), "--no-panels", "--scale", "1"]) == 0
    frames = decode(out)
    assert len(frames) == 12
    truth = [s.record.frame for s in replayed(demo_agent, traj)]
    for got, want in zip(frames, truth, strict=True):  # H.264 at crf 18: close, not bit-exact
        assert np.abs(got[:210, :160].astype(int) - want.astype(int)).mean() < 4


# ---- the bundled example ------------------------------------------------------------------------------------
def test_bundled_trajectory_leaves_the_first_room_the_same_way_every_time(demo_agent):
    traj = T.load(BUNDLED)
    first, second = env_only(traj), env_only(traj)
    assert first == second
    rooms = [r for r, _, _ in first]
    assert rooms[0] == 1 and rooms[-1] != 1  # starts in room 1, ends in another
    assert first[-1][2] >= 400  # the key (100) and a door (300)
    # under the demo's networks, its first steps are the env's own frames
    n = 24
    head = T.Trajectory(**{**traj.__dict__, "actions": traj.actions[:n], "chooser": traj.chooser[:n]})
    assert [(s.record.room, s.frame_hash, s.record.score) for s in replayed(demo_agent, head)] == first[:n]


# ---- the window's engine: the file's end pauses ---------------------------------------------------------
def test_stepper_pauses_at_the_end_of_the_file_then_the_agent_plays(demo_agent):
    from snd_player.core.stepper import Stepper

    traj = random_trajectory(20)
    session = T.open_replay(demo_agent, traj)
    session.keyframe_every = 8
    batches, failures = [], []
    st = Stepper(session, None, on_batch=batches.append, on_failed=failures.append, on_state=lambda _s: None)
    st.ack = lambda: None
    st.speed = 0.0

    def play_out(limit: int = 200) -> list:
        start = len(batches)
        st.command("play")
        for _ in range(limit):
            if not st.playing:
                break
            st.tick()
            st._in_flight = 0  # the window took every batch
        return [r for b in batches[start:] for r in b.records]

    recs = play_out()
    assert not st.playing and [r.action for r in recs] == list(traj.actions)
    assert failures == ["end of the trajectory after 20 steps: paused; Play hands the game to the agent"]
    truth = env_only(traj)
    assert [(r.room, T.frame_hash(r.frame), r.score) for r in recs] == truth
    # seek back into the file: playing on stops at its end again, on the same frames
    st.command("seek", 5)
    st.tick()
    st._in_flight = 0
    again = play_out()
    assert [r.t for r in again] == list(range(6, 20)) and len(failures) == 2
    assert [T.frame_hash(r.frame) for r in again] == [h for _, h, _ in truth[6:]]
    # Play at the end: the agent takes over from the same state (three steps, then the run pauses)
    st.command("run", 3)
    start = len(batches)
    for _ in range(50):
        if not st.playing:
            break
        st.tick()
        st._in_flight = 0
    assert [r.t for b in batches[start:] for r in b.records] == [20, 21, 22]
    assert session.script_left == 0 and len(failures) == 2
    st.close()


def test_window_replays_a_trajectory_in_its_session_process(qtbot, tmp_path):
    pytest.importorskip("pytestqt")
    from PyQt6.QtCore import QSettings

    from snd_player.app.main_window import MainWindow
    from tests.test_player import WAIT_MS, collect

    traj = random_trajectory(16)
    path = T.save(tmp_path / "t.json", traj)
    from trainer.agent import load_agent

    session = T.open_replay(load_agent(DEMO), T.load(path), DEMO)
    win = MainWindow(
        settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), session_process=True
    )
    qtbot.addWidget(win)
    win.show()
    win.set_speed(0.0)
    win.set_session(session, autoplay=False)
    got = collect(win)
    win.play()
    qtbot.waitUntil(lambda: len(got) >= 16 and not win.playing, timeout=WAIT_MS)
    assert [r.action for r in got] == list(traj.actions)
    assert [T.frame_hash(r.frame) for r in got] == [h for _, h, _ in env_only(traj)]
    assert "end of the trajectory after 16 steps" in win.statusBar().currentMessage()
    win.release()


# ---- compare --trajectory -------------------------------------------------------------------------------
def test_compare_plays_the_file_on_both_sides_and_records_it(rnd_ckpt, tmp_path):
    from snd_player.core.compare import Comparison
    from tests.test_record import decode

    traj = random_trajectory(10)
    truth = [h for _, h, _ in env_only(traj)]
    cmp = Comparison.open(DEMO, rnd_ckpt, trajectory=traj)
    pairs = [cmp.step() for _ in range(10)]
    for side in ("a", "b"):
        assert [getattr(p, side).action for p in pairs] == list(traj.actions)
        assert [T.frame_hash(getattr(p, side).frame) for p in pairs] == truth
    assert pairs[0].seed == traj.seed
    cmp.close()
    path = T.save(tmp_path / "t.json", traj)
    out = tmp_path / "ab.mp4"
    from snd_player.cli.record import main

    argv = ["--compare", str(DEMO), str(rnd_ckpt), "--trajectory", str(path), "--out", str(out)]
    assert main(argv) == 0
    assert len(decode(out)) == 10


def test_compare_window_says_where_the_trajectory_is_and_when_it_ends(qtbot, rnd_ckpt):
    """The compare window replaying a file: the status line counts its steps, and at its end the window
    (not only the terminal) says that Play goes on with each agent's own actions."""
    from snd_player.app.compare_window import CompareWindow
    from snd_player.core.compare import Comparison

    traj = random_trajectory(12)
    win = CompareWindow(Comparison.open(DEMO, rnd_ckpt, trajectory=traj))
    qtbot.addWidget(win)
    win.show()
    win.set_speed(0.0)
    win.play(12)
    qtbot.waitUntil(lambda: win.frames_received >= 12 and not win.playing, timeout=60_000)
    win.draw_now()
    assert win.status.text().endswith("· trajectory step 12 / 12"), win.status.text()
    assert "the trajectory ended at step 12" in win.statusBar().currentMessage()
    assert win.trajectory_text(0, 12) == " · past the trajectory's 12 steps: own actions"
    assert win.trajectory_text(1, 3) == ""  # the next pair episode is the agents' own
    win.release()


def test_procgen_trajectory_replays_exactly(tmp_path, needs_procgen):
    """Procgen files carry its dynamics (distribution mode, random-action probability) instead of Atari's."""
    from trainer.agent import load_agent

    agent = load_agent(tiny_checkpoint(tmp_path, algo="rnd", env="procgen:coinrun"))
    cfg = EnvConfig(env_id="procgen:coinrun", procgen_random_action_prob=0.5)
    traj = T.Trajectory.from_steps(cfg, 3, np.random.default_rng(3).integers(0, 15, 12), "human")
    assert set(traj.dynamics) == {"procgen_distribution_mode", "procgen_random_action_prob"}
    back = T.load(T.save(tmp_path / "p.json", traj))
    assert back == traj
    truth = env_only(back)
    assert [(s.record.room, s.frame_hash, s.record.score) for s in replayed(agent, back)] == truth


def test_save_from_a_session_replays_its_episode(demo_agent, tmp_path):
    """Trajectory.from_session (File → Save trajectory): the agent's own episode so far, replayed by another
    session, gives the same frames; an episode that followed another without a seed is refused."""
    from snd_player.core.session import Session
    from trainer.envs import make_env

    env = make_env(
        T.Trajectory.from_steps(STICKY, 0, [0]).env_config(demo_agent.env_config), 5, render_rgb=True
    )
    session = Session(demo_agent, env, seed=5)
    played = [session.step() for _ in range(15)]
    traj = T.load(T.save(tmp_path / "t.json", T.Trajectory.from_session(session, "agent")))
    assert (traj.seed, traj.dynamics, len(traj)) == (5, T.env_dynamics(STICKY), 15)
    assert [s.frame_hash for s in replayed(demo_agent, traj)] == [T.frame_hash(r.frame) for r in played]
    session.reset()  # the next episode, without a new seed
    session.step()
    with pytest.raises(T.TrajectoryError, match="did not start from a seed"):
        T.Trajectory.from_session(session)
    session.close()
