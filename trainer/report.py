"""``trainer report SWEEP_OR_RUNS... --out report/``: many runs into the tables and figures of a paper.

For each game and step budget (``--at 2M,5M``): score and rooms of each algo as the interquartile mean (IQM)
with a 95 % stratified-bootstrap confidence interval, the median and the mean, and the number of runs;
learning curves (score, rooms, r_int) per algo as IQM with CI bands at equal steps; performance profiles;
the probability of improvement of one algo over another (``--compare snd-v,rnd``); a Markdown file that
embeds the PNGs and the tables, and a JSON file with every number.

All statistics are rliable's (Agarwal et al., "Deep RL at the Edge of the Statistical Precipice", NeurIPS
2021; https://github.com/google-research/rliable): ``metrics.aggregate_iqm`` / ``aggregate_mean`` /
``probability_of_improvement`` (the median is the runs' own: rliable's ``aggregate_median`` is one over tasks), ``library.get_interval_estimates`` (percentile CIs
from a stratified bootstrap over runs) and ``library.create_performance_profile``.

What a run's numbers at step S are (read from metrics.jsonl rows, one per update):
- score: the mean of the last 100 episode scores that ended by step S (the trainer's own running score,
  ``recent_score_mean`` in its checkpoints); undefined while no episode has ended;
- rooms: ``rooms_total`` of the last update at or before S (distinct (level, room) pairs seen so far);
- r_int: ``r_int_mean`` of that update.
A run that stopped before S counts up to where it got: in the curves until its last step, in the tables
only at budgets it reached; the report lists such runs and where they stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trainer.config import parse_steps
from trainer.runs import Run
from trainer.sweep import game_name_of_env, sweep_runs

SCORE_WINDOW = 100  # episodes in the running score, as the trainer's recent-score deque
METRICS = ("score", "rooms", "r_int")
NO_INTRINSIC = frozenset({"ppo"})  # algos without an intrinsic reward: no r_int curve (their r_int_mean is 0)
LABELS = {"score": "game score", "rooms": "rooms seen", "r_int": "intrinsic reward (mean)"}


class ReportError(ValueError):
    """Input the report cannot use; one line naming it and what was expected."""


@dataclass
class RunData:
    """One run's series, as the report reads them."""

    path: Path
    algo: str
    game: str
    seed: int | None
    total_steps: int | None
    steps: np.ndarray  # (U,) global_step of each update
    rooms: np.ndarray  # (U,) rooms_total, nan where the game has no rooms
    r_int: np.ndarray  # (U,) r_int_mean
    ep_steps: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (E,) step of the update an episode ended in
    ep_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (E,)

    @property
    def last_step(self) -> int:
        return int(self.steps[-1]) if len(self.steps) else 0

    @property
    def finished(self) -> bool:
        return self.total_steps is not None and self.last_step >= self.total_steps

    def at(self, metric: str, step: int) -> float:
        """The run's ``metric`` at ``step`` (module docstring); nan when it has none there or never got there."""
        if step > self.last_step or not len(self.steps):
            return float("nan")
        if metric == "score":
            done = self.ep_scores[self.ep_steps <= step]
            return float(np.mean(done[-SCORE_WINDOW:])) if len(done) else float("nan")
        i = int(np.searchsorted(self.steps, step, side="right")) - 1
        if i < 0:
            return float("nan")
        return float((self.rooms if metric == "rooms" else self.r_int)[i])


