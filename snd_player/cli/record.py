"""``snd-player record ...``: the command lines of the three videos, parsed here and handed to the media layer.

- ``snd-player record CKPT --out demo.mp4``: one agent, with or without the panels
  (:func:`snd_player.media.record.record`);
- ``snd-player record --compare A B --out ab.mp4``: two agents side by side
  (:func:`snd_player.media.compare_video.record_compare`);
- ``snd-player record RUN --across-checkpoints --out evolution.mp4``: a run checkpoint by checkpoint
  (:func:`snd_player.media.evolution.record_evolution`).

What each video holds, and how it is written, is described in those modules. The side-by-side and
evolution videos import Qt's painting only when asked for, so ``record --no-panels`` needs no Qt at all.
"""

from __future__ import annotations

import argparse
import errno
import sys
import time
from pathlib import Path

from snd_player.cli.numbers import MAX_SEED, finite_number, whole_number
from snd_player.cli.parsing import OneLineParser, add_pair_options
from snd_player.media.record import (
    DEFAULT_CRF,
    REAL_TIME_FPS,
    VIDEO_EXTENSIONS,
    LateIntrinsic,
    RecordError,
    VideoRecorder,
    check_output,
    record,
)

MAX_SCALE = 16
"""The largest game-frame magnification: 16x is 2560x3360 for Atari, 1024x1024 for Procgen."""


def add_scale_option(p: argparse.ArgumentParser) -> None:
    """``--scale``, the same for the single video and the evolution video."""
    p.add_argument(
        "--scale",
        type=whole_number(1, MAX_SCALE),
        default=None,
        help="game-frame magnification, whole pixels (default 3 for Atari, 1 for Procgen)",
    )


