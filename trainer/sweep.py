"""``trainer sweep``: a grid of training runs (algos x games x seeds x any ``--key v1,v2`` train option)
submitted through submitit, to SLURM or to submitit's local executor with at most N runs at a time.

    trainer sweep --out sweeps/mr --algos snd-v,rnd --games montezuma --seeds 1-3 --max-parallel 2 \\
        -- --num-envs 32 --total-steps 10M
    trainer sweep --out sweeps/mr --executor slurm --slurm-partition gpu --gpus-per-run 1 --time-min 240 ...
    trainer sweep --out sweeps/mr --resume        # re-submits only the cells that have not finished

Layout::

    <sweep>/sweep.json                   what was asked: the grid, the train options, the cells, the submissions
    <sweep>/<algo>/<game>[/<key>-<v>...]/seed-<s>/   one ``trainer train`` run folder per cell
    <sweep>/.submitit/                   submitit's pickles and each job's stdout/stderr

A cell is finished when its newest step checkpoint has reached the run's ``total_steps`` (the checkpoint, not
the metrics, is what ``--resume`` continues from). Each job resumes its own run when the folder already holds
one, so a cell stopped by the wall clock (``--time-min`` becomes the run's ``--max-minutes``, which saves a
checkpoint and exits 0 before the scheduler kills it), preempted (SIGTERM: the trainer saves and exits) or
killed outright (it continues from its last checkpoint) is continued, never restarted, on re-submission.

submitit: https://github.com/facebookincubator/submitit (AutoExecutor / LocalExecutor / SlurmExecutor,
``update_parameters``, ``map_array``, ``slurm_array_parallelism``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import itertools
import json
import os
import re
import shlex
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trainer.config import ALGOS
from trainer.runs import Run

SWEEP_FILE = "sweep.json"
SWEEP_VERSION = 1
SUBMITIT_DIR = ".submitit"

# short names for the paper's games (snd-spec §4.1); any Gymnasium ALE id or procgen:<game> works too
GAMES = {
    "montezuma": "ALE/MontezumaRevenge-v5",
    "gravitar": "ALE/Gravitar-v5",
    "venture": "ALE/Venture-v5",
    "private-eye": "ALE/PrivateEye-v5",
    "pitfall": "ALE/Pitfall-v5",
    "solaris": "ALE/Solaris-v5",
}
# options the sweep sets per cell: giving them as train options would make every cell the same run
OWN_OPTIONS = ("--algo", "--env", "--seed", "--run-dir", "--resume", "--restart")


class SweepError(ValueError):
    """A sweep that cannot be made or continued; the message is one line naming the thing and the fix."""


def game_of(name: str) -> tuple[str, str]:
    """``(folder name, env id)`` of a game given by short name (montezuma), ALE id or procgen:<game>."""
    name = name.strip()
    if name in GAMES:
        return name, GAMES[name]
    for short, env in GAMES.items():
        if env == name:
            return short, env
    if name.startswith("procgen:") and len(name) > len("procgen:"):
        return "procgen-" + name.split(":", 1)[1], name
    m = re.fullmatch(r"ALE/([A-Za-z0-9]+)-v\d+", name)
    if m:
        return m.group(1).lower(), name
    raise SweepError(
        f"--games: unknown game {name!r}; expected one of {', '.join(GAMES)}, an ALE id (ALE/Breakout-v5) "
        "or procgen:<game>"
    )


def game_name_of_env(env: str) -> str:
    """The folder name a sweep gives an env id (``ALE/MontezumaRevenge-v5`` -> ``montezuma``)."""
    try:
        return game_of(env)[0]
    except SweepError:
        return env.replace("/", "-").lower()


def parse_seeds(text: str) -> list[int]:
    """``1,2,5`` or ``1-3`` (inclusive) or both mixed: ``1-3,7``."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m or (m.group(2) is not None and int(m.group(2)) < int(m.group(1))):
            raise SweepError(f"--seeds {text!r}: expected seeds such as 1,2,3 or 1-5")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        seeds.extend(s for s in range(lo, hi + 1) if s not in seeds)
    return seeds


