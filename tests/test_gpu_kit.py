"""The GPU kit's dry run: scripts/gpu/run_kit.py end to end on the CPU with a tiny budget and without the
wheel install, so everything but the GPU figures is proven here (issue 9, item 9)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.load_script import load_script
from trainer.agent import load_agent
from trainer.checkpoint import read_metadata

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "scripts" / "gpu"


def _load_run_kit():
    return load_script(KIT / "run_kit.py")


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> tuple[Path, Path, str]:
    base = tmp_path_factory.mktemp("kit")
    out = base / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    args = [sys.executable, str(KIT / "run_kit.py"), "--out", str(out), "--device", "cpu", "--no-install",
            "--tiny", "--train-minutes", "0.01", "--eval-episodes", "1", "--eval-max-steps", "20",
            "--gif-frames", "6"]  # fmt: skip
    p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    report = base / "report"
    with tarfile.open(out / "report.tar.gz") as tar:
        tar.extractall(base, filter="data")
    return out, report, p.stdout


def test_the_dry_run_writes_every_output(dry_run) -> None:
    out, report, stdout = dry_run
    names = sorted(p.name for p in out.iterdir())
    assert len(names) <= 8, "the device tool returns at most 8 files"
    assert "report.tar.gz" in names and "dashboard.gif" in names
    for name in ("facts.json", "bench.jsonl", "config.json", "metrics.jsonl", "curves.png", "eval.json",
                 "eval.csv", "kit.log", "JOIN.txt"):  # fmt: skip
        assert (report / name).stat().st_size > 0, name
    bench = [json.loads(line) for line in (report / "bench.jsonl").read_text().splitlines()]
    assert [b["algo"] for b in bench] == ["ppo", "rnd", "snd-v"]
    assert all(b["train_steps_per_s"] > 0 and b["env_steps_per_s"] > 0 for b in bench)
    assert bench[2]["reward_fp32_s_per_rollout"] > 0, "the float32 reward's cost is reported"
    config = json.loads((report / "config.json").read_text())
    assert config["algo"] == "snd-v" and config["preset"] == "paper" and config["max_minutes"] == 0.01
    assert config["critic_relu"] is True and config["env_cfg"]["noop_max"] == 30
    rows = [json.loads(line) for line in (report / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 1, "--max-minutes stopped it after the first update"
    assert json.loads((report / "eval.json").read_text())["per_episode"][0]["length"] == 20
    assert "--max-minutes 0.01 reached" in (report / "kit.log").read_text()
    assert json.loads((report / "facts.json").read_text())["cuda_available"] is False


def test_the_checkpoint_parts_join_into_a_float16_agent(dry_run, tmp_path) -> None:
    out, report, _ = dry_run
    parts = sorted(out.glob("agent-fp16.safetensors.part-*"))
    assert parts and all(p.stat().st_size <= 15 * 2**20 for p in parts)
    join = (report / "JOIN.txt").read_text().splitlines()
    assert join[0] == "cat agent-fp16.safetensors.part-* > agent-fp16.safetensors"
    for p in parts:
        (tmp_path / p.name).write_bytes(p.read_bytes())
    subprocess.run(join[0], shell=True, cwd=tmp_path, check=True)
    whole = tmp_path / "agent-fp16.safetensors"
    assert hashlib.sha256(whole.read_bytes()).hexdigest() in join[1]
    agent = load_agent(whole)
    assert agent.config.algo == "snd-v" and read_metadata(whole)["global_step"] == 32
    from safetensors import safe_open

    with safe_open(str(whole), "pt") as f:
        assert f.get_tensor("policy.value_ext.weight").dtype.itemsize == 2, "weights stored as float16"


def test_without_qt_the_kit_prints_the_gif_command(tmp_path, capsys) -> None:
    run_kit = _load_run_kit()
    kit = run_kit.Kit(tmp_path / "out", tmp_path / "work", dict(os.environ))
    run_kit.dashboard_gif(kit, tmp_path / "best.safetensors", 300, qt=False)
    said = capsys.readouterr().out
    assert "snd-player record agent-fp16.safetensors --out dashboard.gif --frames 300 --panels" in said
    assert not (tmp_path / "out" / "dashboard.gif").exists()


def test_the_fetched_wheels_are_the_versions_the_tests_run() -> None:
    pins = re.findall(r"^\s+([a-z0-9-]+)==([0-9.]+)", (KIT / "fetch_wheels.sh").read_text(), re.M)
    assert {name for name, _ in pins} >= {"ale-py", "gymnasium", "tyro"}
    for name, version in pins:
        assert importlib.metadata.version(name) == version, name
