"""Make a training checkpoint the bundled demo and re-make every picture and figure that shows the demo.

    .venv/bin/python scripts/refresh_demo.py ~/snd-runs/demo-v2 --step 3014656 \\
        --command "trainer train ..." [--note "..."] [--docs docs] [--demo snd_player/assets/demo.safetensors]

In order, each step one command a user could run alone (printed before it runs):

1. ``scripts/make_demo.py``: the checkpoint as float16 (replaces the demo file and
   ``tests/data/demo_greedy_actions.json``);
2. ``snd-player eval`` of the new demo, 10 episodes, seeds 0-9 -> ``docs/demo-eval.json`` and ``.csv``;
3. ``snd-player record`` -> ``docs/demo.gif``, from the seed of the eval episode that saw the most rooms
   (then the best score), so the clip shows what the agent can do rather than seed 0; ``--gif-start`` picks
   the step of that episode the clip begins at (e.g. just before the agent takes the key);
4. ``scripts/screenshot.py`` -> ``docs/player.png`` (1600x1000) and ``docs/player-1280x720.png``;
5. ``trainer analyze`` -> ``docs/features.png`` (random vs trained target, t-SNE, coloured by room);
6. ``scripts/plot_metrics.py`` on the run folder, up to the packaged step -> ``docs/demo-training.png``.

It stops at the first step that fails. The prose that says what the demo is (README, docs/demo-checkpoint.md)
is left to a person: this prints the figures it needs (steps, update hours, eval score and rooms).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(cmd: list[str]) -> None:
    print("$", " ".join(shlex.quote(str(c)) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def best_episode_seed(report: dict) -> int:
    """The seed of the eval episode with the most rooms, then the highest score, then the lowest seed."""
    eps = report["per_episode"]
    best = max(eps, key=lambda e: (len(e["rooms"]), e["score"], -e["seed"]))
    return int(best["seed"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path, help="the training run's folder (metrics.jsonl, checkpoints/)")
    p.add_argument("--step", type=int, required=True, help="the checkpoint to package, by its step number")
    p.add_argument("--command", required=True, help="the exact training command, for the metadata")
    p.add_argument("--note", default="", help="anything else a user should know (sittings, hardware)")
    p.add_argument("--docs", type=Path, default=ROOT / "docs", help="where the pictures go (docs/)")
    p.add_argument("--demo", type=Path, default=ROOT / "snd_player" / "assets" / "demo.safetensors")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--gif-frames", type=int, default=180)
    p.add_argument("--gif-start", type=int, default=0, help="the agent step of that episode the clip begins at")
    args = p.parse_args(argv)

    ckpt = args.run_dir / "checkpoints" / f"{args.step:012d}.safetensors"
    if not ckpt.is_file():
        print(f"refresh_demo: {ckpt}: no such checkpoint (expected a step of {args.run_dir}/checkpoints)")
        return 2
    docs, demo, py = args.docs, args.demo, sys.executable
    docs.mkdir(parents=True, exist_ok=True)
    # the greedy actions tests/test_demo.py checks go to tests/data only for the bundled demo itself
    default_demo = demo.resolve() == (ROOT / "snd_player" / "assets" / "demo.safetensors").resolve()
    actions = ROOT / "tests" / "data" / "demo_greedy_actions.json" if default_demo else demo.with_suffix(".actions.json")
    run([py, "scripts/make_demo.py", ckpt, "--out", demo, "--command", args.command, "--note", args.note,
         "--actions", actions])  # fmt: skip
    run([BIN / "snd-player", "eval", demo, "--episodes", args.episodes, "--seed", 0, "--out", docs / "demo-eval.json"])
    report = json.loads((docs / "demo-eval.json").read_text())
    seed = best_episode_seed(report)
    run([BIN / "snd-player", "record", demo, "--out", docs / "demo.gif", "--frames", args.gif_frames, "--panels",
         "--seed", seed, "--start", args.gif_start])  # fmt: skip
    run([py, "scripts/screenshot.py", demo, "--out", docs / "player.png"])
    run([py, "scripts/screenshot.py", demo, "--out", docs / "player-1280x720.png", "--size", "1280x720"])
    run([BIN / "trainer", "analyze", demo, "--out", docs / "features.png", "--no-progress"])
    run([py, "scripts/plot_metrics.py", args.run_dir, "--out", docs / "demo-training.png", "--until", args.step])

    from trainer.checkpoint import read_metadata

    meta = read_metadata(demo)
    rooms = report["rooms"]
    print(
        f"demo: {meta['algo']} on {meta['env_id']}, {meta['global_step']:,} steps, "
        f"{meta['wall_time_s'] / 3600:.2f} h of training; eval over {report['episodes']} episodes: score "
        f"{report['score']['mean']:g} (max {report['score']['max']:g}), rooms per episode {rooms['per_episode']['mean']:g} "
        f"(max {rooms['per_episode']['max']:g}), {rooms['union_count']} in all; gif from seed {seed}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