def _slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", value)


@dataclass(frozen=True)
class Cell:
    """One run of the grid: its folder name under the sweep and the ``trainer train`` options of it."""

    algo: str
    game: str
    env: str
    seed: int
    options: tuple[tuple[str, str], ...] = ()  # the grid's other axes, e.g. (("--ppo.lr", "1e-4"),)

    @property
    def name(self) -> str:
        """``snd-v/montezuma/seed-3`` (with ``lr-1e-4/`` before the seed for a ``--ppo.lr`` axis)."""
        axes = [f"{_slug(k.lstrip('-').split('.')[-1])}-{_slug(v)}" for k, v in self.options]
        return "/".join([self.algo, self.game, *axes, f"seed-{self.seed}"])

    def train_argv(self, sweep_dir: Path, fixed: list[str], max_minutes: float | None) -> list[str]:
        """The ``trainer train`` options of this cell (``--resume`` is added by the job when the folder
        holds a run already)."""
        argv = ["--algo", self.algo, "--env", self.env, "--seed", str(self.seed)]
        argv += ["--run-dir", str(sweep_dir / self.name)]
        for k, v in self.options:
            argv += [k, v]
        argv += fixed
        if max_minutes is not None and not any(a == "--max-minutes" or a.startswith("--max-minutes=") for a in fixed):
            argv += ["--max-minutes", f"{max_minutes:g}"]
        return argv


def split_train_options(argv: list[str]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Train options into fixed ones and grid axes: ``--key v1,v2`` is an axis, anything else passes as
    given. Refuses the options the sweep sets itself."""
    fixed: list[str] = []
    axes: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        key, _, inline = a.partition("=")
        if key in OWN_OPTIONS:
            raise SweepError(f"{key}: the sweep sets it for each cell; use --algos, --games, --seeds or --out")
        value = inline if inline else None
        if value is None and key.startswith("--") and i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            value = argv[i + 1]
            i += 1
        i += 1
        if value is not None and "," in value and key.startswith("--"):
            values = [v for v in value.split(",") if v]
            if len(values) < 2 or any(k == key for k, _ in axes):
                raise SweepError(f"{key} {value!r}: a grid axis needs two or more values, once")
            axes.append((key, values))
        elif value is not None:
            fixed += [key, value]
        else:
            fixed.append(a)
    return fixed, axes


def make_cells(algos: list[str], games: list[str], seeds: list[int], axes: list[tuple[str, list[str]]]) -> list[Cell]:
    """Every combination, algo-major then game, the other axes, and the seed last (folder order)."""
    for a in algos:
        if a not in ALGOS:
            raise SweepError(f"--algos: unknown algo {a!r}; valid: {', '.join(ALGOS)}")
    resolved = [game_of(g) for g in games]
    keys = [k for k, _ in axes]
    cells = []
    for algo, (game, env) in itertools.product(algos, resolved):
        for values in itertools.product(*[v for _, v in axes]):
            for seed in seeds:
                cells.append(Cell(algo, game, env, seed, tuple(zip(keys, values))))
    return cells


def max_minutes_for(time_min: float | None) -> float | None:
    """The runs' ``--max-minutes`` for a per-run wall clock: 5 % of it (at least 2.5 minutes) earlier, so
    that the trainer finishes its update and writes its checkpoint before submitit's warning signal (90 s
    before the limit) and the scheduler's kill (never below half of it)."""
    if time_min is None:
        return None
    return round(max(time_min - max(0.05 * time_min, 2.5), time_min / 2), 2)


