"""``snd-player eval CKPT --episodes N --out report.json``: headless evaluation through the player's Session.

Episode i is played from seed ``S + i`` by a fresh :class:`~snd_player.session.Session` (sharing the loaded
agent and env), so each episode depends only on (checkpoint, seed, greedy): the report is the same
whatever ``--num-envs`` is, and the same run twice gives the same report apart from ``timing``. With
``--num-envs K > 1`` the episodes are spread over K worker processes, one torch thread each; each worker
takes seconds to start (torch import, checkpoint load), so this pays off for long evaluations on a machine
with idle cores (on a busy 2-core machine, 4 short episodes took twice as long with K = 2).

Writes ``report.json`` (statistics, the checkpoint's metadata, one entry per episode) and ``report.csv``
beside it (one row per episode). ``--json`` also prints the report to stdout; the progress bar goes to
stderr.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainer.checkpoint import atomic_write, output_path_problem
from trainer.numbers import MAX_SEED, whole_number

NO_KEYFRAMES = 1 << 62
"""Keyframe interval for evaluation: nobody seeks, so only step 0 is snapshotted."""


class EvalError(ValueError):
    """An evaluation that cannot run; the message is one line."""


@dataclass(frozen=True)
class EpisodeResult:
    """One evaluated episode. Sums (not means) of r_int and the error, so the pooled statistics over all
    steps can be computed exactly from the episodes in order, however they were spread over processes."""

    episode: int
    seed: int
    score: float
    length: int
    truncated: bool
    """Stopped by --max-steps before the game ended it."""
    rooms: list[tuple[int, int]]
    """(level, room) pairs visited, in order of first visit."""
    r_int_sum: float
    r_int_sq: float
    r_int_max: float
    error_sum: float
    error_sq: float
    error_max: float

    @property
    def r_int_mean(self) -> float:
        return self.r_int_sum / max(self.length, 1)

    @property
    def error_mean(self) -> float:
        return self.error_sum / max(self.length, 1)


def play_episode(
    agent: Any,
    env: Any,
    checkpoint: Path,
    episode: int,
    seed: int,
    greedy: bool,
    max_steps: int | None,
    on_step: Any = None,
) -> EpisodeResult:
    """Play one episode from ``seed`` with a fresh Session around an already loaded agent and env.

    The intrinsic reward is computed in batches of the episode's observations (see
    :class:`snd_player.record.LateIntrinsic`); everything else comes from the Session's records.
    """
    from snd_player.record import INTRINSIC_BATCH, LateIntrinsic, fill_intrinsic
    from snd_player.session import Session

    s = Session(
        LateIntrinsic(agent),
        env,
        seed=seed,
        greedy=greedy,
        checkpoint=checkpoint,
        keyframe_every=NO_KEYFRAMES,
    )
    r_int: list[float] = []
    error: list[float] = []
    pending = []

    def flush() -> None:
        for rec in fill_intrinsic(agent, pending):
            r_int.append(rec.r_int)
            error.append(rec.int_error)
        pending.clear()

    rec = None
    n = 0
    while max_steps is None or n < max_steps:
        rec = s.step()
        n += 1
        pending.append(rec)
        if len(pending) == INTRINSIC_BATCH:
            flush()
        if on_step is not None and n % 64 == 0:
            on_step(n)
        if rec.done:
            break
    flush()
    assert rec is not None
    tl = s.timeline
    r = np.asarray(r_int, np.float64)
    e = np.asarray(error, np.float64)
    rooms = sorted(tl.first_visit, key=lambda k: tl.first_visit[k])
    return EpisodeResult(
        episode=episode,
        seed=seed,
        score=float(rec.score + rec.raw_reward),
        length=n,
        truncated=not rec.done,
        rooms=[(int(lv), int(rm)) for lv, rm in rooms],
        r_int_sum=float(r.sum()),
        r_int_sq=float((r * r).sum()),
        r_int_max=float(r.max()),
        error_sum=float(e.sum()),
        error_sq=float((e * e).sum()),
        error_max=float(e.max()),
    )


# ---- worker processes -----------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _worker_init(checkpoint: str, device: str, threads: int) -> None:
    import torch

    from trainer.agent import load_agent
    from trainer.envs import make_env

    torch.set_num_threads(threads)
    agent = load_agent(checkpoint, device=device)
    _WORKER.update(
        agent=agent, env=make_env(agent.env_config, 0, render_rgb=True), checkpoint=Path(checkpoint)
    )


def _worker_episode(args: tuple[int, int, bool, int | None]) -> EpisodeResult:
    episode, seed, greedy, max_steps = args
    w = _WORKER
    return play_episode(w["agent"], w["env"], w["checkpoint"], episode, seed, greedy, max_steps)


def run_episodes(
    agent: Any,
    checkpoint: Path,
    episodes: int,
    seed: int,
    greedy: bool,
    num_envs: int,
    max_steps: int | None,
    device: str = "cpu",
    threads: int = 1,
    progress: Any = None,
) -> Iterator[EpisodeResult]:
    """Results of episodes 0..episodes-1 in order, played by ``agent`` here (num_envs 1) or by worker
    processes that load the checkpoint again. ``progress(done_episodes, steps_of_current)`` is called as
    they advance."""
    jobs = [(i, seed + i, greedy, max_steps) for i in range(episodes)]
    if num_envs <= 1:
        from trainer.envs import make_env

        env = make_env(agent.env_config, seed, render_rgb=True)
        try:
            for i, s, g, m in jobs:
                on_step = (lambda n, i=i: progress(i, n)) if progress else None
                yield play_episode(agent, env, checkpoint, i, s, g, m, on_step)
                if progress:
                    progress(i + 1, 0)
        finally:
            env.close()
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # spawn: a fork of a process that holds torch threads (and maybe Qt) is not safe
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(num_envs, episodes),
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(str(checkpoint), device, threads),
    ) as pool:
        for k, res in enumerate(pool.map(_worker_episode, jobs)):
            if progress:
                progress(k + 1, 0)
            yield res


# ---- statistics -------------------------------------------------------------------------------------------
def _stats(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, np.float64)
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max())}


def _pooled(sums: list[float], sqs: list[float], maxes: list[float], n: int) -> dict[str, float]:
    total, total_sq = math.fsum(sums), math.fsum(sqs)
    mean = total / max(n, 1)
    return {"mean": mean, "std": math.sqrt(max(total_sq / max(n, 1) - mean * mean, 0.0)), "max": max(maxes)}


def checkpoint_summary(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint's metadata a report needs to be read on its own."""
    keys = ("algo", "env_id", "global_step", "created", "package_version", "encoder", "num_actions")
    return {"path": str(path), "name": path.name, **{k: meta.get(k) for k in keys}}


