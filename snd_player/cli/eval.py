"""``snd-player eval CKPT --episodes N --out report.json``: the command line of
:func:`snd_player.media.eval.evaluate` (what is played and what the report holds is described there).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from snd_player.cli.numbers import MAX_SEED, whole_number
from snd_player.cli.parsing import OneLineParser
from snd_player.media.eval import (
    EvalError,
    check_writable,
    evaluate,
    report_csv,
    write_saliency_grid,
    write_text_atomic,
)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="snd-player eval",
        description="Play N episodes of a checkpoint headless and write score, length, rooms and intrinsic "
        "reward statistics (JSON, plus one CSV row per episode).",
        epilog="A trajectory's per-step signals: snd-player eval CKPT --trajectory FILE --out signals.csv "
        "(see CKPT --trajectory FILE --help).",
    )
    p.add_argument("checkpoint", type=Path, help="an snd .safetensors checkpoint")
    p.add_argument("--episodes", type=int, default=10, help="episodes to play (default 10)")
    p.add_argument(
        "--seed",
        type=whole_number(0, MAX_SEED - 10**6),
        default=0,
        help="episode i is played from seed S + i (default 0)",
    )
    p.add_argument("--greedy", action="store_true", help="argmax actions instead of sampling")
    p.add_argument(
        "--num-envs", type=int, default=1, help="worker processes playing episodes in parallel (default 1)"
    )
    p.add_argument("--max-steps", type=int, default=None, help="stop an episode after this many agent steps")
    p.add_argument("--out", type=Path, required=True, help="report.json; report.csv is written beside it")
    p.add_argument("--json", action="store_true", help="also print the report to stdout")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument(
        "--threads", type=whole_number(1, 1024), default=1, help="torch CPU threads per process (default 1)"
    )
    p.add_argument(
        "--saliency-grid",
        type=Path,
        default=None,
        help="also write a PNG grid of the top-k r_int moments with their r_int saliency maps (issue 25)",
    )
    p.add_argument("--saliency-k", type=int, default=8, help="moments in the saliency grid (default 8)")
    p.add_argument(
        "--saliency-method",
        choices=("perturbation", "gradxinput"),
        default="perturbation",
        help="saliency of the grid: perturbation (Greydanus et al. 2018, default) or gradxinput",
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return p


def _fail(msg: str) -> int:
    print(f"snd-player eval: error: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a == "--trajectory" or a.startswith("--trajectory=") for a in argv):
        from snd_player.cli.trajectory import eval_main  # per-step signals of a trajectory file

        return eval_main(argv)
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
    moments = None
    if args.saliency_grid is not None:
        from trainer.checkpoint import output_path_problem

        problem = output_path_problem(args.saliency_grid, (".png",))
        if problem:
            return _fail(f"--saliency-grid: {problem}")
        if args.saliency_k < 1:
            return _fail(f"--saliency-k must be at least 1, got {args.saliency_k}")
        if args.num_envs != 1:
            return _fail("--saliency-grid needs --num-envs 1 (the frames stay in this process)")
        from snd_player.core.saliency import TopMoments

        moments = TopMoments(args.saliency_k)

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
            moments=moments,
        )
        write_text_atomic(out, json.dumps(report, indent=2) + "\n")
        write_text_atomic(csv_path, report_csv(results))
        if moments is not None:
            write_saliency_grid(args.saliency_grid, moments, args.saliency_method)
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
        if moments is not None:
            print(
                f"  -> {args.saliency_grid}: r_int saliency ({args.saliency_method}) of the "
                f"{len(moments.moments)} steps of largest distillation error"
            )
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
