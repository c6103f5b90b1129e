"""``snd-player eval``: one seed, one report; statistics as worked out by hand; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_record import tiny_checkpoint


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    import torch

    torch.set_num_threads(1)
    return tiny_checkpoint(tmp_path_factory.getbasetemp())


def run(argv: list[str]) -> int:
    from snd_player.cli.eval import main

    return main([*argv, "--no-progress"])


def without_timing(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "timing"}


def test_same_seed_same_report(ckpt, tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    args = [str(ckpt), "--episodes", "2", "--max-steps", "25", "--seed", "7"]
    assert run([*args, "--out", str(a)]) == 0
    assert "score" in capsys.readouterr().out  # the human summary
    assert run([*args, "--out", str(b), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    ra, rb = json.loads(a.read_text()), json.loads(b.read_text())
    assert without_timing(ra) == without_timing(rb) == without_timing(printed)
    assert a.with_suffix(".csv").read_text() == b.with_suffix(".csv").read_text()

    assert ra["checkpoint"]["algo"] == "snd-v" and ra["checkpoint"]["global_step"] == 2048
    assert ra["episodes"] == 2 and ra["steps"] == 50
    assert [e["seed"] for e in ra["per_episode"]] == [7, 8]
    assert ra["length"] == {"mean": 25.0, "std": 0.0, "min": 25.0, "max": 25.0}
    assert ra["truncated"] == 2
    assert ra["rooms"]["union"] == [[0, 1]]  # Montezuma's start room, level 0
    r = ra["intrinsic"]["r_int"]
    assert 0.0 <= r["mean"] <= r["max"] <= 1.0 and r["std"] >= 0.0

    rows = a.with_suffix(".csv").read_text().splitlines()
    assert rows[0].startswith("episode,seed,score,length,truncated,rooms,rooms_list,r_int_mean,r_int_max")
    assert rows[1].split(",")[:7] == ["0", "7", "0", "25", "1", "1", "0:1"]


def test_another_seed_plays_differently(ckpt, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run([str(ckpt), "--episodes", "1", "--max-steps", "20", "--seed", "1", "--out", str(a)]) == 0
    assert run([str(ckpt), "--episodes", "1", "--max-steps", "20", "--seed", "2", "--out", str(b)]) == 0
    ea, eb = json.loads(a.read_text())["per_episode"][0], json.loads(b.read_text())["per_episode"][0]
    assert ea["r_int_mean"] != eb["r_int_mean"]


def test_statistics_by_hand():
    from snd_player.media.eval import EpisodeResult, build_report

    def ep(i, score, length, rooms, r):
        sq = sum(x * x for x in r)
        return EpisodeResult(
            i, 10 + i, score, length, False, rooms, sum(r), sq, max(r), 2 * sum(r), 4 * sq, 2 * max(r)
        )

    # r_int over all 5 steps: 0.1, 0.3 | 0.2, 0.2, 0.7 -> mean 0.3, E[x^2] = 0.67/5 = 0.134, var 0.044
    results = [ep(0, 100.0, 2, [(0, 1), (0, 0)], [0.1, 0.3]), ep(1, 0.0, 3, [(0, 1)], [0.2, 0.2, 0.7])]
    rep = build_report(results, {"algo": "rnd"}, {}, has_motivation=True)
    assert rep["score"] == {"mean": 50.0, "std": 50.0, "min": 0.0, "max": 100.0}
    assert rep["length"]["mean"] == 2.5 and rep["steps"] == 5
    assert rep["rooms"]["union"] == [[0, 0], [0, 1]] and rep["rooms"]["union_count"] == 2
    assert rep["rooms"]["per_episode"]["mean"] == 1.5
    r = rep["intrinsic"]["r_int"]
    assert r["mean"] == pytest.approx(0.3) and r["std"] == pytest.approx(0.044**0.5) and r["max"] == 0.7
    assert rep["intrinsic"]["error"]["mean"] == pytest.approx(0.6)
    assert rep["per_episode"][1]["r_int_mean"] == pytest.approx(1.1 / 3)
    assert build_report(results, {"algo": "ppo"}, {}, has_motivation=False)["intrinsic"] is None


@pytest.mark.slow
def test_worker_processes_give_the_same_report(ckpt, tmp_path):
    a, b = tmp_path / "one.json", tmp_path / "two.json"
    args = [str(ckpt), "--episodes", "2", "--max-steps", "8", "--seed", "4"]
    assert run([*args, "--out", str(a)]) == 0
    assert run([*args, "--out", str(b), "--num-envs", "2"]) == 0
    assert without_timing(json.loads(a.read_text())) == without_timing(json.loads(b.read_text()))


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def test_bad_inputs(ckpt, tmp_path, capsys):
    assert run([str(ckpt), "--out", str(tmp_path / "report.txt")]) == 2
    assert "report.txt" in one_line_error(capsys)
    (tmp_path / "a-file").write_text("")  # a missing folder is made (issue 12), one under a file cannot be
    assert run([str(ckpt), "--out", str(tmp_path / "a-file" / "sub" / "report.json")]) == 2
    assert "cannot create folder" in one_line_error(capsys)
    assert run([str(ckpt), "--out", "/proc/snd-report.json"]) == 2
    assert "/proc" in one_line_error(capsys)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    assert run([str(bad), "--out", str(tmp_path / "r.json")]) == 2
    assert "bad.safetensors" in one_line_error(capsys)
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "r.csv").exists()
    assert run([str(ckpt), "--episodes", "0", "--out", str(tmp_path / "r.json")]) == 2
    assert "--episodes" in one_line_error(capsys)