def check_train_options(argv: list[str]) -> None:
    """Parse one cell's ``trainer train`` options as the trainer will, so that a typo is one line now rather
    than a failed job per cell later."""
    import contextlib
    import io

    import tyro

    from trainer.config import ConfigError, TrainConfig, apply_preset

    preset = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--preset"), "none")
    buf = io.StringIO()
    try:
        with contextlib.redirect_stderr(buf), contextlib.redirect_stdout(buf):
            cfg = tyro.cli(TrainConfig, args=argv, default=apply_preset(TrainConfig(), preset), prog="trainer train")
        cfg.validate()
    except SystemExit:
        said = [ln.strip(" |│─╭╰╮╯") for ln in buf.getvalue().splitlines()]
        said = [ln for ln in said if ln.strip("-") and "help" not in ln.lower()]
        why = said[1] if len(said) > 1 else "see trainer train --help"
        if len(said) > 3 and said[2].lower().startswith("perhaps"):
            why += f" (perhaps {said[3].split()[0]})"
        raise SweepError(f"train options not accepted by trainer train: {why}") from None
    except (ConfigError, ValueError) as e:
        problems = getattr(e, "problems", None) or [str(e).splitlines()[0]]
        raise SweepError(f"train options: {problems[0]}") from None


# ---- a cell's state, read from its run folder ---------------------------------------------------------
@dataclass(frozen=True)
class CellState:
    name: str
    path: Path
    step: int  # newest step checkpoint (0 when none)
    total: int | None  # the run's total_steps (None before config.json exists)

    @property
    def finished(self) -> bool:
        return self.total is not None and self.step >= self.total

    @property
    def started(self) -> bool:
        return self.total is not None

    def describe(self) -> str:
        if self.finished:
            return f"finished at step {self.step:,}"
        if not self.started:
            return "not started"
        return f"stopped at step {self.step:,} of {self.total:,}"


def cell_state(sweep_dir: Path, name: str) -> CellState:
    run = Run(Path(sweep_dir) / name)
    cfg = run.config() if run.path.is_dir() else None
    total = cfg.get("total_steps") if cfg else None
    steps = [int(p.stem) for p in run.step_checkpoints()] if run.path.is_dir() else []
    return CellState(name, run.path, max(steps, default=0), int(total) if isinstance(total, int) else None)


# ---- the job --------------------------------------------------------------------------------------------
def continuation(run_dir: Path) -> list[str]:
    """How a job goes on with the cell's folder: ``--resume`` when it holds a complete step checkpoint (model
    and resume state), ``--restart`` when it holds a run but nothing to resume (killed while writing its
    first checkpoint: what there is goes to old-<time>/ and the run starts over), nothing for a new folder."""
    run = Run(run_dir)
    if not run.path.is_dir() or run.config() is None:
        return []
    if any(p.with_suffix(".state.pt").is_file() for p in run.step_checkpoints()):
        return ["--resume"]
    partial = run.metrics() or run.step_checkpoints() or any(run.ckpt_dir.glob("*.state.pt"))
    return ["--restart"] if partial else ["--resume"]


def run_cell(train_argv: list[str]) -> int:
    """What each submitit job runs: ``trainer train`` on the cell's folder, continuing what the folder holds
    (:func:`continuation`, decided when the job starts, so a requeued or re-submitted job continues it).
    Raises when the trainer fails, so that submitit records the job as failed."""
    from trainer.cli import main as trainer_main

    run_dir = Path(train_argv[train_argv.index("--run-dir") + 1])
    argv = ["train", *train_argv, "--no-progress", *continuation(run_dir)]
    if hasattr(signal, "SIGUSR2") and threading.current_thread() is threading.main_thread():
        # SLURM's warning before the time limit or a preemption (submitit asks for USR2): the trainer's own
        # stop, a checkpoint and exit 0, so that --resume continues the run
        signal.signal(signal.SIGUSR2, lambda *_: os.kill(os.getpid(), signal.SIGTERM))
    print("trainer " + shlex.join(argv), flush=True)
    rc = trainer_main(argv)
    if rc != 0:
        raise RuntimeError(f"trainer train exited with status {rc} in {run_dir}")
    return rc