def build_report(
    results: list[EpisodeResult], checkpoint: dict[str, Any], settings: dict[str, Any], has_motivation: bool
) -> dict[str, Any]:
    steps = sum(r.length for r in results)
    union = sorted({room for r in results for room in r.rooms})
    rooms_n = [len(r.rooms) for r in results]
    report: dict[str, Any] = {
        "checkpoint": checkpoint,
        "settings": settings,
        "episodes": len(results),
        "steps": steps,
        "score": _stats([r.score for r in results]),
        "length": _stats([r.length for r in results]),
        "truncated": sum(r.truncated for r in results),
        "rooms": {
            "per_episode": _stats(rooms_n),
            "union": [list(k) for k in union],
            "union_count": len(union),
        },
        "intrinsic": None,
        "per_episode": [
            {
                **{k: v for k, v in asdict(r).items() if not k.endswith(("_sum", "_sq"))},
                "rooms": [list(k) for k in r.rooms],
                "r_int_mean": r.r_int_mean,
                "error_mean": r.error_mean,
            }
            for r in results
        ],
    }
    if has_motivation:
        report["intrinsic"] = {
            "r_int": _pooled(
                [r.r_int_sum for r in results],
                [r.r_int_sq for r in results],
                [r.r_int_max for r in results],
                steps,
            ),
            "error": _pooled(
                [r.error_sum for r in results],
                [r.error_sq for r in results],
                [r.error_max for r in results],
                steps,
            ),
        }
    return report