def add_video_options(p: argparse.ArgumentParser) -> None:
    """``--fps``, ``--crf`` and ``--device``, the same for all three videos."""
    p.add_argument(
        "--fps",
        type=finite_number(1, 240),
        default=REAL_TIME_FPS,
        help="video frames per second (default 15 = real time)",
    )
    p.add_argument(
        "--crf",
        type=whole_number(0, 51),
        default=DEFAULT_CRF,
        help="H.264 quality, 0 = lossless, 18 default, 51 worst",
    )
    p.add_argument("--device", default="cpu", help="torch device for the networks (default cpu)")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="snd-player record",
        description="Record a video of a checkpoint playing: the game alone, or with the player's panels "
        "(intrinsic motivation, values, policy, rooms). One video frame per agent step.",
        epilog="--fps 15 (the default) is real time: Atari runs at 60 frames/s and the agent acts every 4th. "
        "Two agents side by side: snd-player record --compare A B --out ab.mp4 (see --compare --help). "
        "A run checkpoint by checkpoint: snd-player record RUN --across-checkpoints [--every k] "
        "--out evolution.mp4 (see RUN --across-checkpoints --help).",
    )
    p.add_argument("checkpoint", type=Path, help="an snd .safetensors checkpoint or a run folder")
    p.add_argument(
        "--checkpoint",
        dest="which",
        default=None,
        help="of a run folder: best (default), latest or a step number",
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output video: .mp4 (H.264) or .gif (large files: best for short clips)",
    )
    n = p.add_mutually_exclusive_group()
    n.add_argument("--frames", type=whole_number(1, 10**9), default=None, help="record this many agent steps")
    n.add_argument(
        "--episodes",
        type=whole_number(1, 10**6),
        default=None,
        help="record this many whole episodes (default 1)",
    )
    p.add_argument(
        "--start",
        type=whole_number(0, 10**9),
        default=0,
        help="begin the video at this agent step of the episode (the steps before are played, not recorded; "
        "the panels' plots still show them)",
    )
    panels = p.add_mutually_exclusive_group()
    panels.add_argument(
        "--panels",
        dest="panels",
        action="store_true",
        default=True,
        help="game frame plus the player's panels (default)",
    )
    panels.add_argument("--no-panels", dest="panels", action="store_false", help="the game frame alone")
    p.add_argument(
        "--seed", type=whole_number(0, MAX_SEED), default=0, help="env and action-sampling seed (default 0)"
    )
    p.add_argument("--greedy", action="store_true", help="argmax actions instead of sampling")
    p.add_argument(
        "--trajectory",
        type=Path,
        default=None,
        help="play this trajectory file's actions (and seed) under the checkpoint; the video ends with it",
    )
    add_scale_option(p)
    add_video_options(p)
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: at batch size 1 more threads only compete with the encoder)",
    )
    p.add_argument(
        "--saliency",
        choices=("policy", "v_ext", "v_int", "r_int"),
        default=None,
        help="draw this output's saliency map over the game frame (issue 25; see snd_player/core/saliency.py)",
    )
    p.add_argument(
        "--saliency-method",
        choices=("perturbation", "gradxinput"),
        default="perturbation",
        help="perturbation (Greydanus et al. 2018, ~300 forward passes a frame) or gradxinput (one backward)",
    )
    p.add_argument(
        "--saliency-opacity", type=float, default=0.7, help="opacity of the map's strongest pixels (0..1)"
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return p


def _fail(msg: str) -> int:
    print(f"snd-player record: error: {msg}", file=sys.stderr)
    return 2


def _write_error(out: Path, e: BaseException) -> str:
    """The one line for a recording that failed: a full disk is named as such (the encoder's own message
    names its hidden ``.part.mp4`` temp file), the same for one agent, an evolution and ``--compare``."""
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        return f"{out}: no space left on device; nothing was written (the partial video was removed)"
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--compare" in argv:  # two agents side by side: snd_player.media.compare_video
        return compare_main(argv)
    if "--across-checkpoints" in argv:  # a run checkpoint by checkpoint: snd_player.media.evolution
        return evolution_main(argv)
    args = build_parser().parse_args(argv)
    if args.checkpoint.is_dir() or args.which is not None:
        from trainer.runs import RunError, resolve_target

        try:
            args.checkpoint, _ = resolve_target(args.checkpoint, args.which)
        except RunError as e:
            return _fail(str(e))
    traj = None
    if args.trajectory is not None:
        from snd_player.core.trajectory import TrajectoryError, load

        if args.episodes is not None:
            return _fail("--trajectory plays the file's one episode; --episodes does not apply")
        try:
            traj = load(args.trajectory)
        except TrajectoryError as e:
            return _fail(str(e))
        if args.start >= len(traj):
            return _fail(f"--start {args.start}: {args.trajectory} has {len(traj)} steps")
        left = len(traj) - args.start
        args.frames = left if args.frames is None else min(args.frames, left)
    if args.frames is None and args.episodes is None:
        args.episodes = 1
    if not 0.0 <= args.saliency_opacity <= 1.0:
        return _fail(f"--saliency-opacity must be in 0..1, got {args.saliency_opacity:g}")
    try:
        check_output(args.out, VIDEO_EXTENSIONS)
    except RecordError as e:
        return _fail(str(e))

    import torch

    from snd_player.core.session import Session
    from snd_player.core.trajectory import TrajectoryError
    from trainer.checkpoint import CheckpointError
    from trainer.envs import EnvError

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        if traj is not None:  # the file's actions, seed and env dynamics: snd_player.core.trajectory
            from snd_player.core.trajectory import open_replay
            from trainer.agent import load_agent

            session = open_replay(
                load_agent(args.checkpoint, device=args.device),
                traj,
                args.checkpoint,
                str(args.trajectory),
                late_intrinsic=True,
            )
        else:
            session = Session.from_checkpoint(
                args.checkpoint, seed=args.seed, greedy=args.greedy, device=args.device
            )
            session.agent = LateIntrinsic(session.agent)
    except (CheckpointError, EnvError, TrajectoryError) as e:
        return _fail(str(e).splitlines()[0])
    except (OSError, RuntimeError) as e:
        return _fail(
            f"{args.checkpoint}: cannot load ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
        )
    frame_fn = None
    if args.saliency is not None:
        from snd_player.core.saliency import SaliencyError, SaliencyOverlay

        try:
            frame_fn = SaliencyOverlay(
                session.agent.agent, args.saliency, args.saliency_method, args.saliency_opacity
            )
        except SaliencyError as e:
            session.close()
            return _fail(f"--saliency: {e}")
    try:
        info = None
        if args.panels:
            from snd_player.media.dashboard import DashboardInfo, ensure_gui_app

            ensure_gui_app()
            info = DashboardInfo.from_session(session)
        recorder = VideoRecorder(
            args.out, fps=args.fps, panels=args.panels, info=info, scale=args.scale, crf=args.crf,
            frame_fn=frame_fn,
        )  # fmt: skip
        t0 = time.perf_counter()
        record(
            session, recorder, frames=args.frames, episodes=args.episodes, progress=args.progress, start=args.start
        )
        dt = time.perf_counter() - t0
    except KeyboardInterrupt:
        print(f"snd-player record: interrupted; {args.out} was not written", file=sys.stderr)
        return 130
    except (RecordError, OSError) as e:
        return _fail(_write_error(args.out, e))
    finally:
        session.close()
    w, h = recorder.size or (0, 0)
    secs = recorder.frames / recorder.fps
    print(
        f"{args.out}: {recorder.frames} frames, {w}x{h}, {secs:.1f} s at {recorder.fps:g} fps "
        f"(recorded at {recorder.frames / max(dt, 1e-9):.0f} frames/s)"
    )
    return 0


# ---- --across-checkpoints ------------------------------------------------------------------------------
def evolution_parser() -> argparse.ArgumentParser:
    from snd_player.media.evolution import DEFAULT_SEGMENT_FRAMES

    p = OneLineParser(
        prog="snd-player record RUN --across-checkpoints",
        description="A run's evolution on video: one segment per checkpoint (or every k-th), same seed, each "
        "labelled with its step, score and rooms.",
    )
    p.add_argument("run", type=Path, help="a run folder (as `trainer train --run-dir` writes)")
    p.add_argument(
        "--across-checkpoints", action="store_true", required=True, help="one segment per checkpoint"
    )
    p.add_argument(
        "--every", type=whole_number(1, 10**9), default=1, help="every k-th checkpoint (the newest always ends it)"
    )
    p.add_argument("--out", type=Path, required=True, help="output video: .mp4 (H.264) or .gif")
    n = p.add_mutually_exclusive_group()
    n.add_argument(
        "--frames",
        type=whole_number(1, 10**9),
        default=None,
        help=f"agent steps per segment (default {DEFAULT_SEGMENT_FRAMES})",
    )
    n.add_argument("--episodes", type=whole_number(1, 10**6), default=None, help="whole episodes per segment")
    p.add_argument(
        "--seed",
        type=whole_number(0, MAX_SEED),
        default=0,
        help="env and action-sampling seed of every segment (default 0)",
    )
    p.add_argument("--greedy", action="store_true", help="argmax actions instead of sampling")
    add_scale_option(p)
    add_video_options(p)
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no per-segment lines")
    return p


def evolution_main(argv: list[str]) -> int:
    from snd_player.media.evolution import DEFAULT_SEGMENT_FRAMES, pick, record_evolution
    from trainer.checkpoint import CheckpointError
    from trainer.envs import EnvError
    from trainer.runs import Run

    args = evolution_parser().parse_args(argv)

    def fail(msg: str) -> int:
        print(f"snd-player record: error: {msg}", file=sys.stderr)
        return 2

    if args.frames is None and args.episodes is None:
        args.frames = DEFAULT_SEGMENT_FRAMES
    if not Run.is_run(args.run):
        return fail(
            f"{args.run}: not a run folder (expected checkpoints/ or metrics.jsonl, as `trainer train` writes)"
        )
    infos = Run(args.run).checkpoints()
    if not infos:
        return fail(f"{args.run}: no readable step checkpoint in {Run(args.run).ckpt_dir}")
    try:
        check_output(args.out, VIDEO_EXTENSIONS)
    except RecordError as e:
        return fail(str(e))
    import torch

    torch.set_num_threads(1)
    chosen = pick(infos, args.every)
    log = (lambda m: print(m, file=sys.stderr)) if args.progress else None
    try:
        recorder = VideoRecorder(args.out, fps=args.fps, panels=False, scale=1, crf=args.crf)
        t0 = time.perf_counter()
        record_evolution(chosen, recorder, args.frames, args.episodes, args.seed, args.greedy, args.device,
                         args.scale, log)  # fmt: skip
        dt = time.perf_counter() - t0
    except KeyboardInterrupt:
        print(f"snd-player record: interrupted; {args.out} was not written", file=sys.stderr)
        return 130
    except (CheckpointError, EnvError) as e:
        return fail(str(e).splitlines()[0])
    except (RecordError, OSError) as e:
        return fail(_write_error(args.out, e))
    w, h = recorder.size or (0, 0)
    print(
        f"{args.out}: {len(chosen)} checkpoints, {recorder.frames} frames, {w}x{h}, "
        f"{recorder.frames / recorder.fps:.1f} s (recorded at {recorder.frames / max(dt, 1e-9):.0f} frames/s)"
    )
    return 0


# ---- --compare ----------------------------------------------------------------------------------------
def compare_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="snd-player record --compare",
        description="Record two agents side by side on one seed, in lock step, with their intrinsic reward "
        "and V_int overlaid (the compare window's view).",
    )
    p.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), required=True,
                   help="checkpoint files or run folders (their best checkpoint)")  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="output video: .mp4 (H.264) or .gif")
    n = p.add_mutually_exclusive_group()
    n.add_argument("--frames", type=whole_number(1, 10**9), default=None, help="record this many pair steps")
    n.add_argument(
        "--episodes",
        type=whole_number(1, 10**6),
        default=None,
        help="record this many pair episodes (default 1)",
    )
    add_pair_options(
        p, trajectory_end="the video ends with it", normalised="plots normalised to 0..1 instead of two axes"
    )
    add_video_options(p)
    return p