# ---- sweep.json -----------------------------------------------------------------------------------------
@dataclass
class Sweep:
    """What sweep.json records: the grid as asked and every submission of it."""

    algos: list[str]
    games: list[str]
    seeds: list[int]
    axes: list[tuple[str, list[str]]]
    train_args: list[str]
    executor: str = "local"
    max_parallel: int = 1
    time_min: float | None = None
    slurm: dict[str, Any] = field(default_factory=dict)
    submissions: list[dict[str, Any]] = field(default_factory=list)

    def cells(self) -> list[Cell]:
        return make_cells(self.algos, self.games, self.seeds, self.axes)

    def to_json(self, sweep_dir: Path) -> dict[str, Any]:
        d = asdict(self)
        d["axes"] = [[k, v] for k, v in self.axes]
        d = {"sweep": SWEEP_VERSION, **d}
        mm = max_minutes_for(self.time_min)
        d["cells"] = [
            {"name": c.name, "algo": c.algo, "env": c.env, "seed": c.seed,
             "argv": c.train_argv(sweep_dir, self.train_args, mm)}
            for c in self.cells()
        ]  # fmt: skip
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Sweep:
        return cls(
            algos=list(d["algos"]), games=list(d["games"]), seeds=[int(s) for s in d["seeds"]],
            axes=[(str(k), [str(x) for x in v]) for k, v in d.get("axes", [])],
            train_args=[str(a) for a in d.get("train_args", [])], executor=str(d.get("executor", "local")),
            max_parallel=int(d.get("max_parallel", 1)), time_min=d.get("time_min"),
            slurm=dict(d.get("slurm", {})), submissions=list(d.get("submissions", [])),
        )  # fmt: skip


def is_sweep(path: str | Path) -> bool:
    return (Path(path) / SWEEP_FILE).is_file()


def read_sweep(sweep_dir: Path) -> Sweep:
    path = Path(sweep_dir) / SWEEP_FILE
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(d, dict) or d.get("sweep") != SWEEP_VERSION:
            raise ValueError(f"not a version-{SWEEP_VERSION} sweep file")
        return Sweep.from_json(d)
    except FileNotFoundError:
        raise SweepError(f"{path}: not found; --resume needs a folder made by `trainer sweep --out`") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SweepError(f"{path}: not a readable sweep.json ({str(e).splitlines()[0][:120]})") from None


def write_sweep(sweep_dir: Path, sweep: Sweep) -> None:
    """Atomically (a temporary file renamed over the old one), so a kill never leaves half a sweep.json."""
    path = Path(sweep_dir) / SWEEP_FILE
    tmp = path.with_name(SWEEP_FILE + ".tmp")
    tmp.write_text(json.dumps(sweep.to_json(Path(sweep_dir)), indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def sweep_runs(path: str | Path) -> list[Path]:
    """The run folders of a sweep (in sweep.json's cell order, those that exist), or of any folder holding
    run folders at any depth (sorted), or ``[path]`` for a run folder itself."""
    p = Path(path)
    if Run.is_run(p):
        return [p]
    if is_sweep(p):
        try:
            return [p / c.name for c in read_sweep(p).cells() if Run.is_run(p / c.name)]
        except SweepError:
            pass
    found = []
    for dirpath, dirnames, _ in os.walk(p):
        d = Path(dirpath)
        if Run.is_run(d):
            found.append(d)
            dirnames.clear()  # a run's own folders (checkpoints/, old-*/) are not more runs
            continue
        dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))
    return sorted(found)


# ---- submitting -------------------------------------------------------------------------------------------
def slurm_parameters(sweep: Sweep) -> dict[str, Any]:
    """submitit's SlurmExecutor parameters of a sweep: one task per run, its GPUs, CPUs, memory, the wall
    clock and the array's parallelism; anything else given with --slurm KEY=VALUE passes as is."""
    s = sweep.slurm
    params: dict[str, Any] = {"job_name": "snd-sweep", "ntasks_per_node": 1, "nodes": 1}
    if sweep.time_min is not None:
        params["time"] = max(1, int(round(sweep.time_min)))
    for ours, theirs in (("partition", "partition"), ("account", "account"), ("qos", "qos"),
                         ("constraint", "constraint"), ("gpus_per_run", "gpus_per_node"),
                         ("cpus_per_run", "cpus_per_task"), ("mem_gb", "mem")):  # fmt: skip
        if s.get(ours) is not None:
            params[theirs] = f"{s[ours]}GB" if ours == "mem_gb" else s[ours]
    if s.get("setup"):
        params["setup"] = list(s["setup"])
    params["array_parallelism"] = sweep.max_parallel
    params.update(s.get("extra", {}))
    return params


