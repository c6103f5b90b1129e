"""Find a Montezuma's Revenge trajectory that leaves the first room (key, door, next room) and save it.

A small Go-Explore (Ecoffet et al. 2021, "First return, then explore", Nature 590): an archive of cells,
each the best known way to reach it (highest score, then fewest steps) with the env's exact snapshot
(emulator, frame stack, sticky-action generator; ``trainer.envs.AtariCore.snapshot``). Each iteration picks
a cell (fewer visits weigh more), restores it, explores with random actions that repeat with probability
0.95, and adds or improves the cells it passes through. A cell is Go-Explore's domain-knowledge cell from
RAM (snd-spec §6): (level, room, inventory bitmask RAM[65], x // 8, y // 8). A rollout stops at a lost life,
so the trajectory found never dies.

Because the env, sticky draws included, depends only on the seed and the actions, the actions to the first
cell in another room replay exactly from a reset with the same seed: the script checks so, twice, before it
writes the file (a few NOOPs are appended so that the new room shows in per-step signals).

    nice -n 10 python scripts/find_trajectory.py --out snd_player/assets/montezuma-first-room.json
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from snd_player.core.trajectory import Trajectory, save
from trainer.envs import AtariCore, EnvConfig

START_ROOM = 1
"""Montezuma's Revenge starts in room 1 of level 0 (RAM[3])."""


@dataclass
class Cell:
    snap: object
    actions: list[int]
    score: float
    chosen: int = 0
    seen: int = 0
    lives: int = field(default=5)


def cell_key(ram: np.ndarray) -> tuple[int, ...]:
    return (int(ram[57]), int(ram[3]), int(ram[65]), int(ram[42]) // 8, int(ram[43]) // 8)


def search(cfg: EnvConfig, seed: int, budget_s: float, explore_steps: int, rng: np.random.Generator):
    core = AtariCore(cfg, seed)
    core.reset()
    ram = np.zeros(128, np.uint8)
    core.ale.getRAM(ram)
    lives0 = int(ram[58])
    archive: dict[tuple[int, ...], Cell] = {cell_key(ram): Cell(core.snapshot(), [], 0.0, lives=lives0)}
    n_actions = core.num_actions
    t_end = time.monotonic() + budget_s
    steps = iters = 0
    while time.monotonic() < t_end:
        keys = list(archive)
        w = np.array(
            [1 / math.sqrt(archive[k].chosen + 1) + 1 / math.sqrt(archive[k].seen + 1) for k in keys]
        )
        # cells holding more score (the key, an open door) are the frontier: weigh them up
        w *= np.array([1.0 + archive[k].score / 100.0 for k in keys])
        key = keys[int(rng.choice(len(keys), p=w / w.sum()))]
        cell = archive[key]
        cell.chosen += 1
        core.restore(cell.snap)
        actions = list(cell.actions)
        score = cell.score
        a = int(rng.integers(n_actions))
        for _ in range(explore_steps):
            if rng.random() > 0.95:
                a = int(rng.integers(n_actions))
            reward, terminated, truncated = core.step(a)
            steps += 1
            actions.append(a)
            score += reward
            core.ale.getRAM(ram)
            if terminated or truncated or int(ram[58]) < lives0 or ram[55] != 0:
                break  # a lost life (or dying animation): this path is no use
            k = cell_key(ram)
            old = archive.get(k)
            if old is None or score > old.score or (score == old.score and len(actions) < len(old.actions)):
                seen = old.seen if old else 0
                archive[k] = Cell(core.snapshot(), list(actions), score, seen=seen + 1)
            else:
                old.seen += 1
            if int(ram[57]) == 0 and int(ram[3]) != START_ROOM:
                print(
                    f"left room {START_ROOM} for room {int(ram[3])} after {len(actions)} steps, score "
                    f"{score:g}; search: {iters} iterations, {steps:,} steps, {len(archive)} cells",
                    file=sys.stderr,
                )
                return actions, score
        iters += 1
        if iters % 500 == 0:
            best = max(archive.values(), key=lambda c: c.score)
            print(
                f"  {iters} iterations, {steps:,} steps, {len(archive)} cells, best score {best.score:g}",
                file=sys.stderr,
            )
    return None, 0.0


def rooms_of(cfg: EnvConfig, seed: int, actions: list[int]) -> list[int]:
    """The room after each action, replayed from a fresh env."""
    core = AtariCore(cfg, seed)
    core.reset()
    ram = np.zeros(128, np.uint8)
    rooms = []
    for a in actions:
        core.step(a)
        core.ale.getRAM(ram)
        rooms.append(int(ram[3]))
    return rooms


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="trajectory .json to write")
    p.add_argument("--seed", type=int, default=0, help="env seed the trajectory starts from (default 0)")
    p.add_argument("--search-seed", type=int, default=0, help="the search's own random seed")
    p.add_argument("--sticky", type=float, default=0.25, help="sticky action probability (default 0.25)")
    p.add_argument("--budget", type=float, default=240.0, help="seconds of search at most (default 240)")
    p.add_argument("--explore-steps", type=int, default=50, help="random steps per exploration (default 50)")
    p.add_argument("--tail", type=int, default=16, help="NOOPs appended in the new room (default 16)")
    args = p.parse_args(argv)
    cfg = EnvConfig(sticky_action_prob=args.sticky, sticky_per_frame=True, noop_max=0)
    t0 = time.monotonic()
    actions, score = search(
        cfg, args.seed, args.budget, args.explore_steps, np.random.default_rng(args.search_seed)
    )
    if actions is None:
        print(
            f"no trajectory out of room {START_ROOM} in {args.budget:g} s; try a larger --budget",
            file=sys.stderr,
        )
        return 1
    noop = 0  # NOOP is index 0 of Montezuma's minimal action set
    actions = actions + [noop] * args.tail
    first, second = rooms_of(cfg, args.seed, actions), rooms_of(cfg, args.seed, actions)
    if first != second or first[-1] == START_ROOM:
        print(f"replay check failed: rooms {first[-5:]} vs {second[-5:]}", file=sys.stderr)
        return 1
    note = (
        f"found by scripts/find_trajectory.py (Go-Explore over RAM cells, search seed {args.search_seed}, "
        f"{time.monotonic() - t0:.0f} s): takes the key, opens a door and enters room {first[-1]}; "
        f"score {score:g}; the last {args.tail} steps are NOOPs"
    )
    traj = Trajectory.from_steps(cfg, args.seed, actions, "script", note=note)
    save(args.out, traj)
    print(f"{args.out}: {len(actions)} steps, rooms {sorted(set(first))}, score {score:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
