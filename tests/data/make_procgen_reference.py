"""Regenerate procgen_reference.npz: a Procgen trajectory recorded with procgen-mirror, the reference that
every Procgen backend (procgen-gym on Python 3.13) must reproduce (tests/test_procgen_backends.py).

For each game: ``make_env`` with seed 3, 300 steps of actions drawn from ``default_rng(0)``; per step (the
reset included) the SHA-1 of procgen's own serialised state (game, level, RNG), the reward, the done flag,
the level seed and the action really played (1 % are random), and every 50th observation's newest frame.

    .venv/bin/python tests/data/make_procgen_reference.py      # needs procgen-mirror (Python 3.11/3.12)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from trainer.envs import EnvConfig, ProcgenEnv, _import_procgen, make_env

OUT = Path(__file__).with_name("procgen_reference.npz")
GAMES = ("coinrun", "jumper")  # jumper's random walk ends episodes, so the reset path is covered too
SEED, STEPS, FRAME_EVERY = 3, 300, 50


def actions() -> list[int]:
    return np.random.default_rng(0).integers(15, size=STEPS).tolist()


def record(game: str) -> dict[str, np.ndarray]:
    """The trajectory of ``game`` under the installed backend, as the arrays stored in the reference."""
    env = make_env(EnvConfig(env_id=f"procgen:{game}"), SEED)
    assert isinstance(env, ProcgenEnv)
    obs, info = env.reset()
    rows = [(env.snapshot().states[0], 0.0, False, info["level_seed"], -1)]
    frames = [obs[:3]]
    for t, a in enumerate(actions(), start=1):
        obs, reward, done, _, info = env.step(a)
        rows.append((env.snapshot().states[0], reward, done, info["level_seed"], info["executed_action"]))
        if t % FRAME_EVERY == 0:
            frames.append(obs[:3])
    env.close()
    states, rewards, dones, seeds, executed = zip(*rows)
    return {
        "state_sha1": np.array([hashlib.sha1(s).hexdigest() for s in states]),
        "reward": np.array(rewards, np.float32),
        "done": np.array(dones),
        "level_seed": np.array(seeds, np.int64),
        "executed_action": np.array(executed, np.int64),
        "frames": np.stack(frames),  # (STEPS // FRAME_EVERY + 1, 3, 64, 64) uint8
    }


def main() -> None:
    backend = _import_procgen()
    assert getattr(backend, "__name__", "") == "procgen", "record the reference with procgen-mirror"
    arrays = {f"{game}/{name}": value for game in GAMES for name, value in record(game).items()}
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