def _num(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else float("nan")


def read_run(path: Path) -> RunData:
    run = Run(path)
    cfg = run.config()
    if cfg is None:
        raise ReportError(f"{path}/config.json: missing or unreadable; expected a run of `trainer train`")
    rows = [r for r in run.metrics() if isinstance(r.get("global_step"), int)]
    ep_steps, ep_scores = [], []
    for r in rows:
        for s in r.get("episode_scores") or []:
            ep_steps.append(r["global_step"])
            ep_scores.append(_num(s))
    total = cfg.get("total_steps")
    seed = cfg.get("seed")
    return RunData(
        path=Path(path), algo=str(cfg.get("algo", "?")), game=game_name_of_env(str(cfg.get("env", "?"))),
        seed=seed if isinstance(seed, int) else None, total_steps=total if isinstance(total, int) else None,
        steps=np.array([r["global_step"] for r in rows], dtype=np.int64),
        rooms=np.array([_num(r.get("rooms_total")) for r in rows]),
        r_int=np.array([_num(r.get("r_int_mean")) for r in rows]),
        ep_steps=np.array(ep_steps, dtype=np.int64), ep_scores=np.array(ep_scores, dtype=float),
    )  # fmt: skip


def load_runs(paths: list[Path]) -> list[RunData]:
    """Every run under the given sweeps, folders of runs, or run folders (each once)."""
    found: list[Path] = []
    for p in paths:
        if not Path(p).is_dir():
            raise ReportError(f"{p}: not a folder; expected a sweep folder or run folders")
        runs = sweep_runs(p)
        if not runs:
            raise ReportError(f"{p}: no run folders in it (expected metrics.jsonl as `trainer train` writes)")
        found += [r for r in runs if r.resolve() not in {f.resolve() for f in found}]
    return [read_run(p) for p in found]


# ---- statistics (rliable) ----------------------------------------------------------------------------------
def _rliable() -> tuple[Any, Any]:
    from rliable import library, metrics

    return library, metrics


def _estimates(scores: dict[str, np.ndarray], func: Callable, reps: int, seed: int) -> tuple[dict, dict]:
    """rliable's point estimates and 95 % percentile CIs from a stratified bootstrap over runs."""
    library, _ = _rliable()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # arch: random_state -> generator, said on every call
        return library.get_interval_estimates(scores, func, reps=reps, random_state=np.random.RandomState(seed))


def summary(values: np.ndarray, reps: int, seed: int) -> dict[str, float]:
    """IQM with its 95 % CI, median and mean of one algo's runs on one game at one budget. (N,) -> dict."""
    _, metrics = _rliable()
    x = np.asarray(values, dtype=float).reshape(-1, 1)  # (runs, tasks=1)
    # the median of the runs: rliable's aggregate_median is the median over tasks of per-task means, which for
    # one game is the mean again
    func = lambda s: np.array([metrics.aggregate_iqm(s), np.median(s), metrics.aggregate_mean(s)])  # noqa: E731
    point, ci = _estimates({"x": x}, func, reps, seed)
    p, c = point["x"], ci["x"]
    return {"iqm": float(p[0]), "iqm_lo": float(c[0, 0]), "iqm_hi": float(c[1, 0]),
            "median": float(p[1]), "mean": float(p[2])}  # fmt: skip


def curve(values: np.ndarray, reps: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IQM and its 95 % CI at each step of (runs, P) values, each step over the runs that have a value
    there (nan = the run stopped earlier, or no episode had ended). -> three (P,) arrays."""
    _, metrics = _rliable()
    P = values.shape[1]
    iqm, lo, hi = (np.full(P, np.nan) for _ in range(3))
    have = np.isfinite(values)  # (runs, P)
    j = 0
    while j < P:  # consecutive steps with the same runs are one bootstrap
        k = j
        while k + 1 < P and (have[:, k + 1] == have[:, j]).all():
            k += 1
        rows = have[:, j]
        if rows.any():
            seg = values[rows][:, None, j : k + 1]  # (runs, tasks=1, steps)
            func = lambda s: np.array([metrics.aggregate_iqm(s[..., i]) for i in range(s.shape[-1])])  # noqa: E731
            point, ci = _estimates({"x": seg}, func, reps, seed)
            iqm[j : k + 1], lo[j : k + 1], hi[j : k + 1] = point["x"], ci["x"][0], ci["x"][1]
        j = k + 1
    return iqm, lo, hi


def probability_of_improvement(x: np.ndarray, y: np.ndarray, reps: int, seed: int) -> dict[str, float]:
    """P(X > Y) of runs X over runs Y, (runs_x, tasks) and (runs_y, tasks), with its 95 % CI (rliable's
    independent stratified bootstrap of each side)."""
    _, metrics = _rliable()
    point, ci = _estimates({"p": (x, y)}, lambda a, b: np.array([metrics.probability_of_improvement(a, b)]), reps, seed)
    return {"p": float(point["p"][0]), "lo": float(ci["p"][0, 0]), "hi": float(ci["p"][1, 0])}


# ---- the report -----------------------------------------------------------------------------------------------
def _fmt_steps(n: int) -> str:
    for div, suf in ((1_000_000, "M"), (1_000, "k")):
        if n >= div and n % (div // 100 or 1) == 0:
            return f"{n / div:g}{suf}"
    return f"{n:,}"


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return "-"
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"


def tables(runs: list[RunData], budgets: list[int], reps: int, seed: int) -> list[dict[str, Any]]:
    """One entry per (game, algo, budget, metric) that has runs: run counts, IQM [CI], median, mean."""
    out = []
    for game in sorted({r.game for r in runs}):
        for algo in sorted({r.algo for r in runs if r.game == game}):
            group = [r for r in runs if r.game == game and r.algo == algo]
            for budget in budgets:
                for metric in ("score", "rooms"):
                    vals = np.array([r.at(metric, budget) for r in group])
                    short = [r for r in group if r.last_step < budget]
                    entry = {"game": game, "algo": algo, "at": budget, "metric": metric, "runs": int(np.isfinite(vals).sum()),
                             "of": len(group), "stopped_before": [str(r.path) for r in short]}  # fmt: skip
                    ok = vals[np.isfinite(vals)]
                    entry.update(summary(ok, reps, seed) if len(ok) else {})
                    out.append(entry)
    return out


def _plot_curves(runs: list[RunData], game: str, points: int, reps: int, seed: int, path: Path) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter

    group = [r for r in runs if r.game == game]
    top = max(r.last_step for r in group)
    grid = np.unique(np.linspace(0, top, points + 1)[1:].astype(np.int64))  # (P,) equal steps for every run
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), constrained_layout=True)
    data: dict[str, Any] = {"steps": grid.tolist()}
    for n, algo in enumerate(sorted({r.algo for r in group})):
        mine = [r for r in group if r.algo == algo]
        colour = f"C{n}"
        for ax, metric in zip(axes, METRICS):
            if metric == "r_int" and algo in NO_INTRINSIC:
                continue  # a flat 0 would read as a measured intrinsic reward
            vals = np.array([[r.at(metric, int(s)) for s in grid] for r in mine])  # (runs, P)
            iqm, lo, hi = curve(vals, reps, seed)
            data.setdefault(algo, {})[metric] = {"iqm": iqm.tolist(), "lo": lo.tolist(), "hi": hi.tolist()}
            x = grid
            ax.plot(x, iqm, color=colour, lw=1.6, label=f"{algo} ({len(mine)} runs)")
            ax.fill_between(x, lo, hi, color=colour, alpha=0.2, lw=0)
            for r in mine:
                if not r.finished and r.last_step < top:  # a run that stopped early: where it stopped
                    ax.axvline(r.last_step, color=colour, ls=":", lw=0.8)
    for ax, metric in zip(axes, METRICS):
        if metric == "rooms" and all(np.isnan(r.rooms).all() for r in group):
            ax.text(0.5, 0.5, f"{game} has no rooms", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        without = sorted({r.algo for r in group} & NO_INTRINSIC) if metric == "r_int" else []
        if without and all(r.algo in NO_INTRINSIC for r in group):
            ax.text(0.5, 0.5, f"{', '.join(without)}: no intrinsic reward", ha="center", va="center",
                    transform=ax.transAxes)  # fmt: skip
            ax.set_axis_off()
            continue
        if without:
            ax.text(0.99, 0.98, f"{', '.join(without)}: no intrinsic reward", ha="right", va="top", fontsize=8,
                    transform=ax.transAxes)  # fmt: skip
        ax.set_title(f"{game}: {LABELS[metric]} (IQM, 95% CI)")
        ax.set_xlabel("agent steps (dotted: where a run stopped early)")
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 200k, 5M
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return data


def _plot_profiles(runs: list[RunData], budget_of: dict[str, int], reps: int, seed: int, path: Path) -> dict:
    """rliable's performance profile per game: the fraction of runs whose score at the game's budget is above
    tau, with its 95 % CI band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    library, _ = _rliable()
    games = sorted(budget_of)
    fig, axes = plt.subplots(1, len(games), figsize=(4.6 * len(games), 3.6), constrained_layout=True, squeeze=False)
    data: dict[str, Any] = {}
    for ax, game in zip(axes[0], games):
        budget = budget_of[game]
        scores = {}
        for algo in sorted({r.algo for r in runs if r.game == game}):
            v = np.array([r.at("score", budget) for r in runs if r.game == game and r.algo == algo])
            if np.isfinite(v).any():
                scores[algo] = v[np.isfinite(v)].reshape(-1, 1)  # (runs, tasks=1)
        if not scores:
            ax.set_axis_off()
            continue
        top = max(float(s.max()) for s in scores.values())
        low = min(0.0, min(float(s.min()) for s in scores.values()))
        taus = np.linspace(low, top * 1.05 if top > low else low + 1.0, 101)  # every score equal: a unit range
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            prof, cis = library.create_performance_profile(scores, taus, reps=reps)
        data[game] = {"at": budget, "tau": taus.tolist()}
        for n, algo in enumerate(scores):
            ax.plot(taus, prof[algo], color=f"C{n}", label=f"{algo} ({len(scores[algo])} runs)")
            ax.fill_between(taus, cis[algo][0], cis[algo][1], color=f"C{n}", alpha=0.2, lw=0)
            data[game][algo] = prof[algo].tolist()
        ax.set_title(f"{game} at {_fmt_steps(budget)} steps")
        ax.set_xlabel("score tau")
        ax.set_ylabel("fraction of runs with score > tau")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return data


def improvement(runs: list[RunData], a: str, b: str, budget_of: dict[str, int], reps: int, seed: int) -> list[dict]:
    """P(a > b) per game at its budget, and over all games at once where both have the same number of runs
    on every game (rliable needs a (runs, games) matrix)."""
    out = []
    cols: dict[str, list[np.ndarray]] = {a: [], b: []}
    for game in sorted(budget_of):
        side = {}
        for algo in (a, b):
            v = np.array([r.at("score", budget_of[game]) for r in runs if r.game == game and r.algo == algo])
            side[algo] = v[np.isfinite(v)]
        if not (len(side[a]) and len(side[b])):
            continue
        p = probability_of_improvement(side[a].reshape(-1, 1), side[b].reshape(-1, 1), reps, seed)
        out.append({"game": game, "at": budget_of[game], "runs": [len(side[a]), len(side[b])], **p})
        for algo in (a, b):
            cols[algo].append(side[algo])
    if len(cols[a]) > 1 and len({len(c) for c in cols[a]}) == 1 and len({len(c) for c in cols[b]}) == 1:
        x, y = np.stack(cols[a], axis=1), np.stack(cols[b], axis=1)  # (runs, games)
        out.append({"game": "all", "at": None, "runs": [x.shape[0], y.shape[0]], **probability_of_improvement(x, y, reps, seed)})
    return out


def markdown(runs: list[RunData], rows: list[dict], poi: list[dict], compare: tuple[str, str] | None,
             figures: dict[str, str], reps: int) -> str:
    """The report as Markdown: runs, one table per game, the figures, the probability of improvement."""
    lines = [f"# Report: {len(runs)} runs", "",
             f"IQM = interquartile mean; [lo, hi] = 95 % stratified-bootstrap CI ({reps} resamples, rliable). "
             f"Score = mean of the last {SCORE_WINDOW} episode scores by that step; rooms = distinct rooms seen by then.",
             ""]  # fmt: skip
    short = [r for r in runs if not r.finished]
    if short:
        lines += ["Runs that stopped before their total steps are counted up to where they got:", ""]
        lines += [f"- `{r.path}` ({r.algo}, {r.game}): step {r.last_step:,} of "
                  f"{r.total_steps:,}" if r.total_steps else f"- `{r.path}`: step {r.last_step:,}" for r in short]  # fmt: skip
        lines.append("")
    for game in sorted({r.game for r in runs}):
        lines += [f"## {game}", "", "| algo | steps | runs | score IQM [95% CI] | median | mean | rooms IQM [95% CI] | median | mean |",
                  "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        mine = [e for e in rows if e["game"] == game]
        for e in [e for e in mine if e["metric"] == "score"]:
            r = next(x for x in mine if x["metric"] == "rooms" and x["algo"] == e["algo"] and x["at"] == e["at"])
            cells = []
            for m in (e, r):
                if "iqm" in m:
                    cells += [f"{_fmt(m['iqm'])} [{_fmt(m['iqm_lo'])}, {_fmt(m['iqm_hi'])}]", _fmt(m["median"]), _fmt(m["mean"])]
                else:
                    cells += ["-", "-", "-"]
            runs_cell = f"{e['runs']} of {e['of']}" if e["runs"] != e["of"] else str(e["runs"])
            lines.append(f"| {e['algo']} | {_fmt_steps(e['at'])} | {runs_cell} | " + " | ".join(cells) + " |")
        lines += ["", f"![{game} curves]({figures[game]})", ""]
    if "profiles" in figures:
        lines += ["## Performance profiles", "", f"![performance profiles]({figures['profiles']})", ""]
    if compare:
        a, b = compare
        lines += [f"## Probability of improvement: P({a} > {b})", "", "| game | steps | runs | P | 95% CI |", "|---|---|---|---|---|"]
        for e in poi:
            steps = _fmt_steps(e["at"]) if e["at"] else "each game's"
            lines.append(f"| {e['game']} | {steps} | {e['runs'][0]} vs {e['runs'][1]} | {e['p']:.2f} | [{e['lo']:.2f}, {e['hi']:.2f}] |")
        lines.append("")
    return "\n".join(lines)


def report(paths: list[Path], out: Path, at: list[int] | None = None, compare: tuple[str, str] | None = None,
           reps: int = 2000, curve_reps: int = 500, points: int = 40, seed: int = 0) -> dict[str, Any]:
    """Write ``out``/report.md, report.json and the PNGs; returns what report.json holds."""
    runs = load_runs(paths)
    algos = {r.algo for r in runs}
    if compare and not set(compare) <= algos:
        missing = ", ".join(sorted(set(compare) - algos))
        raise ReportError(f"--compare: no runs of {missing} (have: {', '.join(sorted(algos))})")
    budgets = sorted(set(at)) if at else [max(r.last_step for r in runs)]
    out.mkdir(parents=True, exist_ok=True)
    rows = tables(runs, budgets, reps, seed)
    figures, curves = {}, {}
    for game in sorted({r.game for r in runs}):
        name = f"curves-{game}.png"
        curves[game] = _plot_curves(runs, game, points, curve_reps, seed, out / name)
        figures[game] = name
    # profiles and improvement at the largest budget that some run of the game reached
    budget_of = {}
    for game in sorted({r.game for r in runs}):
        reached = [b for b in budgets if any(r.last_step >= b for r in runs if r.game == game)]
        if reached:
            budget_of[game] = reached[-1]
    profiles = {}
    if budget_of:
        profiles = _plot_profiles(runs, budget_of, reps, seed, out / "profiles.png")
        figures["profiles"] = "profiles.png"
    poi = improvement(runs, compare[0], compare[1], budget_of, reps, seed) if compare else []
    doc = {"runs": [{"path": str(r.path), "algo": r.algo, "game": r.game, "seed": r.seed, "last_step": r.last_step,
                     "total_steps": r.total_steps, "finished": r.finished} for r in runs],
           "at": budgets, "reps": reps, "table": rows, "improvement": poi, "curves": curves, "profiles": profiles}  # fmt: skip
    (out / "report.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown(runs, rows, poi, compare, figures, reps) + "\n", encoding="utf-8")
    return doc


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="trainer report", description=__doc__.splitlines()[0])
    p.add_argument("paths", nargs="+", type=Path, help="sweep folders, folders of runs, or run folders")
    p.add_argument("--out", type=Path, required=True, help="folder for report.md, report.json and the PNGs")
    p.add_argument("--at", default=None, help="step budgets of the tables, e.g. 2M,5M,10M (default: the last step)")
    p.add_argument("--compare", default=None, metavar="A,B", help="probability that algo A beats algo B")
    p.add_argument("--reps", type=int, default=2000, help="bootstrap resamples of the tables (default 2000)")
    p.add_argument("--curve-reps", type=int, default=500, help="bootstrap resamples at each curve step (default 500)")
    p.add_argument("--points", type=int, default=40, help="equal steps of the curves (default 40)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        at = [parse_steps(s) for s in args.at.split(",") if s.strip()] if args.at else None
        compare = None
        if args.compare:
            parts = [s.strip() for s in args.compare.split(",")]
            if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
                raise ReportError(f"--compare {args.compare!r}: expected two different algos, e.g. snd-v,rnd")
            compare = (parts[0], parts[1])
        for name in ("reps", "curve_reps", "points"):
            if getattr(args, name) < 1:
                raise ReportError(f"--{name.replace('_', '-')} {getattr(args, name)}: expected 1 or more")
        doc = report(args.paths, args.out, at, compare, args.reps, args.curve_reps, args.points, args.seed)
    except ReportError as e:
        print(f"trainer: error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # parse_steps
        print(f"trainer: error: --at: {e}", file=sys.stderr)
        return 2
    print(f"trainer report: {len(doc['runs'])} runs -> {args.out / 'report.md'}")
    return 0