def _executor(sweep: Sweep, sweep_dir: Path) -> Any:
    import submitit

    folder = sweep_dir / SUBMITIT_DIR / "%j"
    if sweep.executor == "slurm":
        ex = submitit.SlurmExecutor(folder=folder)
        ex.update_parameters(**slurm_parameters(sweep))
        return ex
    ex = submitit.LocalExecutor(folder=folder)
    # the trainer keeps its own wall clock (--max-minutes); submitit's local timeout (2 min by default)
    # would kill it first, so it is set past the runs' own budget
    ex.update_parameters(timeout_min=(sweep.time_min or 7 * 24 * 60) + 5)
    return ex


def _submit_local(ex: Any, cells: list[Cell], argvs: list[list[str]], sweep_dir: Path, n: int) -> list[str]:
    """Run the jobs with at most ``n`` alive at once; returns their ids. Prints one line per job that ends."""
    pending = list(zip(cells, argvs))
    running: list[tuple[Cell, Any]] = []
    ids: list[str] = []
    previous = signal.signal(signal.SIGTERM, _interrupt) if threading.current_thread() is threading.main_thread() else None
    try:
        _drive(ex, pending, running, ids, sweep_dir, n)
    except KeyboardInterrupt:
        # the jobs are this process's children: stop them too, so that --resume finds them stopped, not running
        # on. SIGTERM to submitit's local controller is forwarded to the job and waited for, and on it the
        # trainer writes a checkpoint and exits (submitit's cancel() sends SIGINT, after which the controller
        # kills the job 1 s later, mid-save)
        for _, job in running:
            proc = getattr(job, "_process", None)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            elif proc is None:
                job.cancel(check=False)
        for _, job in running:
            job.wait()
        print(f"trainer sweep: interrupted; {len(running)} running cells stopped; continue with "
              f"trainer sweep --out {sweep_dir} --resume", file=sys.stderr)  # fmt: skip
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return ids


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _drive(ex: Any, pending: list, running: list, ids: list[str], sweep_dir: Path, n: int) -> None:
    while pending or running:
        while pending and len(running) < n:
            cell, argv = pending.pop(0)
            job = ex.submit(run_cell, argv)
            ids.append(str(job.job_id))
            print(f"trainer sweep: started {cell.name} (job {job.job_id})", flush=True)
            running.append((cell, job))
        time.sleep(0.5)
        still = []
        for cell, job in running:
            if not job.done():
                still.append((cell, job))
                continue
            st = cell_state(sweep_dir, cell.name)
            why = "" if job.state == "FINISHED" else f"; job {job.state.lower()}, log {job.paths.stderr}"
            print(f"trainer sweep: {cell.name} {st.describe()}{why}", flush=True)
        running[:] = still


def submit(sweep: Sweep, sweep_dir: Path, only: list[Cell]) -> list[str]:
    mm = max_minutes_for(sweep.time_min)
    argvs = [c.train_argv(sweep_dir, sweep.train_args, mm) for c in only]
    ex = _executor(sweep, sweep_dir)
    if sweep.executor == "slurm":
        jobs = ex.map_array(run_cell, argvs)
        for cell, job in zip(only, jobs):
            print(f"trainer sweep: submitted {cell.name} (job {job.job_id})")
        return [str(j.job_id) for j in jobs]
    return _submit_local(ex, only, argvs, sweep_dir, sweep.max_parallel)


