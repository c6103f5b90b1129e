"""scripts/plot_metrics.py: the authors' reference values it draws, and a plot with them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "data" / "authors-sndv-mr-early.csv"


def _plot_metrics():
    spec = importlib.util.spec_from_file_location("plot_metrics", ROOT / "scripts" / "plot_metrics.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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
