"""``snd-player [CKPT] [options]`` opens the window; ``snd-player eval|record ...`` run headless tools.

Subcommands are dispatched on the first argument to ``snd_player.cli.<name>.main(argv)``, so a new one is a
module with a ``main`` and an entry in :data:`SUBCOMMANDS`, while ``snd-player CKPT --seed 3`` keeps working
(a checkpoint path is never confused with a subcommand name unless a file of that name exists).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

from snd_player.cli.numbers import MAX_SEED, whole_number

SUBCOMMANDS = {
    "eval": "headless evaluation: snd-player eval CKPT --episodes N --out report.json",
    "record": "demo video: snd-player record CKPT --out demo.mp4 [--frames N] [--panels]",
    "compare": "two agents side by side on one seed: snd-player compare A B [--seed S]",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="snd-player",
        description="Play a checkpoint live and show, frame by frame, what drives the agent.",
        epilog="subcommands: " + "; ".join(f"{k} ({v})" for k, v in SUBCOMMANDS.items()),
    )
    p.add_argument(
        "checkpoint",
        nargs="?",
        help="an snd .safetensors checkpoint, a run folder, or a sweep (a folder of runs: pick one, or two to "
        "compare) (default: the bundled demo)",
    )
    p.add_argument(
        "--checkpoint",
        dest="which",
        default=None,
        help="of a run folder: best (default), latest or a step number",
    )
    p.add_argument(
        "--follow",
        action="store_true",
        help="of a run folder: switch to each newer checkpoint at the next episode boundary",
    )
    p.add_argument("--seed", type=whole_number(0, MAX_SEED), default=0, help="env and action-sampling seed (default 0)")
    p.add_argument("--greedy", action="store_true", help="argmax actions instead of sampling")
    p.add_argument(
        "--trajectory",
        type=Path,
        default=None,
        help="play this trajectory file's actions (and seed) under the checkpoint; at its end the episode "
        "pauses, and Play hands the game to the agent",
    )
    p.add_argument("--speed", default="1", help="0.25, 0.5, 1, 2, 4 or max (relative to 15 agent steps/s)")
    p.add_argument("--frames", type=whole_number(1, 10**9), default=None, help="play this many frames, then pause")
    p.add_argument(
        "--screenshot", type=Path, default=None, help="after --frames, save a PNG of the window and exit"
    )
    p.add_argument(
        "--view", choices=("frame", "stack", "newest"), default="frame", help="what the game view shows"
    )
    p.add_argument("--size", default="1600x1000", help="window size WxH (default 1600x1000)")
    p.add_argument("--device", default="cpu", help="torch device for the networks (default cpu)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: a batch of one frame gains nothing from more, and the window "
        "needs a core of its own)",
    )
    return p


SPEED_CHOICES = (0.25, 0.5, 1.0, 2.0, 4.0, 0.0)
"""snd_player.core.stepper.SPEEDS, written out: checking ``--speed`` must not import torch (a test holds them
equal)."""


def _parse_speed(text: str) -> float:
    try:
        v = 0.0 if text.strip().lower() in ("max", "0") else float(text.rstrip("x"))
    except ValueError:
        v = -1.0
    if v not in SPEED_CHOICES:
        raise SystemExit(f"snd-player: --speed must be one of 0.25, 0.5, 1, 2, 4, max (got {text})")
    return v


def check_paths(args: argparse.Namespace) -> str | None:
    """The one-line reason a path argument cannot work, found with the file system alone: called before
    torch and PyQt6 are imported (seconds on a cold start), so a typo is answered at once (issue 27 item 3)."""
    if args.checkpoint is not None:
        p = Path(args.checkpoint)
        if not p.exists():
            kind = "checkpoint" if p.suffix == ".safetensors" else "checkpoint or run folder"
            return f"{p}: no such file or folder (expected an snd {kind})"
    if args.trajectory is not None and not args.trajectory.is_file():
        return f"{args.trajectory}: no such trajectory file"
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS and not Path(argv[0]).exists():
        name = argv[0]
        try:
            mod = importlib.import_module(f"snd_player.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"snd_player.cli.{name}":
                raise
            print(
                f"snd-player: the '{name}' subcommand is not available in this installation", file=sys.stderr
            )
            return 2
        return int(mod.main(argv[1:]) or 0)
    return player_main(argv)


def player_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    speed = _parse_speed(args.speed)
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"snd-player: --size must look like 1600x1000 (got {args.size})", file=sys.stderr)
        return 2
    headless = not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
    if args.screenshot is not None and headless:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a grab needs no screen, nor X11's libraries
    from snd_player.app.qt_check import missing_qt_libraries_message

    problem = missing_qt_libraries_message()
    if problem:  # Qt would abort with a message naming one library of several
        print(f"snd-player: {problem}", file=sys.stderr)
        return 2
    problem = check_paths(args)  # still before torch and PyQt6 (the Qt check only loads system libraries)
    if problem:
        print(f"snd-player: {problem}", file=sys.stderr)
        return 2

    if args.screenshot is not None and args.frames is None:
        args.frames = 60
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from snd_player.app.main_window import DEMO_CHECKPOINT

    ckpt = (
        Path(args.checkpoint) if args.checkpoint else (DEMO_CHECKPOINT if DEMO_CHECKPOINT.exists() else None)
    )
    if ckpt is not None and ckpt.is_dir() and args.which is None and args.screenshot is None:
        from snd_player.app.sweep_dialog import pick_from_sweep

        picked = pick_from_sweep(ckpt)  # a sweep (or a folder of runs): its list; None for anything else
        if picked is not None and len(picked) != 1:  # cancelled, or two to compare
            return _compare(picked, args) if picked else 0
        ckpt = picked[0] if picked else ckpt
    wait_run = None  # a run whose trainer just started: the window waits for its first checkpoint
    if ckpt is not None and ckpt.is_dir() and args.which in (None, "best", "latest"):
        from trainer.runs import Run

        run_dir = ckpt.parent if ckpt.name == "checkpoints" and Run.is_run(ckpt.parent) else ckpt
        if Run.is_run(run_dir) and Run(run_dir).is_starting() and args.trajectory is None:
            wait_run, ckpt = run_dir, None
    if ckpt is not None and (ckpt.is_dir() or args.which is not None):
        from trainer.runs import RunError, resolve_target

        try:
            ckpt, _ = resolve_target(ckpt, args.which)
        except RunError as e:
            print(f"snd-player: {e}", file=sys.stderr)
            return 2
    if args.trajectory is not None and ckpt is None:
        print("snd-player: --trajectory needs a checkpoint (none given and no bundled demo)", file=sys.stderr)
        return 2
    if ckpt is None and wait_run is None and args.screenshot is not None:
        print("snd-player: --screenshot needs a checkpoint (none given and no bundled demo)", file=sys.stderr)
        return 2

    from PyQt6.QtWidgets import QApplication

    from snd_player.app.lifetime import destroy_now
    from snd_player.app.main_window import MainWindow
    from snd_player.app.widgets.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("snd-player")
    app.setOrganizationName("snd")
    apply_dark_theme(app)
    # the session steps in a child process: the window's own GIL is left to drawing (60 frames a second)
    win = MainWindow(seed=args.seed, greedy=args.greedy, session_process=True)
    try:
        rc = _run_main_window(app, win, args, ckpt, wait_run, (w, h), speed)
    finally:
        win.release()
        destroy_now(win)  # now, not whenever the cycle collector gets to it (see snd_player.app.lifetime)
    # emulator states must die before interpreter teardown, or nanobind reports them as leaks
    import gc

    gc.collect()
    return rc


def _run_main_window(
    app, win, args: argparse.Namespace, ckpt: Path | None, wait_run: Path | None, size: tuple[int, int],
    speed: float,
) -> int:  # fmt: skip
    """What ``player_main`` does with its window until the window is done (closed, grabbed, or its
    checkpoint failed to load); the caller releases and deletes it."""
    from snd_player.app.worker import SPEEDS
    from snd_player.core.trajectory import TrajectoryError
    from trainer.checkpoint import CheckpointError
    from trainer.envs import EnvError

    win.device = args.device
    win.resize(*size)
    win.set_view_mode(args.view)
    win.set_speed(0.0 if args.screenshot is not None else speed)
    session = None
    if ckpt is not None:
        # the window is up at once and says what it loads; the networks and the game are built beside it
        loader = None
        if args.trajectory is not None:  # the file's seed, env dynamics and actions
            from snd_player.core.trajectory import load, open_replay
            from trainer.agent import load_agent

            def loader(path: Path):
                traj = load(args.trajectory)
                agent = load_agent(path, device=args.device)
                args.seed = traj.seed
                if args.frames is not None:  # the file's end pauses the window anyway
                    args.frames = min(args.frames, len(traj))
                return open_replay(agent, traj, path, str(args.trajectory), greedy=args.greedy)

        win.show()
        try:
            session = win.load_session(ckpt, loader=loader)
        except (CheckpointError, EnvError, TrajectoryError, OSError) as e:
            # a terminal or a script sees why, and no window stays open behind an error dialog
            win.close()
            print(f"snd-player: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
            return 2
        if win._closing:  # closed while it loaded
            session.close()
            return 0
    win.show()
    if args.follow:
        win.runs.set_follow(True)
    if wait_run is not None:
        win.runs.wait_for_run(wait_run)
        if args.frames is not None:  # counted from the first checkpoint on
            win.play(args.frames)
    if session is not None:
        win.set_session(session, autoplay=args.frames is None)
        if args.screenshot is None:  # a scripted grab is not the user opening a file
            win._add_recent(ckpt.resolve())
        if args.frames is not None:
            win.play(args.frames)

    session = None
    if args.screenshot is not None:
        return _screenshot(app, win, args.frames, args.screenshot, speed_after=SPEEDS.index(speed))
    return app.exec()


def _compare(pair: tuple[Path, ...], args: argparse.Namespace) -> int:
    """Two runs picked from a sweep's list, side by side (``snd-player compare A B``)."""
    from snd_player.cli import compare

    argv = [str(pair[0]), str(pair[1]), "--seed", str(args.seed)] + (["--greedy"] if args.greedy else [])
    return int(compare.main(argv) or 0)


def _screenshot(app, win, frames: int, out: Path, speed_after: int, timeout_s: float = 300.0) -> int:
    """Wait until ``frames`` frames are drawn, grab the window to ``out`` and quit."""
    t_end = time.monotonic() + timeout_s
    while time.monotonic() < t_end:
        app.processEvents()
        if win.frames_total >= frames and not win.playing:  # over follow mode's switches too
            break
        time.sleep(0.005)
    else:
        print(
            f"snd-player: only {win.frames_total} of {frames} frames played in {timeout_s:.0f} s",
            file=sys.stderr,
        )
        win.close()
        return 2
    win.speed_box.setCurrentIndex(speed_after)  # the grab shows the speed the user asked for
    for _ in range(5):  # let the last batch, layout and status bar settle
        app.processEvents()
        time.sleep(0.02)
    win._update_status()
    win.draw_now()
    app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = win.grab().save(str(out))
    win.close()
    if not ok:
        print(f"snd-player: could not write {out}", file=sys.stderr)
        return 2
    print(f"{out}: {frames} frames, window {win.width()}x{win.height()}")
    return 0
