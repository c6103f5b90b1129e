"""Regenerate mr_leave_room1.json: an action sequence that leaves Montezuma's Revenge's start room (room 1).

A small Go-Explore (Ecoffet et al. 2021): cells are (room, inventory, x // 8, y // 8); a cell is reached
again by restoring its emulator snapshot, not by replaying, and explored with random repeated actions. Lost
lives end an exploration run, so the sequence found never dies. The deterministic setting (no sticky actions,
no no-op starts) means that replaying the actions from reset reproduces the run exactly, which is checked
before the file is written.

    .venv/bin/python tests/data/make_mr_leave_room1.py      # about a minute on one core
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from trainer.envs import AtariCore, AtariSnapshot, EnvConfig, make_env

OUT = Path(__file__).with_name("mr_leave_room1.json")
CFG = EnvConfig(env_id="ALE/MontezumaRevenge-v5", sticky_action_prob=0.0, noop_max=0, max_episode_steps=4500)
SEED = 0


@dataclasses.dataclass
class Cell:
    snapshot: AtariSnapshot
    actions: list[int]
    visits: int = 0


def search(max_iterations: int = 20_000, run_length: int = 50) -> list[int]:
    rng = np.random.default_rng(SEED)
    core = AtariCore(CFG, SEED)
    core.reset()
    start = core.game_info()
    cells = {(start.room, start.inventory, start.x // 8, start.y // 8): Cell(core.snapshot(), [])}
    for _ in range(max_iterations):
        keys = list(cells)
        weights = np.array([1.0 / np.sqrt(cells[k].visits + 1) for k in keys])
        cell = cells[keys[rng.choice(len(keys), p=weights / weights.sum())]]
        cell.visits += 1
        core.restore(cell.snapshot)
        actions = list(cell.actions)
        action = int(rng.integers(core.num_actions))
        for _ in range(run_length):
            if rng.random() > 0.95:  # Go-Explore repeats an action with probability 0.95
                action = int(rng.integers(core.num_actions))
            _, terminated, truncated = core.step(action)
            actions.append(action)
            info = core.game_info()
            if terminated or truncated or info.lives < start.lives:
                break
            if info.room != start.room:
                return actions
            key = (info.room, info.inventory, info.x // 8, info.y // 8)
            if key not in cells or len(actions) < len(cells[key].actions):
                cells[key] = Cell(core.snapshot(), list(actions))
    raise RuntimeError(f"no exit from room {start.room} in {max_iterations} iterations")


def main() -> None:
    actions = search()
    env = make_env(CFG, SEED)
    env.reset()
    rooms, change_step, score = [1], -1, 0.0
    for t, a in enumerate(actions):
        _, _, terminated, truncated, info = env.step(a)
        assert not (terminated or truncated) and info["lives"] == 5, "the replay must match the search"
        score += info["raw_reward"]
        if info["room"] != rooms[-1]:
            rooms.append(info["room"])
            change_step = t
    assert len(rooms) == 2 and change_step == len(actions) - 1, (rooms, change_step, len(actions))
    data = {
        "about": "Montezuma's Revenge actions (minimal action set indices) from reset that leave room 1; "
        "made by tests/data/make_mr_leave_room1.py",
        "env": {k: v for k, v in dataclasses.asdict(CFG).items() if not k.startswith("procgen")},
        "seed": SEED,
        "actions": actions,
        "rooms": rooms,
        "score": score,
    }
    OUT.write_text(json.dumps(data) + "\n")
    print(f"{len(actions)} actions, rooms {rooms}, score {score} -> {OUT}")


if __name__ == "__main__":
    main()
