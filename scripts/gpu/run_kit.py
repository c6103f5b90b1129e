"""The GPU kit, part 2 (run THERE, on the borrowed GPU machine): one command from bare image to figures and
a trained agent, within 8 minutes of wall-clock.

    python3 scripts/gpu/run_kit.py --out "$OUT"                     # on the GPU machine, repo root
    python3 scripts/gpu/run_kit.py --out /tmp/kit --device cpu --no-install --tiny   # the dry run here

Steps: install the wheels of scripts/gpu/wheels (``fetch_wheels.sh`` fetched them here) with
``pip install --no-index --no-deps --target``; print nvidia-smi and torch facts; ``trainer bench`` for
ppo, rnd and snd-v (paper encoder, 128 envs, one env worker per CPU core); train SND-V on Montezuma's
Revenge at the paper's settings (``--preset paper``) for ``--train-minutes`` (``trainer train
--max-minutes``); plot its curves; evaluate its best checkpoint; record a 20 s dashboard gif where Qt
imports; package the best checkpoint in float16, split into parts of at most 15 MiB.

What lands in --out (the device tool returns at most 8 files, so the small ones travel as one archive):

- ``report.tar.gz``: facts.json (machine, torch, GPU), bench.jsonl (one ``trainer bench --json`` line per
  algo), config.json and metrics.jsonl of the run, curves.png, eval.json and eval.csv, kit.log (every
  command with its output), JOIN.txt (how to rebuild the checkpoint, with its sha256);
- ``dashboard.gif`` when PyQt6 and pyqtgraph import (the dashboard is painted with Qt; PyQt6 is too big to
  carry, so on the GPU image the kit prints the one command that makes the gif here instead);
- ``agent-fp16.safetensors.part-NN``: the best checkpoint, weights in float16.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WHEELS = Path(__file__).resolve().parent / "wheels"
PART_BYTES = 15 * 2**20
ALGOS = ("ppo", "rnd", "snd-v")
ENV = "ALE/MontezumaRevenge-v5"
GIF_FRAMES = 300  # 20 s at 15 agent steps/s (60 Hz emulator, frame skip 4)
# The dry run's sizes: every step of the kit on a 2-core CPU in about a minute.
TINY_BENCH = ["--num-envs", "2", "--rollout-steps", "16", "--updates", "1", "--num-workers", "0", "--encoder",
              "nature"]  # fmt: skip
TINY_TRAIN = ["--num-envs", "2", "--ppo.rollout-steps", "16", "--ppo.minibatch-size", "16", "--encoder",
              "nature", "--obs-norm-init-steps", "2", "--num-workers", "0"]  # fmt: skip


class Kit:
    """Runs the steps, logs every command and its output to kit.log, and times each step."""

    def __init__(self, out: Path, work: Path, env: dict[str, str]) -> None:
        self.out, self.work, self.env = out, work, env
        self.report = work / "report"
        self.report.mkdir(parents=True, exist_ok=True)
        self.log = (self.report / "kit.log").open("a")
        self.t0 = time.monotonic()

    def say(self, text: str) -> None:
        line = f"[kit {time.monotonic() - self.t0:6.1f}s] {text}"
        print(line, flush=True)
        self.log.write(line + "\n")
        self.log.flush()

    def run(self, args: list[str], check: bool = True, timeout: float | None = None) -> str:
        """Run a command with the kit's environment; its output goes to kit.log and is returned."""
        self.say("$ " + shlex.join(args))
        p = subprocess.run(
            args, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=timeout,
        )  # fmt: skip
        self.log.write(p.stdout)
        self.log.flush()
        if p.returncode != 0 and check:
            tail = "\n".join(p.stdout.strip().splitlines()[-5:])
            raise SystemExit(
                f"run_kit: {args[2] if len(args) > 2 else args[0]} failed ({p.returncode}):\n{tail}"
            )
        return p.stdout


def install_wheels(wheels: Path, site: Path) -> None:
    found = sorted(wheels.glob("*.whl"))
    if not found:
        raise SystemExit(f"run_kit: no wheels in {wheels}; run scripts/gpu/fetch_wheels.sh here first")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
         "--no-cache-dir", "--upgrade", "--target", str(site), *map(str, found)],
        check=True,
    )  # fmt: skip


