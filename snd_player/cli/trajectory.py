"""``snd-player eval CKPT --trajectory FILE --out signals.csv``: a trajectory's per-step signals under a
checkpoint.

The file's actions are played under the checkpoint's networks (:func:`snd_player.core.trajectory.replay`, the
player's Session), and each step writes one CSV row: the state's room, level and score, what the networks
make of it (r_int, the distillation error, V_ext, V_int), the policy's probability of the action taken, who
chose that action, and a hash of the frame (equal hashes = the same frames, whichever checkpoint played).
The intrinsic pass is batched as in ``snd-player eval`` (:class:`snd_player.core.playing.LateIntrinsic`): the same
values as the window's to float32 rounding.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path
from typing import Any

from snd_player.cli.parsing import OneLineParser

CSV_COLUMNS = (
    "step", "room", "level", "score", "r_int", "error", "v_ext", "v_int", "p_action", "chooser",
    "action", "action_name", "reward", "x", "y", "lives", "frame_hash",
)  # fmt: skip
"""One row per step t: s_t's room, level, position, lives and score (before a_t), the networks' outputs on
s_t, p(a_t), who chose a_t, a_t itself, the game reward of a_t, and s_t's frame hash."""


def signals_csv(steps: list[Any]) -> str:
    """The CSV text of replayed steps (:class:`snd_player.core.trajectory.ReplayStep`); floats at full precision."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for s in steps:
        r = s.record
        w.writerow(
            [
                r.t, r.room, r.level, f"{r.score:g}", repr(r.r_int), repr(r.int_error), repr(r.v_ext),
                repr(r.v_int), repr(s.p_action), s.chooser, r.action, r.action_name, f"{r.raw_reward:g}",
                r.x, r.y, r.lives, s.frame_hash,
            ]
        )  # fmt: skip
    return buf.getvalue()


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="snd-player eval",
        description="Play a trajectory file's actions under a checkpoint's networks and write one CSV row per "
        "step: room, level, score, r_int, distillation error, V_ext, V_int, p(action taken), chooser.",
    )
    p.add_argument("checkpoint", type=Path, help="an snd .safetensors checkpoint or a run folder")
    p.add_argument(
        "--checkpoint", dest="which", default=None, help="of a run folder: best (default), latest or a step"
    )
    p.add_argument("--trajectory", type=Path, required=True, help="a trajectory .json file")
    p.add_argument("--out", type=Path, required=True, help="signals.csv, one row per step")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return p


def _fail(msg: str) -> int:
    print(f"snd-player eval: error: {msg}", file=sys.stderr)
    return 2


def eval_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from snd_player.core.trajectory import TrajectoryError, load

    try:
        traj = load(args.trajectory)
    except TrajectoryError as e:
        return _fail(str(e))
    from trainer.checkpoint import output_path_problem

    if args.out.suffix.lower() == ".csv" and not args.out.parent.is_dir():
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            return _fail(f"{args.out}: cannot create folder {args.out.parent} ({e.strerror or e})")
    problem = output_path_problem(args.out, (".csv",))
    if problem:
        return _fail(problem)

    import torch
    from tqdm import tqdm

    from snd_player.core.trajectory import open_replay, replay
    from snd_player.media.eval import write_text_atomic
    from trainer.agent import load_agent
    from trainer.checkpoint import CheckpointError
    from trainer.envs import EnvError

    torch.set_num_threads(max(1, args.threads))
    ckpt = args.checkpoint
    try:
        if ckpt.is_dir() or args.which is not None:
            from trainer.runs import RunError, resolve_target

            try:
                ckpt, _ = resolve_target(ckpt, args.which)
            except RunError as e:
                return _fail(str(e))
        agent = load_agent(ckpt, device=args.device)
        t0 = time.perf_counter()
        session = open_replay(agent, traj, ckpt, str(args.trajectory), late_intrinsic=True)
        try:
            with tqdm(
                total=len(traj), unit="step", desc="replaying", disable=not args.progress, file=sys.stderr
            ) as bar:
                steps = []
                for s in replay(session, traj, str(args.trajectory)):
                    steps.append(s)
                    bar.update(1)
        finally:
            session.close()
        dt = time.perf_counter() - t0
        write_text_atomic(args.out, signals_csv(steps))
    except (CheckpointError, EnvError, TrajectoryError) as e:
        return _fail(str(e).splitlines()[0])
    except KeyboardInterrupt:
        print("snd-player eval: interrupted; nothing written", file=sys.stderr)
        return 130
    except OSError as e:
        return _fail(f"{getattr(e, 'filename', '') or ''} {e.strerror or e}".strip())
    rooms: list[int] = []
    for s in steps:
        if not rooms or rooms[-1] != s.record.room:
            rooms.append(s.record.room)
    last = steps[-1].record
    r_int = [s.record.r_int for s in steps]
    print(
        f"{agent.algo} on {traj.env_id}: {len(steps)} steps of {args.trajectory.name} "
        f"(seed {traj.seed}), rooms {' -> '.join(map(str, rooms))}, score {last.score + last.raw_reward:g}"
    )
    if agent.motivation is not None:
        print(f"  r_int mean {sum(r_int) / len(r_int):.4g}, max {max(r_int):.4g}")
    print(f"  {len(steps)} steps in {dt:.1f} s -> {args.out}")
    return 0