def report_csv(results: list[EpisodeResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "episode",
            "seed",
            "score",
            "length",
            "truncated",
            "rooms",
            "rooms_list",
            "r_int_mean",
            "r_int_max",
            "error_mean",
            "error_max",
        ]
    )
    for r in results:
        w.writerow(
            [
                r.episode,
                r.seed,
                f"{r.score:g}",
                r.length,
                int(r.truncated),
                len(r.rooms),
                " ".join(f"{lv}:{rm}" for lv, rm in r.rooms),
                f"{r.r_int_mean:.6g}",
                f"{r.r_int_max:.6g}",
                f"{r.error_mean:.6g}",
                f"{r.error_max:.6g}",
            ]
        )
    return buf.getvalue()


# ---- files ------------------------------------------------------------------------------------------------
def check_writable(path: Path, suffix: str) -> None:
    if path.suffix.lower() != suffix:
        raise EvalError(f"{path}: the report is JSON; give a path ending in {suffix}")
    if not path.parent.is_dir():  # `--out newdir/report.json` makes the folder, as `trainer train` does
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise EvalError(f"{path}: cannot create folder {path.parent} ({e.strerror or e})") from None
    problem = output_path_problem(path, (suffix,))
    if problem:
        raise EvalError(problem)


def write_text_atomic(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


# ---- command line -----------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="snd-player eval",
        description="Play N episodes of a checkpoint headless and write score, length, rooms and intrinsic "
        "reward statistics (JSON, plus one CSV row per episode).",
    )
    p.add_argument("checkpoint", type=Path, help="an snd .safetensors checkpoint")
    p.add_argument("--episodes", type=int, default=10, help="episodes to play (default 10)")
    p.add_argument("--seed", type=whole_number(0, MAX_SEED - 10**6), default=0, help="episode i is played from seed S + i (default 0)")
    p.add_argument("--greedy", action="store_true", help="argmax actions instead of sampling")
    p.add_argument(
        "--num-envs", type=int, default=1, help="worker processes playing episodes in parallel (default 1)"
    )
    p.add_argument("--max-steps", type=int, default=None, help="stop an episode after this many agent steps")
    p.add_argument("--out", type=Path, required=True, help="report.json; report.csv is written beside it")
    p.add_argument("--json", action="store_true", help="also print the report to stdout")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--threads", type=whole_number(1, 1024), default=1, help="torch CPU threads per process (default 1)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return p


def _fail(msg: str) -> int:
    print(f"snd-player eval: error: {msg}", file=sys.stderr)
    return 2


