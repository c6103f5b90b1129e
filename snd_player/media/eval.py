"""``snd-player eval CKPT --episodes N --out report.json``: headless evaluation through the player's Session.

Episode i is played from seed ``S + i`` by a fresh :class:`~snd_player.core.session.Session` (sharing the loaded
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

import csv
import io
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainer.checkpoint import atomic_write, output_path_problem

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
    on_record: Any = None,
) -> EpisodeResult:
    """Play one episode from ``seed`` with a fresh Session around an already loaded agent and env.

    The intrinsic reward is computed in batches of the episode's observations (see
    :class:`snd_player.media.record.LateIntrinsic`); everything else comes from the Session's records.
    ``on_record(rec)`` sees each record with its intrinsic values (``--saliency-grid``).
    """
    from snd_player.core.session import Session
    from snd_player.media.record import INTRINSIC_BATCH, LateIntrinsic, fill_intrinsic

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
            if on_record is not None:
                on_record(rec)
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
    on_record: Any = None,
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
                yield play_episode(agent, env, checkpoint, i, s, g, m, on_step, on_record)
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


def write_saliency_grid(path: Path, moments: Any, method: str) -> None:
    """The PNG of ``--saliency-grid``: the kept moments with their r_int saliency maps."""
    import cv2

    from snd_player.core.saliency import SaliencyError, moments_grid

    try:
        image = moments_grid(moments.agent, moments.moments, "r_int", method)
    except SaliencyError as e:
        raise EvalError(f"{path}: {e}") from None
    ok, png = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise EvalError(f"{path}: could not encode the saliency grid as PNG")
    atomic_write(path, lambda tmp: tmp.write_bytes(png.tobytes()))


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
    moments: Any = None,
) -> tuple[dict[str, Any], list[EpisodeResult]]:
    """Play and summarise; raises CheckpointError / EnvError (one line) for a bad checkpoint.

    ``moments`` (a :class:`snd_player.core.saliency.TopMoments`, ``--saliency-grid``) collects the steps of
    largest distillation error; it needs one process (``num_envs`` 1) and gets the agent as ``.agent``."""
    from tqdm import tqdm

    from trainer.agent import load_agent

    agent = load_agent(
        checkpoint, device=device
    )  # here too with workers: a bad file fails in one line, early
    meta = agent.meta
    if moments is not None:
        if agent.motivation is None:
            raise EvalError(f"--saliency-grid: a {agent.algo} agent has no intrinsic reward to rank steps by")
        moments.agent = agent
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

    keep = None if moments is None else moments.add
    t0 = time.perf_counter()
    try:
        results = list(
            run_episodes(
                agent,
                checkpoint,
                episodes,
                seed,
                greedy,
                num_envs,
                max_steps,
                device,
                threads,
                on_progress,
                on_record=keep,
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