def compare_main(argv: list[str]) -> int:
    from snd_player.core.compare import CompareError, Comparison
    from snd_player.media.compare_video import record_compare
    from trainer.checkpoint import CheckpointError
    from trainer.envs import EnvError
    from trainer.runs import RunError

    args = compare_parser().parse_args(argv)

    def fail(msg: str) -> int:
        print(f"snd-player record: error: {msg}", file=sys.stderr)
        return 2

    for name in ("frames", "episodes"):
        v = getattr(args, name)
        if v is not None and v < 1:
            return fail(f"--{name} must be at least 1, got {v}")
    if args.frames is None and args.episodes is None:
        args.episodes = 1
    try:
        check_output(args.out, VIDEO_EXTENSIONS)
    except RecordError as e:
        return fail(str(e))
    import torch

    from snd_player.core.trajectory import TrajectoryError, load

    torch.set_num_threads(1)
    try:
        traj = None if args.trajectory is None else load(args.trajectory)
        if traj is not None:  # the file's pair steps (or its first --frames)
            args.frames = len(traj) if args.frames is None else min(args.frames, len(traj))
            args.episodes = None
        cmp = Comparison.open(
            *args.compare,
            seed=args.seed,
            greedy=args.greedy,
            device=args.device,
            trajectory=traj,
            which=args.which,
        )
    except (CompareError, RunError, CheckpointError, EnvError, TrajectoryError, OSError) as e:
        return fail(str(e).splitlines()[0])
    try:
        recorder = VideoRecorder(args.out, fps=args.fps, panels=False, scale=1, crf=args.crf)
        t0 = time.perf_counter()
        record_compare(cmp, recorder, frames=args.frames, episodes=args.episodes, normalised=args.normalised)
        dt = time.perf_counter() - t0
    except KeyboardInterrupt:
        print(f"snd-player record: interrupted; {args.out} was not written", file=sys.stderr)
        return 130
    except (RecordError, OSError) as e:
        return fail(_write_error(args.out, e))
    finally:
        cmp.close()
        del cmp  # the emulators must go before interpreter teardown, or nanobind reports them as leaks
        import gc

        gc.collect()
    w, h = recorder.size or (0, 0)
    print(
        f"{args.out}: {recorder.frames} frames, {w}x{h}, {recorder.frames / recorder.fps:.1f} s "
        f"(recorded at {recorder.frames / max(dt, 1e-9):.0f} frames/s)"
    )
    return 0
