"""Plot a run's training curves from metrics.jsonl: score, rooms, intrinsic reward and losses.

    .venv/bin/python scripts/plot_metrics.py runs/mr-sndv [--out docs/training.png] \\
        [--reference docs/data/authors-sndv-mr-early.csv]

``--reference`` draws the authors' logged intrinsic reward and predictor loss (a CSV with columns run,
steps, im_mean and loss_cnd; ``#`` lines are comments) as grey points over ours. The losses panel also shows
the SND-V target's feature magnitude M = mean z_a^2 + mean z_b^2 where the run logs it.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trainer.metrics import read_metrics  # noqa: E402


def series(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    pts = [(r["global_step"], r[key]) for r in rows if r.get(key) is not None]
    if not pts:
        return np.zeros(0), np.zeros(0)
    x, y = zip(*pts)
    return np.asarray(x) / 1e6, np.asarray(y, dtype=float)


REFERENCE_COLUMNS = ("run", "steps", "im_mean", "loss_cnd")


class BadReferenceCSV(ValueError):
    """A reference CSV that cannot be drawn; the message names the file and what was expected."""


def read_reference(path: Path) -> list[dict]:
    """Rows of a reference CSV (``#`` lines skipped), numbers as floats."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadReferenceCSV(f"{path}: cannot read the reference CSV ({exc.__class__.__name__})") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    reader = csv.DictReader(lines)
    missing = [c for c in REFERENCE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise BadReferenceCSV(
            f"{path}: expected a CSV with columns {', '.join(REFERENCE_COLUMNS)}; missing {', '.join(missing)}"
        )
    rows = []
    for n, r in enumerate(reader, start=1):
        try:
            rows.append({k: (v if k == "run" else float(v)) for k, v in r.items()})
        except (TypeError, ValueError):
            raise BadReferenceCSV(f"{path}: data row {n} is not numbers in every column but run: {r}") from None
    if not rows:
        raise BadReferenceCSV(f"{path}: the reference CSV has a header but no rows")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--out", type=Path, default=None, help="PNG (default RUN_DIR/training.png)")
    ap.add_argument("--reference", type=Path, default=None, help="the authors' values to draw over ours (CSV)")
    ap.add_argument("--until", type=int, default=None, help="only the updates up to this agent step (a checkpoint's)")
    args = ap.parse_args(argv)
    try:
        ref = read_reference(args.reference) if args.reference else []
    except BadReferenceCSV as exc:
        print(f"plot_metrics: {exc}", file=sys.stderr)
        return 2
    rows = read_metrics(args.run_dir / "metrics.jsonl")
    if args.until is not None:
        rows = [r for r in rows if r["global_step"] <= args.until]
    if not rows:
        upto = f" up to step {args.until:,}" if args.until is not None else ""
        print(f"plot_metrics: no rows{upto} in {args.run_dir / 'metrics.jsonl'}", file=sys.stderr)
        return 2
    out = args.out or args.run_dir / "training.png"
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), constrained_layout=True)
    (a, b), (c, d) = axes
    # episode scores as points, their running mean as a line
    xs, ys = [], []
    for r in rows:
        for s in r.get("episode_scores") or []:
            xs.append(r["global_step"] / 1e6)
            ys.append(s)
    a.scatter(xs, ys, s=4, alpha=0.3, color="tab:blue", label="episode score")
    x, y = series(rows, "score_mean")
    a.plot(x, y, color="tab:blue", lw=1.5, label="mean per update")
    a.set_title("game score")
    a.legend(loc="upper left", fontsize=8)
    x, y = series(rows, "rooms_total")
    b.plot(x, y, color="tab:green", label="(level, room) pairs seen, cumulative")
    x, y = series(rows, "rooms_episode_mean")
    b.plot(x, y, color="tab:olive", label="rooms per episode (mean)")
    b.set_title("rooms")
    b.legend(loc="upper left", fontsize=8)
    x, y = series(rows, "r_int_mean")
    c.plot(x, y, color="tab:orange", label="r_int mean")
    x, y2 = series(rows, "r_int_std")
    if len(y2) == len(y):
        c.fill_between(x, np.maximum(y - y2, 0.1 * y if ref else 0), y + y2, color="tab:orange", alpha=0.2, label="± std")
    if ref:
        c.scatter([r["steps"] / 1e6 for r in ref], [r["im_mean"] for r in ref], s=14, marker="x",
                  color="0.35", label=f"authors' runs ({len({r['run'] for r in ref})}, 128 envs)", zorder=3)  # fmt: skip
        c.set_yscale("log")  # ours and theirs span 0.001-0.2; on a linear axis the first updates flatten the rest
    c.set_title("intrinsic reward (clip(eta * error, 0, 1))")
    c.legend(loc="lower left" if ref else "upper right", fontsize=8)
    for key, col in (("loss_predictor", "tab:red"), ("loss_target", "tab:purple"), ("loss_value_int", "tab:gray")):
        x, y = series(rows, key)
        if len(y):
            d.plot(x, y, color=col, label=key)
    x, y = series(rows, "target_magnitude")
    if len(y):
        d.plot(x, y, color="tab:purple", ls="--", lw=1, label="target magnitude M")
    if ref:
        d.scatter([r["steps"] / 1e6 for r in ref], [r["loss_cnd"] for r in ref], s=14, marker="x", color="tab:red",
                  alpha=0.6, label="authors' predictor loss", zorder=3)  # fmt: skip
    d.set_yscale("log")
    d.set_title("losses")
    d.legend(loc="upper right", fontsize=8)
    for ax in axes.flat:
        ax.set_xlabel("agent steps (millions)")
        ax.grid(alpha=0.3)
    last = rows[-1]
    fig.suptitle(f"{args.run_dir.name}: {last['global_step']:,} steps, {last['wall_time_s'] / 3600:.2f} h")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"{out}: {len(rows)} updates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
