"""Plot per-step signals of a trajectory (``snd-player eval CKPT --trajectory FILE --out signals.csv``): r_int
and the distillation error on a log scale, V_int below, the background shaded by room and the score's steps
marked. Several CSVs (the same trajectory under several checkpoints) draw one line each.

    .venv/bin/python scripts/plot_trajectory.py demo.csv [other.csv --label demo --label other] \
        --out docs/trajectory-rint.png
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

ROOM_COLOURS = ("#e8eef7", "#fbe9d7", "#e4f4e4", "#f3e3f3", "#fff6cc", "#dff3f6")


def read(path: Path) -> dict[str, np.ndarray]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{path}: no rows")
    cols = ("step", "room", "score", "r_int", "error", "v_int", "v_ext", "p_action")
    return {k: np.array([float(r[k]) for r in rows]) for k in cols}


def room_spans(step: np.ndarray, room: np.ndarray) -> list[tuple[float, float, int]]:
    """(first step, last step + 1, room) of each run of equal rooms."""
    spans, start = [], 0
    for i in range(1, len(room) + 1):
        if i == len(room) or room[i] != room[start]:
            spans.append((step[start] - 0.5, step[i - 1] + 0.5, int(room[start])))
            start = i
    return spans


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", type=Path, nargs="+", help="signals.csv from snd-player eval --trajectory")
    ap.add_argument("--label", action="append", default=None, help="one per CSV (default: file names)")
    ap.add_argument("--title", default=None)
    ap.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = ap.parse_args(argv)
    labels = args.label or [p.stem for p in args.csv]
    if len(labels) != len(args.csv):
        raise SystemExit("give one --label per CSV")
    data = [read(p) for p in args.csv]
    first = data[0]
    fig, (ax_r, ax_e, ax_v) = plt.subplots(
        3, 1, figsize=(10, 6.4), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2]}
    )
    rooms = sorted({int(r) for r in first["room"]})
    colour = {r: ROOM_COLOURS[i % len(ROOM_COLOURS)] for i, r in enumerate(rooms)}
    for ax in (ax_r, ax_e, ax_v):
        for lo, hi, room in room_spans(first["step"], first["room"]):
            ax.axvspan(lo, hi, color=colour[room], lw=0)
        for i in np.flatnonzero(np.diff(first["score"]) > 0) + 1:  # s_i is the first state after a reward
            ax.axvline(first["step"][i] - 0.5, color="#b08000", lw=1, ls="--")
    for lo, hi, room in room_spans(first["step"], first["room"]):
        ax_r.text((lo + hi) / 2, 1.0, f"room {room}", transform=ax_r.get_xaxis_transform(), ha="center",
                  va="bottom", fontsize=9)  # fmt: skip
    ymax = max(float(d["r_int"].max()) for d in data)
    for i in np.flatnonzero(np.diff(first["score"]) > 0) + 1:
        gain = first["score"][i] - first["score"][i - 1]
        ax_r.annotate(f"+{gain:g}", (first["step"][i] - 0.5, ymax), xytext=(3, -10),
                      textcoords="offset points", color="#8a6400", fontsize=8)  # fmt: skip
    for d, label in zip(data, labels, strict=True):
        ax_r.plot(d["step"], np.maximum(d["r_int"], 1e-6), lw=1.2, label=label)
        ax_e.plot(d["step"], np.maximum(d["error"], 1e-6), lw=1.2, label=label)
        ax_v.plot(d["step"], d["v_int"], lw=1.2, label=label)
    ax_r.set_yscale("log")
    ax_e.set_yscale("log")
    ax_r.set_ylabel("r_int (log)")
    ax_e.set_ylabel("distillation\nerror (log)")
    ax_v.set_ylabel("V_int")
    ax_v.set_xlabel("step of the trajectory (dashed: score rises)")
    if len(data) > 1:
        ax_r.legend(loc="upper left", fontsize=8)
    if args.title:
        fig.suptitle(args.title, fontsize=11)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"{args.out}: {len(first['step'])} steps, rooms {' '.join(map(str, rooms))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
