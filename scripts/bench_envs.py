"""Env-only steps/s of the Atari vectorisers on Montezuma's Revenge, random actions, all in one run.

Compares, at each env count: our shared-memory pool (``make_vec_env``), our in-process vec env
(``num_workers=0``), gymnasium's Sync/AsyncVectorEnv over ``make_env``, and ALE's C++ ``AtariVectorEnv``
set up the same way (frame skip 4 with max-pooling, grayscale 96x96, stack 4, sticky actions 0.25, no no-op
starts, 18000-frame limit). At each N all of them are opened and warmed up, then timed in interleaved slices
(see ``bench_size``), so that load from other processes on a shared machine hits each alike.

    .venv/bin/python scripts/bench_envs.py [--sizes 8 32] [--seconds 2] [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import gymnasium
import numpy as np
from ale_py.vector_env import AtariVectorEnv

from trainer.envs import EnvConfig, env_spec, make_env, make_vec_env

CFG = EnvConfig(env_id="ALE/MontezumaRevenge-v5")  # paper settings: sticky 0.25, 96x96, stack 4, skip 4

ALE = "ale_py AtariVectorEnv"


@dataclass
class Stepper:
    """An opened, reset vectoriser."""

    step: Callable[[np.ndarray], object]
    close: Callable[[], None]
    worker_pids: list[int] = field(default_factory=list)
    """Its worker processes, whose CPU time counts with this process's."""

    def cpu_seconds(self) -> float:
        """CPU time so far of this process (all threads, so ALE's C++ threads too) and the workers."""
        ticks = 0
        for pid in self.worker_pids:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
        return time.process_time() + ticks / os.sysconf("SC_CLK_TCK")


Maker = Callable[[int], Stepper]  # num_envs -> Stepper


def ours(num_envs: int, num_workers: int | None) -> Stepper:
    venv = make_vec_env(CFG, num_envs, seed=0, num_workers=num_workers)
    venv.reset()
    return Stepper(venv.step, venv.close, getattr(venv, "worker_pids", []))


def gymnasium_vector(num_envs: int, asynchronous: bool) -> Stepper:
    fns = [functools.partial(make_env, CFG, i) for i in range(num_envs)]
    venv = (
        gymnasium.vector.AsyncVectorEnv(fns, context="spawn")
        if asynchronous
        else gymnasium.vector.SyncVectorEnv(fns)
    )
    venv.reset(seed=0)
    pids = [p.pid for p in venv.processes] if isinstance(venv, gymnasium.vector.AsyncVectorEnv) else []
    return Stepper(venv.step, venv.close, pids)


def ale_vector(num_envs: int) -> Stepper:
    venv = AtariVectorEnv(
        "montezuma_revenge",
        num_envs,
        frameskip=4,
        maxpool=True,
        grayscale=True,
        img_height=CFG.frame_size,
        img_width=CFG.frame_size,
        stack_num=CFG.frame_stack,
        repeat_action_probability=CFG.sticky_action_prob,
        noop_max=0,
        use_fire_reset=False,
        reward_clipping=False,
        max_num_frames_per_episode=CFG.max_episode_steps * CFG.frame_skip,
    )
    venv.reset(seed=0)
    return Stepper(venv.step, venv.close)


def vectorisers(pool_workers: list[int]) -> dict[str, Maker]:
    pools: dict[str, Maker] = {
        f"pool, {w} workers": functools.partial(ours, num_workers=w) for w in pool_workers
    }
    return {
        f"pool (default: {os.cpu_count()} workers)": functools.partial(ours, num_workers=None),
        **pools,
        "in-process (num_workers=0)": functools.partial(ours, num_workers=0),
        "gymnasium SyncVectorEnv": functools.partial(gymnasium_vector, asynchronous=False),
        "gymnasium AsyncVectorEnv": functools.partial(gymnasium_vector, asynchronous=True),
        ALE: ale_vector,
    }


def timed_slice(env: Stepper, batches: list[np.ndarray], seconds: float) -> tuple[float, float]:
    """(agent steps per wall second, CPU microseconds per agent step) over about ``seconds`` of stepping."""
    steps, cpu0, t0 = 0, env.cpu_seconds(), time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        env.step(batches[steps % len(batches)])
        steps += 1
    agent_steps = steps * len(batches[0])
    return agent_steps / elapsed, (env.cpu_seconds() - cpu0) / agent_steps * 1e6


def bench_size(makers: dict[str, Maker], num_envs: int, rounds: int, seconds: float) -> dict[str, dict]:
    """All vectorisers open at once, timed in interleaved slices whose order rotates every round.

    The machine may be shared: interleaving puts every vectoriser under the same background load, the ratio
    to ALE's vectoriser is taken within each round, and medians are reported. CPU time per step is the
    load-independent view of efficiency: what the cores would give on an otherwise idle machine.
    """
    rng = np.random.default_rng(0)
    batches = [rng.integers(0, env_spec(CFG).num_actions, num_envs) for _ in range(256)]
    opened = {name: make(num_envs) for name, make in makers.items()}
    try:
        for env in opened.values():  # warm-up: caches, page faults, first episode starts
            for b in batches[:20]:
                env.step(b)
        names = list(opened)
        slices: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                slices[name].append(timed_slice(opened[name], batches, seconds))
    finally:
        for env in opened.values():
            env.close()
    ref = np.array([sps for sps, _ in slices[ALE]]) if ALE in slices else None
    results = {}
    for name, x in slices.items():
        sps, cpu_us = np.array(x).T
        results[name] = {
            "steps_per_s": float(np.median(sps)),
            "ratio_to_ale": float(np.median(sps / ref)) if ref is not None else None,
            "cpu_us_per_step": float(np.median(cpu_us)),
            "slices": x,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32], help="env counts N")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per timed slice")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved slices per vectoriser")
    parser.add_argument("--only", nargs="+", default=None, help="substrings of vectoriser names to run")
    parser.add_argument("--pool-workers", type=int, nargs="*", default=[], help="extra pool worker counts")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    makers = {
        name: make
        for name, make in vectorisers(args.pool_workers).items()
        if args.only is None or any(s in name for s in args.only)
    }
    load_before = os.getloadavg()[0]
    results = {size: bench_size(makers, size, args.rounds, args.seconds) for size in args.sizes}
    if args.json:
        print(json.dumps({"cpu_count": os.cpu_count(), "load_before": load_before, "results": results}))
        return
    print(
        f"MR env steps/s (agent steps, frame skip 4) on {os.cpu_count()} cores: medians of {args.rounds} "
        f"interleaved {args.seconds:g} s slices; load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    print(f"{'':32s}" + "".join(f"{f'N={s}':^27s}" for s in args.sizes))
    print(f"{'vectoriser':32s}" + f"{'steps/s':>9s}{'vs ALE':>8s}{'CPU us':>10s}" * len(args.sizes))
    for name in makers:
        row = f"{name:32s}"
        for size in args.sizes:
            res = results[size][name]
            ratio = res["ratio_to_ale"]
            row += f"{res['steps_per_s']:9.0f}" + (f"{ratio:7.2f}x" if ratio is not None else " " * 8)
            row += f"{res['cpu_us_per_step']:10.0f}"
        print(row)
    print("CPU us = CPU time per agent step, this process and its env workers together")


if __name__ == "__main__":
    main()