FACTS = """
import json, os, platform, sys
import numpy, torch
f = {"python": sys.version.split()[0], "numpy": numpy.__version__, "torch": torch.__version__,
     "cuda_available": torch.cuda.is_available(), "cpu_count": os.cpu_count(), "machine": platform.machine()}
for name in ("ale_py", "gymnasium", "tyro", "typeguard", "typing_extensions", "cv2", "PyQt6"):
    try:
        mod = __import__(name)
        f[name] = getattr(mod, "__version__", "present")
    except ImportError:
        f[name] = None
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    f.update(gpu=p.name, capability=list(torch.cuda.get_device_capability(0)), gpu_memory_gib=round(p.total_memory / 2**30, 1),
             multiprocessors=p.multi_processor_count, cuda=torch.version.cuda, bf16_native=torch.cuda.get_device_capability(0) >= (8, 0))
print(json.dumps(f))
"""


def facts(kit: Kit) -> dict:
    if shutil.which("nvidia-smi"):
        kit.say(kit.run(["nvidia-smi"], check=False).strip())
    out = kit.run([sys.executable, "-c", FACTS])
    f = json.loads(out.strip().splitlines()[-1])
    kit.say("facts: " + json.dumps(f))
    (kit.report / "facts.json").write_text(json.dumps(f, indent=2) + "\n")
    return f


def bench(kit: Kit, device: str, workers: int, tiny: bool) -> None:
    lines = []
    for algo in ALGOS:
        args = (
            ["--num-envs", "128", "--num-workers", str(workers), "--encoder", "paper"]
            if not tiny
            else TINY_BENCH
        )
        out = kit.run([sys.executable, "-m", "trainer.cli", "bench", "--env", ENV, "--algo", algo, "--device",
                       device, "--json", *args])  # fmt: skip
        res = json.loads(out.strip().splitlines()[-1])
        kit.say(f"bench {algo}: " + json.dumps(res))
        lines.append(json.dumps(res))
    (kit.report / "bench.jsonl").write_text("\n".join(lines) + "\n")


def train(kit: Kit, device: str, workers: int, minutes: float, tiny: bool) -> Path:
    run_dir = kit.work / "run"
    args = ["--num-workers", str(workers), "--checkpoint-every", "1M"] if not tiny else TINY_TRAIN
    kit.run([sys.executable, "-m", "trainer.cli", "train", "--preset", "paper", "--env", ENV, "--algo", "snd-v",
             "--device", device, "--run-dir", str(run_dir), "--max-minutes", f"{minutes:g}", "--no-progress",
             *args])  # fmt: skip
    for name in ("config.json", "metrics.jsonl"):
        shutil.copy(run_dir / name, kit.report / name)
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    last = rows[-1]
    kit.say(
        f"trained to step {last['global_step']:,} in {last['wall_time_s']:.0f} s of updates; last update "
        f"{last['steps_per_s']:.0f} steps/s; rooms {last.get('rooms_total')}; r_int {last['r_int_mean']:.4f}"
    )
    return run_dir / "checkpoints" / "best.safetensors"


def plot_and_eval(
    kit: Kit, run_dir: Path, best: Path, device: str, episodes: int, max_steps: int | None
) -> None:
    kit.run(
        [sys.executable, "scripts/plot_metrics.py", str(run_dir), "--out", str(kit.report / "curves.png")]
    )
    limit = ["--max-steps", str(max_steps)] if max_steps else []
    kit.run([sys.executable, "-c", PLAYER, "eval", str(best), "--episodes", str(episodes), "--seed", "0",
             "--out", str(kit.report / "eval.json"), "--device", device, "--no-progress", *limit])  # fmt: skip
    kit.say("eval: " + (kit.report / "eval.json").read_text().replace("\n", " ")[:600])


PLAYER = "import sys; from snd_player.cli import main; sys.exit(main(sys.argv[1:]))"


def gif_command(ckpt: str, out: str, frames: int) -> list[str]:
    return ["snd-player", "record", ckpt, "--out", out, "--frames", str(frames), "--panels"]


def dashboard_gif(kit: Kit, best: Path, frames: int, qt: bool) -> None:
    """The dashboard is painted with Qt: recorded here where PyQt6 and pyqtgraph import, otherwise the
    one command that makes it from the returned checkpoint on a machine with the player installed."""
    if not qt:
        cmd = shlex.join(gif_command("agent-fp16.safetensors", "dashboard.gif", frames))
        kit.say(f"dashboard gif: not made here (PyQt6/pyqtgraph do not import); after joining, run: {cmd}")
        return
    args = gif_command(str(best), str(kit.out / "dashboard.gif"), frames)[1:]
    kit.run([sys.executable, "-c", PLAYER, *args, "--no-progress"])
    kit.say(
        f"dashboard gif: {kit.out / 'dashboard.gif'} ({(kit.out / 'dashboard.gif').stat().st_size:,} bytes)"
    )


