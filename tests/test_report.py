"""``trainer report``: tables, curves, profiles and probability of improvement on synthetic run folders whose
numbers are worked out by hand, and against rliable called directly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trainer import report as rp

# rnd: 4 runs, updates at steps 1000 and 2000, one episode ending in each
RND_A, RND_B = [0, 100, 200, 300], [100, 300, 400, 1100]  # scores at 1000 and 2000 -> means by 2000: 50, 200, 300, 700
RND_ROOMS = [1, 2, 3, 10]  # rooms_total at 2000
# ppo: 4 runs at 1000, the 4th stopped there (total 2000)
PPO_A, PPO_B = [0, 0, 0, 50], [0, 0, 100]


def _run(path: Path, algo: str, seed: int, rows: list[dict], total: int = 2000) -> Path:
    path.mkdir(parents=True)
    cfg = {"algo": algo, "env": "ALE/MontezumaRevenge-v5", "seed": seed, "total_steps": total}
    (path / "config.json").write_text(json.dumps(cfg))
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _row(step: int, scores: list[float], rooms: int, r_int: float = 0.5) -> dict:
    return {"update": step // 1000, "global_step": step, "episode_scores": scores, "rooms_total": rooms, "r_int_mean": r_int}


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    for i in range(4):
        _run(root / f"rnd/montezuma/seed-{i + 1}", "rnd", i + 1,
             [_row(1000, [RND_A[i]], 1), _row(2000, [RND_B[i]], RND_ROOMS[i], r_int=0.1 * (i + 1))])  # fmt: skip
        rows = [_row(1000, [PPO_A[i]], 1)] + ([_row(2000, [PPO_B[i]], 1)] if i < 3 else [])
        _run(root / f"ppo/montezuma/seed-{i + 1}", "ppo", i + 1, rows)
    return root


def _entry(doc: dict, algo: str, at: int, metric: str) -> dict:
    return next(e for e in doc["table"] if e["algo"] == algo and e["at"] == at and e["metric"] == metric)


def test_table_matches_hand_worked_values(runs: Path, tmp_path: Path) -> None:
    doc = rp.report([runs], tmp_path / "rep", at=[1000, 2000], compare=("rnd", "ppo"), reps=100, curve_reps=30, points=2)
    s = _entry(doc, "rnd", 2000, "score")  # scores 50, 200, 300, 700: IQM drops one each side -> (200 + 300) / 2
    assert (s["runs"], s["of"]) == (4, 4)
    assert s["iqm"] == pytest.approx(250) and s["median"] == pytest.approx(250) and s["mean"] == pytest.approx(312.5)
    assert s["iqm_lo"] <= s["iqm"] <= s["iqm_hi"] and 50 <= s["iqm_lo"] and s["iqm_hi"] <= 700
    s = _entry(doc, "rnd", 1000, "score")  # 0, 100, 200, 300
    assert (s["iqm"], s["median"], s["mean"]) == pytest.approx((150, 150, 150))
    r = _entry(doc, "rnd", 2000, "rooms")  # 1, 2, 3, 10
    assert (r["iqm"], r["median"], r["mean"]) == pytest.approx((2.5, 2.5, 4))
    # ppo: the 4th run stopped at 1000: in the 1000 column, not in the 2000 one, and said so
    p = _entry(doc, "ppo", 2000, "score")  # 0, 0, 50: trim_mean(0.25) cuts floor(0.75) = 0 runs -> the mean
    assert (p["runs"], p["of"]) == (3, 4) and p["stopped_before"] == [str(runs / "ppo/montezuma/seed-4")]
    assert p["iqm"] == pytest.approx(50 / 3) and p["median"] == pytest.approx(0)
    assert _entry(doc, "ppo", 1000, "score")["runs"] == 4
    # P(rnd > ppo) at 2000: of the 4 x 3 pairs, 50 vs 50 is a tie (1/2) and the other 11 are won -> 11.5 / 12
    (poi,) = [e for e in doc["improvement"] if e["game"] == "montezuma"]
    assert poi["p"] == pytest.approx(11.5 / 12) and poi["runs"] == [4, 3] and poi["lo"] <= poi["p"] <= poi["hi"]
    # curves at the equal steps 1000 and 2000: IQM over the runs that got there
    c = doc["curves"]["montezuma"]
    assert c["steps"] == [1000, 2000]
    assert c["rnd"]["score"]["iqm"] == pytest.approx([150, 250])
    assert c["ppo"]["score"]["iqm"] == pytest.approx([0, 50 / 3])
    assert c["rnd"]["r_int"]["iqm"] == pytest.approx([0.5, 0.25])  # 0.1..0.4 -> (0.2 + 0.3) / 2
    assert "r_int" not in c["ppo"]  # PPO has no intrinsic reward: no curve, not a flat 0 (it was one)


def test_markdown_embeds_figures_and_says_which_runs_stopped(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    rp.report([runs], out, at=[1000, 2000], compare=("rnd", "ppo"), reps=100, curve_reps=20, points=4)
    md = (out / "report.md").read_text()
    assert "![montezuma curves](curves-montezuma.png)" in md and "![performance profiles](profiles.png)" in md
    for png in ("curves-montezuma.png", "profiles.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"`{runs / 'ppo/montezuma/seed-4'}` (ppo, montezuma): step 1,000 of 2,000" in md
    assert "| ppo | 2k | 3 of 4 |" in md and "| rnd | 2k | 4 | 250 [" in md
    assert "| montezuma | 2k | 4 vs 3 | 0.96 |" in md


@pytest.mark.filterwarnings("ignore::FutureWarning")  # arch, inside rliable: random_state is deprecated
def test_estimates_are_rliables(runs: Path) -> None:
    """The table's numbers are what rliable itself gives for the same scores, resamples and seed."""
    from rliable import library, metrics

    x = np.array([50.0, 200, 300, 700])
    mine = rp.summary(x, reps=300, seed=7)
    func = lambda s: np.array([metrics.aggregate_iqm(s), np.median(s), metrics.aggregate_mean(s)])  # noqa: E731
    point, ci = library.get_interval_estimates({"a": x.reshape(-1, 1)}, func, reps=300, random_state=np.random.RandomState(7))
    assert [mine["iqm"], mine["median"], mine["mean"]] == pytest.approx(point["a"].tolist())
    assert [mine["iqm_lo"], mine["iqm_hi"]] == pytest.approx(ci["a"][:, 0].tolist())
    y = np.array([0.0, 0, 50])
    p = rp.probability_of_improvement(x.reshape(-1, 1), y.reshape(-1, 1), reps=300, seed=7)
    assert p["p"] == pytest.approx(metrics.probability_of_improvement(x.reshape(-1, 1), y.reshape(-1, 1)))


