"""The bundled demo checkpoint: it loads, plays, fills StepRecords, and its float16 storage changes nothing."""

import json
import math
from pathlib import Path

import numpy as np

from snd_player.core.session import Session
from tests.load_script import load_script
from trainer.agent import load_agent
from trainer.checkpoint import read_metadata

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "snd_player" / "assets" / "demo.safetensors"


def test_demo_is_small_and_says_how_it_was_trained():
    assert DEMO.stat().st_size <= 40 * 1024 * 1024
    meta = read_metadata(DEMO)
    assert meta["algo"] == "snd-v" and meta["env_id"] == "ALE/MontezumaRevenge-v5"
    assert meta["global_step"] > 0 and meta["wall_time_s"] > 0
    assert "trainer train" in meta["demo"]["trained_with"]


def test_demo_plays_100_frames_with_every_field_the_player_needs():
    s = Session.from_checkpoint(DEMO, seed=0)
    try:
        records = [s.step() for _ in range(100)]
    finally:
        s.close()
    assert [r.t for r in records[:3]] == [0, 1, 2]
    for r in records:
        assert r.frame.shape == (210, 160, 3) and r.frame.dtype == np.uint8
        assert r.obs.shape == (4, 84, 84)
        assert np.isclose(r.probs.sum(), 1.0, atol=1e-4) and 0 <= r.action < len(r.probs)
        assert r.features.shape == (512,) and np.all(np.isfinite(r.features))
        for name in ("r_int", "int_error", "v_ext", "v_int", "entropy", "score"):
            assert math.isfinite(getattr(r, name)), name
        assert 0.0 <= r.r_int <= 1.0
        assert r.room >= 0 and r.level >= 0


def test_float16_storage_keeps_the_greedy_actions_of_full_precision():
    """scripts/make_demo.py recorded the full-precision agent's greedy actions on a fixed episode."""
    from trainer.envs import make_env

    ref = json.loads((ROOT / "tests" / "data" / "demo_greedy_actions.json").read_text())
    agent = load_agent(DEMO)
    env = make_env(agent.env_config, ref["seed"])
    obs, _ = env.reset(seed=ref["seed"])
    actions = []
    for _ in range(len(ref["actions"])):
        a = int(agent.act(obs[None], greedy=True).action[0])
        actions.append(a)
        obs, _, term, trunc, _ = env.step(a)
        if term or trunc:
            break
    env.close()
    assert actions == ref["actions"]


def _refresh_demo():
    return load_script(ROOT / "scripts" / "refresh_demo.py")


def test_refresh_demo_films_the_episode_that_went_furthest():
    pick = _refresh_demo().best_episode_seed
    ep = lambda seed, rooms, score: {"seed": seed, "rooms": [[0, r] for r in rooms], "score": score}  # noqa: E731
    report = {"per_episode": [ep(0, [1], 0.0), ep(1, [1, 0], 0.0), ep(2, [1], 400.0), ep(3, [1, 0], 100.0)]}
    assert pick(report) == 3, "most rooms first, then the score"
    report["per_episode"].append(ep(4, [1, 0], 100.0))
    assert pick(report) == 3, "a tie goes to the lower seed"
    assert pick({"per_episode": [ep(5, [1], 0.0), ep(6, [1], 100.0)]}) == 6


def test_refresh_demo_names_a_missing_checkpoint_and_touches_nothing(tmp_path, capsys):
    (tmp_path / "checkpoints").mkdir()
    demo = tmp_path / "demo.safetensors"
    argv = [str(tmp_path), "--step", "123", "--command", "x", "--docs", str(tmp_path / "docs"), "--demo", str(demo)]
    assert _refresh_demo().main(argv) == 2
    assert "000000000123.safetensors: no such checkpoint" in capsys.readouterr().out
    assert not demo.exists() and not (tmp_path / "docs").exists()