# ---- command line -------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="trainer sweep", allow_abbrev=False,
        description="A grid of training runs through submitit (SLURM or this machine). Options that this "
        "command does not know pass to every `trainer train`; one given as --key v1,v2 becomes a grid axis.",
    )  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="the sweep folder (sweep.json and one run per cell)")
    p.add_argument("--algos", help="comma-separated: ppo, rnd, snd-v, snd-std, snd-vic")
    p.add_argument("--games", help=f"comma-separated: {', '.join(GAMES)}, an ALE id or procgen:<game>")
    p.add_argument("--seeds", help="e.g. 1,2,3 or 1-5")
    p.add_argument("--resume", action="store_true", help="re-submit the cells of --out that have not finished")
    p.add_argument("--dry-run", action="store_true", help="print the cells and their commands; submit nothing")
    p.add_argument("--executor", choices=("local", "slurm"), default=None, help="default local")
    p.add_argument("--max-parallel", type=int, default=None, help="runs alive at once (default 1)")
    p.add_argument("--time-min", type=float, default=None,
                   help="wall clock per run (minutes); the runs' --max-minutes is set a little below it")
    p.add_argument("--slurm-partition", default=None)
    p.add_argument("--slurm-account", default=None)
    p.add_argument("--slurm-qos", default=None)
    p.add_argument("--slurm-constraint", default=None)
    p.add_argument("--gpus-per-run", type=int, default=None)
    p.add_argument("--cpus-per-run", type=int, default=None)
    p.add_argument("--mem-gb", type=int, default=None)
    p.add_argument("--slurm-setup", action="append", default=None,
                   help="a shell line run before each job (module load ..., source venv/bin/activate); repeatable")
    p.add_argument("--slurm", action="append", default=None, metavar="KEY=VALUE",
                   help="any other submitit SlurmExecutor parameter (e.g. exclude=node3); repeatable")
    return p  # fmt: skip


def _csv(text: str | None, what: str) -> list[str]:
    items = [t.strip() for t in (text or "").split(",") if t.strip()]
    if not items:
        raise SweepError(f"--{what}: expected a comma-separated list")
    return items


def _apply_options(sweep: Sweep, args: argparse.Namespace) -> None:
    """Executor options of the command line over those stored (a resumed sweep may get a new wall clock)."""
    if args.executor is not None:
        sweep.executor = args.executor
    if args.max_parallel is not None:
        if args.max_parallel < 1:
            raise SweepError(f"--max-parallel {args.max_parallel}: expected 1 or more")
        sweep.max_parallel = args.max_parallel
    if args.time_min is not None:
        if args.time_min <= 0:
            raise SweepError(f"--time-min {args.time_min:g}: expected minutes above 0")
        sweep.time_min = args.time_min
    for key in ("partition", "account", "qos", "constraint"):
        if getattr(args, f"slurm_{key}") is not None:
            sweep.slurm[key] = getattr(args, f"slurm_{key}")
    for key in ("gpus_per_run", "cpus_per_run", "mem_gb"):
        if getattr(args, key) is not None:
            sweep.slurm[key] = getattr(args, key)
    if args.slurm_setup:
        sweep.slurm["setup"] = args.slurm_setup
    for kv in args.slurm or []:
        k, eq, v = kv.partition("=")
        if not eq or not k:
            raise SweepError(f"--slurm {kv!r}: expected KEY=VALUE (a submitit SlurmExecutor parameter)")
        sweep.slurm.setdefault("extra", {})[k] = v


