"""What ``--resume`` continues from, and what ``--restart`` sets aside: a run folder is never overwritten.

``--resume`` continues from the newest step whose model (``<step>.safetensors``) and resume state
(``<step>.state.pt``) both load, falling back to older steps; when none does it refuses in one line that
lists each step and why it was rejected, so intact checkpoints are never replaced by a fresh start. Newer
models that were passed over are moved to ``<run>/old-<time>/`` rather than overwritten later, and so is a copy
of a metrics.jsonl with unreadable lines (the readable rows up to the checkpoint stay). ``--restart`` moves
the run's own files there (``RUN_ENTRIES``) and starts over; a folder that holds other files and no run is
refused by a fresh start and by ``--restart`` alike. Nothing here deletes a file, except the temp files
of our own atomic writes that a kill left behind (the trainer that wrote them is gone: the caller holds the
folder).

A resume state is read with ``torch.load(weights_only=True)`` only: a file that holds anything but tensors,
numbers, strings and containers of them is "not a snd resume file" and no code in it runs.
"""

from __future__ import annotations

import pickle
import re
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainer.agent import load_agent
from trainer.checkpoint import CheckpointError, read_metadata, step_files
from trainer.config import TrainConfig
from trainer.metrics import read_metrics, truncate_metrics
from trainer.runfiles import read_metric_rows


class ResumeError(ValueError):
    """A run folder that cannot be resumed or started in; the message is one line and names the way out."""


# checkpoint.atomic_write's temp files: "." + final name + "." + mkstemp's 8 random characters + ".tmp"
_OUR_TEMP = re.compile(
    r"\.(?:[0-9]{12}\.safetensors|[0-9]{12}\.state\.pt|best\.safetensors|config\.json)\.[a-z0-9_]{8}\.tmp"
)
_STATE_TYPES: dict[str, type | tuple[type, ...]] = {
    "global_step": int,
    "update": int,
    "wall_time": (int, float),
    "best_score": (int, float),
    "optimizer": dict,
    "motivation_optimizers": dict,
    "gen": torch.Tensor,
    "sample_gen": (torch.Tensor, dict),  # a dict with its device type since resume across devices
    "torch_rng": torch.Tensor,
    "all_rooms": list,
    "recent_scores": list,
}
"""The keys ``Trainer._save`` writes, with their types."""


@dataclass
class ResumePoint:
    """The checkpoint to continue from, its loaded resume state, and the newer steps passed over."""

    checkpoint: Path
    state: dict[str, Any]
    step: int
    passed_over: list[tuple[int, str]]  # (step, why), newest first


def read_resume_state(path: Path, step: int) -> dict[str, Any]:
    """The resume state of the checkpoint at ``step``; ResumeError(one line, starting with the file name)."""
    name = path.name
    if not path.exists():
        if path.with_name(f"{step:012d}.safetensors").exists():
            raise ResumeError(
                f"{name} missing (a weights-only checkpoint: only the newest --keep-resume-states keep their "
                "resume state)"
            )
        raise ResumeError(f"{name} missing")
    if not path.is_file():
        raise ResumeError(f"{name}: not a regular file")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols of foreign files
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's message would advise weights_only=False, i.e. running whatever the file holds
        raise ResumeError(
            f"{name}: not a snd resume file (it holds Python objects other than tensors)"
        ) from None
    except Exception:  # noqa: BLE001 - a truncated zip, a wrong magic number...: all mean the same here
        raise ResumeError(f"{name}: not a snd resume file (truncated or corrupt)") from None
    if not isinstance(state, dict):
        raise ResumeError(
            f"{name}: not a snd resume file (expected a dictionary, found {type(state).__name__})"
        )
    for key, kind in _STATE_TYPES.items():
        if not isinstance(state.get(key), kind):
            raise ResumeError(f"{name}: not a snd resume file ({key!r} missing or of the wrong type)")
    if state["global_step"] != step:
        raise ResumeError(f"{name}: holds the state of step {state['global_step']}, not of step {step}")
    return state