def package(kit: Kit, best: Path) -> None:
    """Best checkpoint -> float16 weights (as the bundled demo) -> parts of at most 15 MiB + JOIN.txt."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_demo import float16_weights

    from trainer.checkpoint import load_checkpoint, save_checkpoint

    tensors, meta = load_checkpoint(best)
    meta.pop("format", None)
    meta.pop("format_version", None)
    meta["kit"] = {
        "storage": "float16 weights, float64 normaliser statistics",
        "source": "scripts/gpu/run_kit.py",
    }
    whole = kit.work / "agent-fp16.safetensors"
    save_checkpoint(whole, float16_weights(tensors), meta)
    data = whole.read_bytes()
    parts = []
    for i, start in enumerate(range(0, len(data), PART_BYTES)):
        part = kit.out / f"agent-fp16.safetensors.part-{i:02d}"
        part.write_bytes(data[start : start + PART_BYTES])
        parts.append(part)
    digest = hashlib.sha256(data).hexdigest()
    join = "cat agent-fp16.safetensors.part-* > agent-fp16.safetensors"
    (kit.report / "JOIN.txt").write_text(
        f"{join}\nsha256sum agent-fp16.safetensors  # {digest}\n"
        f"# {len(parts)} parts, {len(data):,} bytes; trained {meta.get('global_step', 0):,} steps\n"
    )
    kit.say(
        f"checkpoint: {len(parts)} parts of <= 15 MiB, {len(data):,} bytes, sha256 {digest}; join: {join}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="output folder (the device tool's $OUT)")
    ap.add_argument("--device", default="cuda", help="torch device (default cuda; cpu for the dry run)")
    ap.add_argument(
        "--train-minutes", type=float, default=4.0, help="trainer train --max-minutes (default 4)"
    )
    ap.add_argument("--eval-episodes", type=int, default=3, help="episodes of the eval report (default 3)")
    ap.add_argument("--eval-max-steps", type=int, default=2000, help="cap each eval episode (default 2000)")
    ap.add_argument("--gif-frames", type=int, default=GIF_FRAMES, help="agent steps in the gif (300 = 20 s)")
    ap.add_argument("--no-install", dest="install", action="store_false", help="use the packages present")
    ap.add_argument("--tiny", action="store_true", help="dry-run sizes: 2 envs x 16 steps, nature encoder")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default OUT/../kit-work)")
    args = ap.parse_args(argv)

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = (args.work or out.parent / f"{out.name}-work").resolve()
    if work.exists():
        shutil.rmtree(work)
    env = dict(os.environ, PYTHONUNBUFFERED="1", QT_QPA_PLATFORM="offscreen")
    paths = [str(ROOT)]
    if args.install:
        site = work / "site"
        install_wheels(WHEELS, site)
        paths.insert(0, str(site))
        sys.path.insert(0, str(site))
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [os.environ.get("PYTHONPATH")] if p])
    sys.path.insert(0, str(ROOT))
    kit = Kit(out, work, env)
    kit.say(
        f"snd GPU kit on {platform.node()}: out {out}, device {args.device}, train {args.train_minutes:g} min"
    )

    f = facts(kit)
    workers = int(f["cpu_count"] or 1)
    bench(kit, args.device, workers, args.tiny)
    best = train(kit, args.device, workers, args.train_minutes, args.tiny)
    plot_and_eval(kit, best.parent.parent, best, args.device, args.eval_episodes, args.eval_max_steps)
    qt = all(importlib.util.find_spec(m) is not None for m in ("PyQt6", "pyqtgraph"))
    dashboard_gif(kit, best, args.gif_frames, qt)
    package(kit, best)
    kit.say("done")
    kit.log.close()
    with tarfile.open(out / "report.tar.gz", "w:gz") as tar:
        for p in sorted(kit.report.iterdir()):
            tar.add(p, arcname=f"report/{p.name}")
    print(f"[kit] wrote {', '.join(sorted(p.name for p in out.iterdir()))} to {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
