"""Package a training checkpoint as the bundled demo: float16 weights, training facts in the metadata.

    .venv/bin/python scripts/make_demo.py runs/demo-mr-sndv/checkpoints/000000123456.safetensors \\
        --command "trainer train ..." [--out snd_player/assets/demo.safetensors]

Weights are stored as float16 to keep the file small (the player casts them back to float32 on load);
normaliser statistics keep their precision. The greedy actions of the full-precision agent on a fixed
episode are saved to tests/data/demo_greedy_actions.json, and the packaged file is checked to reproduce
them; tests/test_demo.py checks the same in CI.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from trainer.agent import Agent, load_agent
from trainer.checkpoint import load_checkpoint, save_checkpoint
from trainer.envs import make_env

ROOT = Path(__file__).resolve().parents[1]
ACTIONS_FILE = ROOT / "tests" / "data" / "demo_greedy_actions.json"
EPISODE = {"seed": 0, "steps": 300}


def greedy_actions(agent: Agent, seed: int, steps: int) -> list[int]:
    """Greedy actions on a fixed episode (env seeded, policy argmax)."""
    env = make_env(agent.env_config, seed)
    obs, _ = env.reset(seed=seed)
    actions = []
    for _ in range(steps):
        a = int(agent.act(obs[None], greedy=True).action[0])
        actions.append(a)
        obs, _, term, trunc, _ = env.step(a)
        if term or trunc:
            break
    env.close()
    return actions


def float16_weights(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights as float16; normaliser statistics keep their precision (they divide the input)."""
    return {k: (v.half() if v.is_floating_point() and "normaliser" not in k else v) for k, v in tensors.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "snd_player" / "assets" / "demo.safetensors")
    ap.add_argument("--command", required=True, help="the exact training command, for the metadata")
    ap.add_argument("--note", default="", help="anything else a user should know (pauses, hardware load)")
    ap.add_argument("--actions", type=Path, default=ACTIONS_FILE, help="where the greedy actions go (for tests)")
    args = ap.parse_args()

    torch.set_num_threads(1)
    tensors, meta = load_checkpoint(args.checkpoint)
    half = float16_weights(tensors)
    meta["demo"] = {
        "trained_with": args.command,
        "source_checkpoint": args.checkpoint.name,
        "storage": "float16 weights, float64 normaliser statistics",
        "note": args.note,
    }
    meta.pop("format", None)
    meta.pop("format_version", None)
    full = load_agent(args.checkpoint)
    ref = greedy_actions(full, **EPISODE)
    save_checkpoint(args.out, half, meta)
    small = greedy_actions(load_agent(args.out), **EPISODE)
    same = np.mean(np.array(ref) == np.array(small[: len(ref)])) if ref else 1.0
    args.actions.write_text(json.dumps({**EPISODE, "actions": ref}) + "\n")
    size = args.out.stat().st_size / 1e6
    print(f"{args.out}: {size:.1f} MB, greedy actions equal to full precision on {same:.1%} of {len(ref)} steps")
    return 0 if same == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