def _check_model(model: Path, state: dict[str, Any], cfg: TrainConfig | None) -> None:
    """Load the model (validates its tensors), check it is this run's kind of agent (``cfg``: the run's
    config) and that the optimiser state fits it."""
    if not model.exists():
        raise ResumeError(f"{model.name} missing")
    try:
        agent = load_agent(model)
    except CheckpointError as e:
        raise ResumeError(str(e).replace(f"{model}: ", f"{model.name}: ", 1).splitlines()[0]) from None
    if cfg is not None:
        theirs, ours = agent.config, cfg
        if (theirs.algo, theirs.env, theirs.encoder) != (ours.algo, ours.env, ours.encoder):
            raise ResumeError(
                f"{model.name}: a {theirs.algo} {theirs.encoder}-encoder agent for {theirs.env}, but this run "
                f"trains {ours.algo} with the {ours.encoder} encoder on {ours.env}"
            )
    n_params = len(list(agent.policy.parameters()))
    groups = state["optimizer"].get("param_groups")
    n_opt = sum(len(g.get("params", [])) for g in groups) if isinstance(groups, list) else -1
    if n_opt != n_params:
        raise ResumeError(
            f"{model.stem}.state.pt: its optimiser is for {n_opt} parameter tensors, the model has {n_params}"
        )


def _steps(ckpt_dir: Path) -> list[int]:
    """Steps that have a model or a resume state file, newest first (the one listing,
    :func:`trainer.checkpoint.step_files`)."""
    return sorted(step_files(ckpt_dir)[0], reverse=True)


def holds_a_run(run_dir: Path) -> str | None:
    """What in ``run_dir`` a fresh start would mix with (checkpoints, metric rows), or None."""
    run_dir = Path(run_dir)
    steps = _steps(run_dir / "checkpoints")
    if steps:
        return f"checkpoints up to step {steps[0]:,}"
    if (run_dir / "checkpoints" / "best.safetensors").exists():
        return "a best.safetensors checkpoint"
    rows = read_metrics(run_dir / "metrics.jsonl")
    if rows:
        return f"{len(rows)} metric rows of a run stopped before its first checkpoint"
    return None


def find_resume_point(run_dir: Path, cfg: TrainConfig | None = None) -> ResumePoint | None:
    """The newest step whose model and resume state both load (and, given the run's ``cfg``, whose model is
    this run's kind of agent); None when the folder holds no run at all (no checkpoint file, no metric row:
    a fresh start loses nothing). Raises ResumeError otherwise."""
    run_dir = Path(run_dir)
    ckpt_dir = run_dir / "checkpoints"
    rejected: list[tuple[int, str]] = []
    for step in _steps(ckpt_dir):
        model = ckpt_dir / f"{step:012d}.safetensors"
        try:
            state = read_resume_state(model.with_suffix(".state.pt"), step)
            _check_model(model, state, cfg)
        except ResumeError as e:
            rejected.append((step, str(e)))
            continue
        return ResumePoint(model, state, step, rejected)
    if not rejected:
        what = holds_a_run(run_dir)
        if what is None:
            return None
        raise ResumeError(
            f"--resume: {run_dir} has no checkpoint to resume ({what}); pass --restart to set its contents "
            "aside and start over"
        )
    why = "; ".join(f"step {s:,}: {reason}" for s, reason in rejected)
    raise ResumeError(
        f"--resume: no checkpoint in {ckpt_dir} can be resumed ({why}); nothing was changed; pass --restart to "
        "set the folder's contents aside and start over"
    )


def remove_stale_temps(run_dir: Path) -> list[Path]:
    """Delete the temp files of ``atomic_write`` that a killed trainer left (ours by name only)."""
    run_dir = Path(run_dir)
    removed = []
    for folder in (run_dir, run_dir / "checkpoints"):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if (_OUR_TEMP.fullmatch(p.name) or p.name == "metrics.jsonl.tmp") and p.is_file():
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def aside_folder(run_dir: Path) -> Path:
    """A new, empty ``<run>/old-<UTC time>[-n]/``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    for n in range(1000):
        target = Path(run_dir) / (f"old-{stamp}" if n == 0 else f"old-{stamp}-{n}")
        try:
            target.mkdir()
            return target
        except FileExistsError:
            continue
    raise ResumeError(f"{run_dir}: cannot make a folder to set old files aside in")


RUN_ENTRIES = ("config.json", "metrics.jsonl", "checkpoints", "tb", "training.png")
"""What ``trainer train`` (and ``scripts/plot_metrics.py``) write in a run folder; with ``old-*`` folders, the
folder lock and our temp files, nothing else is the run's."""


