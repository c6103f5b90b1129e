"""scripts/plot_metrics.py: the authors' reference values it draws, and a plot with them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.load_script import load_script

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "data" / "authors-sndv-mr-early.csv"


def _plot_metrics():
    return load_script(ROOT / "scripts" / "plot_metrics.py")


def test_the_authors_reference_is_six_runs_at_four_points_with_steps_of_128_envs():
    rows = _plot_metrics().read_reference(REFERENCE)
    assert len(rows) == 24 and {r["run"] for r in rows} == {f"ppo_cnd_21_{k}" for k in range(3, 9)}
    assert {r["iteration"] for r in rows} == {3840.0, 7680.0, 11520.0, 15360.0}
    assert all(r["steps"] == 128 * r["iteration"] for r in rows)
    # eta = 0.5: the logged reward is about half the predictor loss before the first exit
    early = [r for r in rows if r["iteration"] <= 7680]
    assert all(0.3 < r["im_mean"] / r["loss_cnd"] < 0.7 for r in early)


def test_plot_with_the_reference_and_the_target_magnitude(tmp_path):
    rows = [
        {"update": i + 1, "global_step": 4096 * (i + 1), "wall_time_s": 30.0 * (i + 1), "episode_scores": [0.0],
         "score_mean": 0.0, "rooms_total": 1, "rooms_episode_mean": 1.0, "r_int_mean": 0.2 / (i + 1),
         "r_int_std": 0.01, "loss_predictor": 0.01, "loss_target": 0.02, "loss_value_int": 0.001,
         "target_magnitude": 1.5}
        for i in range(30)
    ]  # fmt: skip
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "curves.png"
    assert _plot_metrics().main([str(tmp_path), "--out", str(out), "--reference", str(REFERENCE)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000


def test_until_plots_the_run_up_to_a_checkpoint(tmp_path, capsys):
    rows = [{"update": i + 1, "global_step": 4096 * (i + 1), "wall_time_s": 30.0 * (i + 1), "score_mean": float(i),
             "loss_predictor": 0.01}
            for i in range(30)]  # fmt: skip
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "curves.png"
    main = _plot_metrics().main
    assert main([str(tmp_path), "--out", str(out), "--until", str(4096 * 10)]) == 0
    assert capsys.readouterr().out.strip() == f"{out}: 10 updates"
    assert main([str(tmp_path), "--out", str(out), "--until", "4095"]) == 2
    assert capsys.readouterr().err.strip() == f"plot_metrics: no rows up to step 4,095 in {tmp_path / 'metrics.jsonl'}"


def test_a_missing_or_malformed_reference_is_one_line_and_status_2(tmp_path, capsys):
    (tmp_path / "metrics.jsonl").write_text(
        json.dumps({"update": 1, "global_step": 4096, "score_mean": 0.0}) + "\n"
    )
    bad = {
        "absent.csv": None,
        "columns.csv": "run,steps,im_mean\nx,1,0.1\n",
        "numbers.csv": "# a comment\nrun,steps,im_mean,loss_cnd\nx,1,0.1,0.2\ny,2,n/a,0.2\n",
        "empty.csv": "run,steps,im_mean,loss_cnd\n",
    }
    expect = {"absent.csv": "cannot read", "columns.csv": "missing loss_cnd", "numbers.csv": "data row 2",
              "empty.csv": "no rows"}  # fmt: skip
    for name, text in bad.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        out = tmp_path / f"{name}.png"
        assert _plot_metrics().main([str(tmp_path), "--out", str(out), "--reference", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(path) in err and expect[name] in err, err
        assert not out.exists(), "nothing drawn from a reference that could not be read"
