"""Drive mode (issue 21, item 1): the keyboard takes the game in the window, every panel works on the
person's states, hand-back continues from the same state, and File → Save trajectory replays exactly.

Keys go through pytest-qt's key events on the offscreen platform, into the window's thread worker."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PyQt6.QtCore import Qt  # noqa: E402

from snd_player.core import trajectory as T  # noqa: E402
from snd_player.core.drive import drive_action  # noqa: E402
from tests.test_player import WAIT_MS, collect, window  # noqa: E402, F401 - fixtures
from tests.test_session import make_session, tiny_agent, tiny_checkpoint  # noqa: E402, F401 - fixtures
from trainer.envs import make_env  # noqa: E402

K = Qt.Key
MR_ACTIONS = ("NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN", "UPRIGHT", "UPLEFT", "DOWNRIGHT", "DOWNLEFT",
              "UPFIRE", "RIGHTFIRE", "LEFTFIRE", "DOWNFIRE", "UPRIGHTFIRE", "UPLEFTFIRE", "DOWNRIGHTFIRE",
              "DOWNLEFTFIRE")  # fmt: skip
PROCGEN_ACTIONS = ("LEFT+DOWN", "LEFT", "LEFT+UP", "DOWN", "NOOP", "UP", "RIGHT+DOWN", "RIGHT", "RIGHT+UP",
                   "FIRE", "BUTTON_A", "BUTTON_W", "BUTTON_S", "BUTTON_Q", "BUTTON_E")  # fmt: skip


def test_held_controls_spell_the_games_action_names():
    def name(controls, names=MR_ACTIONS, procgen=False):
        return names[drive_action(names, controls, procgen)]

    assert name(()) == "NOOP" and name(("fire",)) == "FIRE"
    assert name(("up", "right")) == "UPRIGHT" and name(("up", "right", "fire")) == "UPRIGHTFIRE"
    assert name(("down", "left", "fire")) == "DOWNLEFTFIRE"
    assert name(("up", "down")) == "NOOP" and name(("left", "right", "up")) == "UP"  # opposites cancel
    pong = ("NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE")  # no UP: the nearest it has
    assert name(("up", "right", "fire"), pong) == "RIGHTFIRE" and name(("up",), pong) == "NOOP"
    assert name(("left", "up"), PROCGEN_ACTIONS, True) == "LEFT+UP"
    assert name(("fire", "left"), PROCGEN_ACTIONS, True) == "FIRE"  # no direction+button combos there
    assert name(("button_q",), PROCGEN_ACTIONS, True) == "BUTTON_Q"


def test_session_takes_a_persons_action_and_keeps_it_across_seeks(tiny_agent, tiny_checkpoint):  # noqa: F811
    s = make_session(tiny_agent, tiny_checkpoint, seed=4, keyframe_every=4)
    try:
        recs = [s.step() for _ in range(3)] + [s.step(2), s.step(2), s.step(5)] + [s.step() for _ in range(3)]
        assert [r.chooser for r in recs] == ["agent"] * 3 + ["human"] * 3 + ["agent"] * 3
        assert [r.action for r in recs[3:6]] == [2, 2, 5]
        assert all(r.agent_action == r.action for r in recs[:3] + recs[6:])
        assert s.played_choosers == [r.chooser for r in recs] and s.played_actions == [r.action for r in recs]
        # seek back into the driven steps, then play the known future: the same actions, frames and choosers
        back = s.seek(4)
        assert back.chooser == "human" and back.action == 2 and np.array_equal(back.frame, recs[4].frame)
        again = [s.step() for _ in range(4)]
        assert [(r.t, r.action, r.chooser) for r in again] == [(r.t, r.action, r.chooser) for r in recs[5:]]
        assert all(np.array_equal(a.frame, r.frame) for a, r in zip(again, recs[5:]))
        # another action inside the known future drops what followed it
        s.seek(1)
        other = next(a for a in range(len(s.action_meanings)) if a != recs[2].action)
        assert s.step(other).chooser == "human" and s.horizon == 3 and len(s.timeline) == 3
        with pytest.raises(Exception, match="not one of this game's 18"):
            s.step(18)
    finally:
        s.close()


def env_frames(agent, seed: int, actions: list[int]) -> list[str]:
    """Frame hashes of s_0..s_n-1 from the env alone, stepped with ``actions`` (no network)."""
    env = make_env(agent.env_config, seed, render_rgb=True)
    _, info = env.reset(seed=seed)
    out = []
    for a in actions:
        out.append(T.frame_hash(info["rgb"]))
        _, _, _, _, info = env.step(a)
    env.close()
    return out


def key(qtbot, win, k) -> None:
    qtbot.keyClick(win, k)


def test_drive_the_window_by_keys_hand_back_and_save(qtbot, window, tiny_agent, tmp_path):  # noqa: F811
    win = window
    recs = collect(win)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    win.play(3)  # three agent steps first
    qtbot.waitUntil(lambda: len(recs) == 3 and not win.playing, timeout=WAIT_MS)

    qtbot.keyClick(win, K.Key_F2)
    assert win.drive.active and win.act_drive.isChecked() and win.drive_button.isChecked()
    presses = [(K.Key_Up, "UP"), (K.Key_D, "RIGHT"), (K.Key_Space, "FIRE"), (K.Key_Down, "DOWN")]
    for k, want in presses:
        n = len(recs)
        key(qtbot, win, k)
        qtbot.waitUntil(lambda n=n: len(recs) == n + 1, timeout=WAIT_MS)
        assert recs[-1].action_name == want and recs[-1].chooser == "human"
    # two keys together: the diagonal with fire
    n = len(recs)
    qtbot.keyPress(win, K.Key_Up)
    qtbot.keyPress(win, K.Key_Left)
    qtbot.keyPress(win, K.Key_Space)
    for k in (K.Key_Space, K.Key_Left, K.Key_Up):
        qtbot.keyRelease(win, k)
    qtbot.waitUntil(lambda: len(recs) >= n + 3, timeout=WAIT_MS)
    assert [r.action_name for r in recs[n : n + 3]] == ["UP", "UPLEFT", "UPLEFTFIRE"]
    qtbot.wait(200)  # held-key steps sent before the releases come back too
    assert not win.playing and win.drive.timer.isActive() is False

    driven = [r for r in recs if r.chooser == "human"]
    assert [r.t for r in recs] == list(range(len(recs)))  # one episode, no step lost or repeated
    assert len(driven) >= 7
    # the env took the keys' actions: its own frames, stepped alone with them, are the window's
    assert [T.frame_hash(r.frame) for r in recs] == env_frames(tiny_agent, 4, [r.action for r in recs])
    # every panel is on the person's last state, the policy marks the person's action beside the agent's
    qtbot.waitUntil(lambda: win.last is recs[-1], timeout=WAIT_MS)
    win.draw_now()
    last = recs[-1]
    assert win.cursor == last.t and len(win.timeline) == len(recs)
    assert len(win.intrinsic.reward.yData) == len(recs) and len(win.values.v_int.yData) == len(recs)
    assert win.policy.human == last.action and win.policy.chosen == last.agent_action
    assert win.policy.title().startswith(f"you {last.action_name}")
    assert win.slider.driven == [(3, len(recs))] and win.values.driven.spans == [(3, len(recs))]
    assert win.intrinsic.driven[0].spans == [(3, len(recs))]
    assert int(win.timeline.array("driven").sum()) == len(driven)

    # Backspace steps back onto a driven step; Right (a drive key) then plays it again as it was
    n = len(recs)
    key(qtbot, win, K.Key_Backspace)
    qtbot.waitUntil(lambda: len(recs) == n + 1, timeout=WAIT_MS)
    assert recs[-1].t == last.t - 1 and recs[-1].chooser == "human" and win.horizon == len(driven) + 3

    # save the episode up to the step on screen, then hand back
    path = tmp_path / "drive.json"
    win.drive.save(path)
    qtbot.waitUntil(path.exists, timeout=WAIT_MS)
    traj = T.load(path)
    assert len(traj) == last.t  # steps 0..t-1 of the step on screen (t = last.t - 1), inclusive
    assert list(traj.actions) == [r.action for r in recs[: last.t]]
    assert list(traj.chooser) == [r.chooser for r in recs[: last.t]]
    session = T.open_replay(tiny_agent, traj)
    try:
        hashes = [s.frame_hash for s in T.replay(session, traj)]
    finally:
        session.close()
    assert hashes == [T.frame_hash(r.frame) for r in recs[: last.t]]

    # hand back (F2): the agent plays on from the state on screen, steps t+1.. of the same episode
    n = len(recs)
    qtbot.keyClick(win, K.Key_F2)
    assert not win.drive.active
    qtbot.waitUntil(lambda: len(recs) >= n + 3, timeout=WAIT_MS)
    win.pause()
    qtbot.waitUntil(lambda: not win.playing, timeout=WAIT_MS)
    after = recs[n:]
    assert after[0].t == recs[n - 1].t + 1
    # the known future is played first (the driven step stepped back over, as it was), then the agent's
    assert (after[0].chooser, after[0].action) == ("human", last.action) and after[0].t == last.t
    assert all(r.chooser == "agent" for r in after[1:])
    ep = recs[: recs[n - 1].t + 1] + after
    assert [r.t for r in ep] == list(range(len(ep)))
    assert [T.frame_hash(r.frame) for r in ep] == env_frames(tiny_agent, 4, [r.action for r in ep])


def test_a_held_key_steps_at_the_real_time_rate_until_released(qtbot, window):  # noqa: F811
    win = window
    recs = collect(win)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    win.drive.set_active(True)
    qtbot.keyPress(win, K.Key_Up)  # one press, held: a ladder climbed by holding ↑
    qtbot.waitUntil(lambda: len(recs) >= 6, timeout=WAIT_MS)
    qtbot.keyRelease(win, K.Key_Up)
    assert not win.drive.timer.isActive()
    sent = win.drive.sent
    qtbot.waitUntil(lambda: len(recs) == sent, timeout=WAIT_MS)
    qtbot.wait(300)
    assert len(recs) == sent and all(r.action_name == "UP" and r.chooser == "human" for r in recs)
    # one step per press with the repeat off
    win.act_drive_repeat.trigger()
    assert not win.drive.repeat
    qtbot.keyPress(win, K.Key_Left)
    qtbot.waitUntil(lambda: len(recs) == sent + 1, timeout=WAIT_MS)
    qtbot.wait(300)
    qtbot.keyRelease(win, K.Key_Left)
    assert len(recs) == sent + 1 and recs[-1].action_name == "LEFT"
    # Escape hands back; the agent plays
    qtbot.keyClick(win, K.Key_Escape)
    qtbot.waitUntil(lambda: not win.drive.active and win.playing, timeout=WAIT_MS)
    win.pause()


def test_driving_a_session_in_its_child_process_and_saving_from_there(qtbot, tmp_path, tiny_checkpoint):  # noqa: F811
    """The app's set-up: the session steps in a child process; the keys' actions and the save reach it."""
    from PyQt6.QtCore import QSettings

    from snd_player.app.main_window import MainWindow
    from snd_player.core.session import Session

    win = MainWindow(
        settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), session_process=True
    )
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    win.set_session(Session.from_checkpoint(tiny_checkpoint, seed=2), autoplay=False)
    recs = collect(win)
    qtbot.keyClick(win, K.Key_F2)
    for k in (K.Key_Right, K.Key_Right, K.Key_Up):
        n = len(recs)
        qtbot.keyClick(win, k)
        qtbot.waitUntil(lambda n=n: len(recs) == n + 1, timeout=WAIT_MS)
    assert [(r.t, r.action_name, r.chooser) for r in recs] == [
        (0, "RIGHT", "human"), (1, "RIGHT", "human"), (2, "UP", "human")
    ]  # fmt: skip
    path = tmp_path / "p.json"
    win.drive.save(path)
    qtbot.waitUntil(path.exists, timeout=WAIT_MS)
    traj = T.load(path)
    assert (traj.seed, list(traj.actions), list(traj.chooser)) == (2, [3, 3, 2], ["human"] * 3)
    qtbot.waitUntil(lambda: "saved" in win.statusBar().currentMessage(), timeout=WAIT_MS)
    assert "3 steps, 3 driven" in win.statusBar().currentMessage()
    win.release()


def test_policy_panel_paints_the_persons_action_pink_and_the_agents_yellow(qtbot):
    import types

    from snd_player.app.widgets import theme
    from snd_player.app.widgets.policy import PolicyBars
    from tests.test_player_panels import close, pixel

    w = PolicyBars(list(MR_ACTIONS))
    qtbot.addWidget(w)
    w.resize(300, 600)
    w.show()
    probs = np.zeros(18, np.float32)
    probs[[0, 5, 7]] = [0.5, 0.25, 0.25]
    rec = types.SimpleNamespace(
        episode=0, t=3, probs=probs, action=5, action_name="DOWN", entropy=1.04, chooser="human",
        driven=True, agent_action=7,
    )  # fmt: skip
    w.show_record(rec)
    bars = w.bar_rects()
    assert (w.human, w.chosen) == (5, 7)
    assert close(pixel(w, bars[5].center().x(), bars[5].center().y()), theme.DRIVEN)
    assert close(pixel(w, bars[7].center().x(), bars[7].center().y()), theme.CHOSEN)
    assert close(pixel(w, bars[0].center().x(), bars[0].center().y()), theme.BAR)
    assert w.title() == "you DOWN  p = 0.25\nagent UPLEFT  p = 0.25 · H 1.04"
    # the agent's own step at the same t: no person's mark, the taken action yellow again
    w.show_record(
        types.SimpleNamespace(
            **{**vars(rec), "chooser": "agent", "driven": False, "action": 7, "action_name": "UPLEFT"}
        )
    )
    assert w.human == -1 and w.chosen == 7 and w.title().startswith("UPLEFT")


def test_stepper_takes_acts_in_order_drops_them_on_a_seek_and_says_why_it_cannot_save(
    tiny_agent,  # noqa: F811 - fixture
    tiny_checkpoint,  # noqa: F811 - fixture
    tmp_path,
):
    from snd_player.core.stepper import Stepper

    s = make_session(tiny_agent, tiny_checkpoint, seed=4, keyframe_every=4)
    batches, said = [], []
    st = Stepper(s, None, on_batch=batches.append, on_failed=said.append, on_state=lambda _s: None)

    def drain() -> list:
        start = len(batches)
        while st.interval() is not None:
            st.tick()
            st._in_flight = 0  # the window took every batch
        return [r for b in batches[start:] for r in b.records]

    for a in (2, 3, 5):
        st.command("act", a)
    assert [(r.t, r.action, r.chooser) for r in drain()] == [
        (0, 2, "human"),
        (1, 3, "human"),
        (2, 5, "human"),
    ]
    st.command("act", 4)
    st.command("seek", 0)  # the user jumped away before the key's step was taken: it is dropped
    assert [(r.t, r.action) for r in drain()] == [(0, 2)]
    st.command("act", 99)
    assert drain() == [] and said[-1] == "action 99 is not one of this game's 18"
    st.command("save_trajectory", str(tmp_path / "a.json"))
    assert said[-1] == f"saved {tmp_path / 'a.json'}: 1 steps, 1 driven"
    s.reset()  # an episode that follows another without a seed cannot be replayed from a file
    st.command("act", 2)
    drain()
    st.command("save_trajectory", str(tmp_path / "b.json"))
    assert "did not start from a seed" in said[-1] and not (tmp_path / "b.json").exists()
    st.close()