def main(argv: list[str]) -> int:
    parser = build_parser()
    if "--" in argv:
        i = argv.index("--")
        args, rest = parser.parse_known_args(argv[:i])
        rest += argv[i + 1 :]
    else:
        args, rest = parser.parse_known_args(argv)
    try:
        return _main(args, rest)
    except SweepError as e:
        print(f"trainer: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _main(args: argparse.Namespace, rest: list[str]) -> int:
    out: Path = args.out
    if args.resume:
        if args.algos or args.games or args.seeds or rest:
            raise SweepError("--resume takes the grid from sweep.json; give only --out and executor options")
        sweep = read_sweep(out)
    else:
        if is_sweep(out):
            raise SweepError(f"{out} already holds a sweep; continue it with --resume, or pick another --out")
        fixed, axes = split_train_options(rest)
        seeds = parse_seeds(args.seeds or "")
        sweep = Sweep(_csv(args.algos, "algos"), _csv(args.games, "games"), seeds, axes, fixed)
        check_train_options(sweep.cells()[0].train_argv(out, fixed, None))  # algos, games, options: before any write
    _apply_options(sweep, args)
    cells = sweep.cells()
    states = {c.name: cell_state(out, c.name) for c in cells}
    todo = [c for c in cells if not states[c.name].finished]
    mm = max_minutes_for(sweep.time_min)
    if args.dry_run:
        print(f"trainer sweep: {len(cells)} cells in {out}, {len(todo)} to run ({sweep.executor}, "
              f"at most {sweep.max_parallel} at a time)")  # fmt: skip
        for c in cells:
            st = states[c.name]
            resume = " --resume" if st.started else ""
            print(f"{c.name}: {st.describe()}")
            if not st.finished:
                print("  trainer train " + shlex.join(c.train_argv(out, sweep.train_args, mm)) + resume)
        return 0
    out.mkdir(parents=True, exist_ok=True)
    if not todo:
        write_sweep(out, sweep)
        print(f"trainer sweep: all {len(cells)} cells of {out} have finished; nothing to submit")
        return 0
    stamp = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    entry: dict[str, Any] = {"time": stamp, "executor": sweep.executor, "cells": [c.name for c in todo], "jobs": []}
    sweep.submissions.append(entry)
    write_sweep(out, sweep)  # what was asked is on disk before any job runs
    print(f"trainer sweep: {len(todo)} of {len(cells)} cells to run in {out} ({sweep.executor})", flush=True)
    entry["jobs"] = submit(sweep, out, todo)
    write_sweep(out, sweep)
    if sweep.executor == "slurm":
        print(f"trainer sweep: follow with squeue; when they end, `trainer sweep --out {out} --resume` "
              "re-submits the unfinished ones")  # fmt: skip
        return 0
    left = [c.name for c in cells if not cell_state(out, c.name).finished]
    if left:
        print(f"trainer sweep: {len(left)} cells not finished ({', '.join(left)}); continue with "
              f"trainer sweep --out {out} --resume", file=sys.stderr)  # fmt: skip
        return 1
    print(f"trainer sweep: all {len(cells)} cells finished; trainer report {out} --out {out}/report")
    return 0


# ---- a sweep folder at a glance (the player's run list; no Qt here) --------------------------------------------
@dataclass(frozen=True)
class RunRow:
    """One run of a sweep folder as a list shows it."""

    path: Path
    name: str  # the folder relative to the sweep (snd-v/montezuma/seed-3)
    algo: str
    env: str
    seed: int | None
    step: int  # last update's global_step (0 before the first)
    total: int | None
    score: float | None  # mean of the last 100 episode scores (the trainer's running score), None before any ended
    rooms: int | None  # rooms seen so far (rooms_total of the last update)

    @property
    def finished(self) -> bool:
        return self.total is not None and self.step >= self.total


def sweep_table(path: str | Path) -> list[RunRow]:
    """Every run under ``path`` (see :func:`sweep_runs`) with its last score and rooms."""
    root = Path(path)
    out = []
    for p in sweep_runs(root):
        run = Run(p)
        cfg = run.config() or {}
        rows = run.metrics()
        scores = [s for r in rows for s in (r.get("episode_scores") or []) if isinstance(s, (int, float))]
        last = rows[-1] if rows else {}
        rooms = last.get("rooms_total")
        step = last.get("global_step")
        total, seed = cfg.get("total_steps"), cfg.get("seed")
        out.append(RunRow(
            path=p, name=str(p.relative_to(root)) if p != root else p.name, algo=str(cfg.get("algo", "?")),
            env=str(cfg.get("env", "?")), seed=seed if isinstance(seed, int) else None,
            step=step if isinstance(step, int) else 0, total=total if isinstance(total, int) else None,
            score=sum(scores[-100:]) / len(scores[-100:]) if scores else None,
            rooms=rooms if isinstance(rooms, int) else None,
        ))  # fmt: skip
    return out


def is_sweep_like(path: str | Path) -> bool:
    """A folder the player opens as a list of runs: a sweep, or any folder holding run folders (not a run)."""
    p = Path(path)
    return p.is_dir() and not Run.is_run(p) and (is_sweep(p) or bool(sweep_runs(p)))