def test_equal_runs_give_a_zero_width_interval() -> None:
    s = rp.summary(np.full(5, 42.0), reps=100, seed=0)
    assert (s["iqm"], s["iqm_lo"], s["iqm_hi"], s["median"], s["mean"]) == pytest.approx((42,) * 5)


def test_score_at_a_step_is_the_running_mean_of_the_last_100_episodes(tmp_path: Path) -> None:
    rows = [_row(1000, list(range(150)), 1), _row(2000, [], 2)]  # 150 episodes by 1000; none in the 2nd update
    run = rp.read_run(_run(tmp_path / "r", "rnd", 1, rows))
    assert run.at("score", 999) != run.at("score", 999)  # nan: no episode had ended
    assert run.at("score", 1500) == pytest.approx(np.mean(range(50, 150)))
    assert run.at("rooms", 1999) == 1 and run.at("rooms", 2000) == 2
    assert np.isnan(run.at("rooms", 2001))  # past the run's last step


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--at", "2x"], "--at: invalid step count '2x'"),
        (["--compare", "rnd"], "--compare 'rnd': expected two different algos"),
        (["--compare", "rnd,snd-v"], "--compare: no runs of snd-v (have: ppo, rnd)"),
        (["--reps", "0"], "--reps 0: expected 1 or more"),
    ],
)
def test_bad_input_is_one_line(runs: Path, tmp_path: Path, capsys, argv: list[str], said: str) -> None:
    out = tmp_path / "rep"
    assert rp.main([str(runs), "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0] and not out.exists()


def test_a_folder_without_runs_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert rp.main([str(tmp_path / "empty"), "--out", str(tmp_path / "rep")]) == 2
    assert "no run folders in it" in capsys.readouterr().err