def evaluate(
    checkpoint: Path,
    episodes: int,
    seed: int = 0,
    greedy: bool = False,
    num_envs: int = 1,
    max_steps: int | None = None,
    device: str = "cpu",
    threads: int = 1,
    progress: bool = False,
) -> tuple[dict[str, Any], list[EpisodeResult]]:
    """Play and summarise; raises CheckpointError / EnvError (one line) for a bad checkpoint."""
    from tqdm import tqdm

    from trainer.agent import load_agent

    agent = load_agent(
        checkpoint, device=device
    )  # here too with workers: a bad file fails in one line, early
    meta = agent.meta
    settings = {"episodes": episodes, "seed": seed, "greedy": greedy, "max_steps": max_steps}
    bar = tqdm(
        total=episodes,
        unit="episode",
        desc="evaluating",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )

    def on_progress(done: int, steps: int) -> None:
        if done > bar.n:
            bar.update(done - bar.n)
        if steps:
            bar.set_postfix_str(f"episode {done + 1}: {steps} steps")

    t0 = time.perf_counter()
    try:
        results = list(
            run_episodes(
                agent, checkpoint, episodes, seed, greedy, num_envs, max_steps, device, threads, on_progress
            )
        )
    finally:
        bar.close()
    dt = time.perf_counter() - t0
    report = build_report(
        results, checkpoint_summary(checkpoint, meta), settings, agent.motivation is not None
    )
    steps = report["steps"]
    report["timing"] = {
        "seconds": round(dt, 3),
        "steps_per_s": round(steps / max(dt, 1e-9), 1),
        "num_envs": num_envs,
        "device": device,
    }
    return report, results


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.episodes < 1:
        return _fail(f"--episodes must be at least 1, got {args.episodes}")
    if args.num_envs < 1:
        return _fail(f"--num-envs must be at least 1, got {args.num_envs}")
    if args.max_steps is not None and args.max_steps < 1:
        return _fail(f"--max-steps must be at least 1, got {args.max_steps}")
    out: Path = args.out
    csv_path = out.with_suffix(".csv")
    try:
        check_writable(out, ".json")
    except EvalError as e:
        return _fail(str(e))

    import torch

    from trainer.checkpoint import CheckpointError
    from trainer.envs import EnvError

    torch.set_num_threads(args.threads)
    try:
        report, results = evaluate(
            args.checkpoint,
            args.episodes,
            args.seed,
            args.greedy,
            args.num_envs,
            args.max_steps,
            args.device,
            args.threads,
            progress=args.progress,
        )
        write_text_atomic(out, json.dumps(report, indent=2) + "\n")
        write_text_atomic(csv_path, report_csv(results))
    except (CheckpointError, EnvError, EvalError) as e:
        return _fail(str(e).splitlines()[0])
    except KeyboardInterrupt:
        print("snd-player eval: interrupted; no report written", file=sys.stderr)
        return 130
    except OSError as e:
        return _fail(f"{getattr(e, 'filename', '') or ''} {e.strerror or e}".strip())
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_summary(report, out, csv_path)
    return 0


def _print_summary(report: dict[str, Any], out: Path, csv_path: Path) -> None:
    c, s, ln, rooms = report["checkpoint"], report["score"], report["length"], report["rooms"]
    steps = f"{c['global_step']:,}" if isinstance(c.get("global_step"), int) else "?"
    print(
        f"{c['algo']} on {c['env_id']} ({steps} steps trained), {report['episodes']} episodes, "
        f"{'greedy' if report['settings']['greedy'] else 'sampled'} actions, seeds "
        f"{report['settings']['seed']}..{report['settings']['seed'] + report['episodes'] - 1}"
    )
    print(f"  score   {s['mean']:.1f} ± {s['std']:.1f}  (min {s['min']:g}, max {s['max']:g})")
    print(
        f"  length  {ln['mean']:.0f} ± {ln['std']:.0f} steps  (min {ln['min']:g}, max {ln['max']:g})"
        + (f", {report['truncated']} stopped by --max-steps" if report["truncated"] else "")
    )
    union = " ".join(f"{lv}:{rm}" for lv, rm in rooms["union"])
    print(
        f"  rooms   {rooms['per_episode']['mean']:.1f} per episode, {rooms['union_count']} in all"
        + (f" ({union})" if union else "")
    )
    if report["intrinsic"]:
        r, e = report["intrinsic"]["r_int"], report["intrinsic"]["error"]
        print(
            f"  r_int   {r['mean']:.4g} ± {r['std']:.4g}  (max {r['max']:.4g});  "
            f"error {e['mean']:.4g} ± {e['std']:.4g}  (max {e['max']:.4g})"
        )
    t = report["timing"]
    print(f"  {report['steps']:,} steps in {t['seconds']:.1f} s ({t['steps_per_s']:.0f} steps/s)")
    print(f"  -> {out}, {csv_path}")