def _ours(name: str) -> bool:
    return (
        name in RUN_ENTRIES
        or name.startswith("old-")
        or name in (".lock", "metrics.jsonl.tmp")
        or _OUR_TEMP.fullmatch(name) is not None
    )


def foreign_entries(run_dir: Path) -> list[str]:
    """Names in ``run_dir`` that no trainer wrote (a project's files, a user's notes), sorted."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    return sorted(p.name for p in run_dir.iterdir() if not _ours(p.name))


def check_run_folder(run_dir: Path, flag: str) -> None:
    """ResumeError for a folder that holds files of its own but no run (no checkpoints/, no metrics.jsonl):
    a fresh start would mix the run's files with them, and --restart must not move them (issue 26)."""
    run_dir = Path(run_dir)
    foreign = foreign_entries(run_dir)
    if not foreign or (run_dir / "checkpoints").is_dir() or (run_dir / "metrics.jsonl").exists():
        return
    shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
    raise ResumeError(
        f"{flag}{run_dir} is not a training run and not empty (it holds {shown}); pick a new or empty --run-dir, "
        f"e.g. --run-dir {run_dir / 'run'}"
    )


def set_aside_everything(run_dir: Path) -> Path | None:
    """``--restart``: move the run's own entries (``RUN_ENTRIES``) into ``old-<time>/``; returns it (None:
    nothing to move).

    Anything else stays where it is: earlier ``old-*`` folders, hidden entries (the folder lock lives in one:
    moving a held lock file would let a second trainer in) and files no trainer wrote (a user's notes beside
    a run; a folder of such files alone is refused earlier, by ``check_run_folder``).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return None
    remove_stale_temps(run_dir)
    entries = [p for p in run_dir.iterdir() if p.name in RUN_ENTRIES]
    if not entries:
        return None
    target = aside_folder(run_dir)
    for p in entries:
        p.rename(target / p.name)
    return target


def set_aside_passed_over(run_dir: Path, point: ResumePoint) -> Path | None:
    """Move the models newer than the resume point (and their state files) to ``old-<time>/checkpoints/``,
    with a copy of metrics.jsonl and of a newer best.safetensors, so resuming overwrites none of them."""
    run_dir = Path(run_dir)
    ckpt_dir = run_dir / "checkpoints"
    movable = [
        p
        for step, _ in point.passed_over
        for p in (ckpt_dir / f"{step:012d}.safetensors", ckpt_dir / f"{step:012d}.state.pt")
        if p.exists()
    ]
    # a state file alone is a checkpoint write cut short: of no use, and the next save replaces it
    if not any(p.suffix == ".safetensors" for p in movable):
        return None
    target = aside_folder(run_dir)
    (target / "checkpoints").mkdir()
    for p in movable:
        p.rename(target / "checkpoints" / p.name)
    best = ckpt_dir / "best.safetensors"
    try:
        best_step = read_metadata(best).get("global_step") if best.exists() else None
    except CheckpointError:
        best_step = None
    if isinstance(best_step, int) and best_step > point.step:
        shutil.copy2(best, target / "checkpoints" / best.name)
    if (run_dir / "metrics.jsonl").exists():
        shutil.copy2(run_dir / "metrics.jsonl", target / "metrics.jsonl")
    return target


def cut_metrics(run_dir: Path, max_update: int, aside: Path | None = None) -> str | None:
    """Cut metrics.jsonl back to the rows of the checkpoint's updates (``update <= max_update``), keeping every
    readable one of them; returns one warning line when unreadable lines were skipped, else None.

    The skipped lines are not lost: the file as it was goes to ``aside`` (``old-<time>/``, made when None),
    where the warning's line numbers point."""
    path = Path(run_dir) / "metrics.jsonl"
    read = read_metric_rows(path)
    if read.bad:
        aside = aside if aside is not None else aside_folder(run_dir)
        if not (aside / "metrics.jsonl").exists():
            shutil.copy2(path, aside / "metrics.jsonl")
    truncate_metrics(path, max_update)
    if not read.bad:
        return None
    return f"--resume: {read.warning()}; the file as it was is in {aside / 'metrics.jsonl'}"
