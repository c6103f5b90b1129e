"""Sustained drawing rate of ``snd-player`` with every panel live, and the networks' time per frame.

    .venv/bin/python scripts/bench_player.py [CKPT] [--seconds 10] [--json]

Without a checkpoint a freshly initialised SND-V agent for Montezuma's Revenge is saved to a temp folder
(the networks cost the same trained or not). The window (1600x1000, all docks shown) plays at each speed in
``--speeds`` for ``--seconds`` after a warm-up, and the script reports:

- ``draw_fps``: frames the window actually drew per second (at max speed a steady clock shows one queued
  step every ``PLAYOUT_FRAME_S``, 16 ms; at paced speeds a frame is drawn when the worker hands over a
  step, at most one per ``MIN_FRAME_S``, about 13.7 ms). Every frame draws the game, the time plots, the
  policy, the timeline and the status; while playing, the point cloud every 4th frame and the room map
  four times a second;
- ``agent_steps_per_s``: agent steps the worker played per second;
- ``inference_ms``: time in the policy and motivation networks per step (one forward each, batch of 1);
- ``draw_ms_p50`` / ``draw_ms_p95``: GUI-thread time to draw one frame into every panel;
- ``frame_ms_p95``: the 95th percentile of the wall time between two drawn frames (16.7 ms = 60 FPS);
- ``loop_latency_ms_p95``: how late a 20 ms GUI timer fires, i.e. how responsive the window stays;
- ``gui_cpu_ms_per_frame``: CPU time of the GUI thread (data hand-over, drawing, painting) per drawn frame,
  and ``gui_capacity_fps`` = 1000 / that: the rate one free core sustains, a figure that other processes
  on a shared machine do not distort the way they distort wall-clock rates;
- ``worker_cpu_ms_per_step``: CPU time of the worker (env + networks) per step: the rest of this process
  for the thread worker, the child's CPU time for the process worker.

``--worker process,thread`` (the default) measures both hosts of the session in one run: the child process
the app uses, and the in-process thread it replaced (same widgets), so before/after come from one machine
state.

The window runs in Qt's own event loop, as in the app (an earlier version of this script polled with
``processEvents`` and 1 ms sleeps, which delayed every timer and pipe read by up to a millisecond and spent
CPU polling; its figures read a few frames a second lower). Runs offscreen when there is no display. The
machine's other load counts: run it on an idle machine for figures to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def fresh_checkpoint(folder: Path, env: str = "ALE/MontezumaRevenge-v5", algo: str = "snd-v") -> Path:
    import torch

    from trainer.agent import build_agent, save_agent
    from trainer.config import TrainConfig

    cfg = TrainConfig(env=env, algo=algo).resolved()
    path = folder / "000000000000.safetensors"
    save_agent(build_agent(cfg, torch.device("cpu"), seed=0), path, 0)
    return path


def child_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a child process so far (Linux /proc), 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def worker_inference_s(win) -> float:
    """Seconds the networks took so far: counted by the process worker, or on the session in a thread."""
    w = win.worker.worker
    return w.inference_s if hasattr(w, "inference_s") else win.session.inference_s


def measure(app, win, speed: float, seconds: float, warmup: float) -> dict:
    from PyQt6.QtCore import QEventLoop, QTimer

    win.set_speed(speed)
    win.play()
    draw_times: list[float] = []
    draw_starts: list[float] = []
    inner = win.draw_now

    def timed_draw() -> None:
        t0 = time.perf_counter()
        inner()
        draw_starts.append(t0)
        draw_times.append(time.perf_counter() - t0)

    win.draw_now = timed_draw
    late: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        late.append(max(0.0, now - last[0] - 0.020))
        last[0] = now

    probe = QTimer()
    probe.setInterval(20)
    probe.timeout.connect(tick)

    def run_for(s: float) -> None:
        # Qt's own event loop, as in the app (a processEvents-and-sleep loop delays every timer and
        # pipe read by up to its sleep and spends CPU polling)
        loop = QEventLoop()
        QTimer.singleShot(int(s * 1000), loop.quit)
        loop.exec()

    run_for(warmup)
    draw_times.clear()
    draw_starts.clear()
    pid = getattr(win.worker.worker, "pid", None)
    drawn0, got0 = win.frames_drawn, win.frames_received
    inf0, steps0 = worker_inference_s(win), win.worker.worker.steps_total
    last[0] = time.perf_counter()
    probe.start()
    t0 = time.perf_counter()
    cpu0, gui0, child0 = time.process_time(), time.thread_time(), child_cpu_s(pid)
    run_for(seconds)
    dt = time.perf_counter() - t0
    cpu, gui = time.process_time() - cpu0, time.thread_time() - gui0
    child = child_cpu_s(pid) - child0
    probe.stop()
    drawn, got = win.frames_drawn - drawn0, win.frames_received - got0
    steps = win.worker.worker.steps_total - steps0
    inference_ms = 1000.0 * (worker_inference_s(win) - inf0) / max(steps, 1)
    gaps = np.diff(np.array(draw_starts)) * 1000.0
    win.pause()
    run_for(0.2)
    win.draw_now = inner
    d = np.array(draw_times) * 1000.0
    gui_ms = 1000.0 * gui / max(drawn, 1)
    worker_cpu = child if pid is not None else cpu - gui
    return {
        "worker": "process" if pid is not None else "thread",
        "speed": "max" if speed == 0 else f"{speed:g}x",
        "seconds": round(dt, 2),
        "draw_fps": round(drawn / dt, 1),
        "frame_ms_p95": round(float(np.percentile(gaps, 95)), 2) if gaps.size else None,
        "agent_steps_per_s": round(got / dt, 1),
        "inference_ms": round(inference_ms, 2),
        "draw_ms_p50": round(float(np.percentile(d, 50)), 2) if d.size else None,
        "draw_ms_p95": round(float(np.percentile(d, 95)), 2) if d.size else None,
        "loop_latency_ms_p95": round(1000.0 * float(np.percentile(late, 95)), 2) if late else None,
        # CPU time, which other processes on a shared machine do not inflate the way they inflate wall time
        "gui_cpu_ms_per_frame": round(gui_ms, 2),
        "gui_capacity_fps": round(1000.0 / gui_ms, 1) if gui_ms else None,
        "worker_cpu_ms_per_step": round(1000.0 * worker_cpu / max(steps, 1), 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", nargs="?", type=Path, help="default: a fresh SND-V agent for Montezuma")
    p.add_argument("--seconds", type=float, default=10.0, help="measured time per speed (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured time first (default 2)")
    p.add_argument("--speeds", default="max,4", help="comma-separated speeds to measure (default max,4)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the player)")
    p.add_argument(
        "--worker",
        default="process,thread",
        help="where the session steps, comma-separated: process (the app's), thread (the old way)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = p.parse_args(argv)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import torch
    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    from snd_player.app.main_window import MainWindow
    from snd_player.app.widgets.theme import apply_dark_theme
    from snd_player.core.session import Session

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = args.checkpoint or fresh_checkpoint(Path(tmp))
        app = QApplication.instance() or QApplication(sys.argv[:1])
        apply_dark_theme(app)
        speeds = [0.0 if s.strip() == "max" else float(s) for s in args.speeds.split(",")]
        rows, load_s = [], 0.0
        for kind in [k.strip() for k in args.worker.split(",") if k.strip()]:
            if kind not in ("process", "thread"):
                p.error(f"--worker takes process and/or thread, got {kind!r}")
            settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
            win = MainWindow(settings=settings, session_process=kind == "process")
            win.resize(1600, 1000)
            win.show()
            t0 = time.perf_counter()
            win.set_session(Session.from_checkpoint(ckpt, seed=0), autoplay=False)
            win.step()  # a child process loads the checkpoint again before its first frame
            t_end = time.perf_counter() + 300
            while win.frames_received < 1 and time.perf_counter() < t_end:
                app.processEvents()
                time.sleep(0.005)
            load_s = max(load_s, time.perf_counter() - t0)
            rows += [measure(app, win, s, args.seconds, args.warmup) for s in speeds]
            win.close()
            win.release()
    out = {
        "checkpoint": str(args.checkpoint or "fresh SND-V agent"),
        "platform": QApplication.platformName(),
        "cores": os.cpu_count(),
        "torch_threads": args.threads,
        "load_s": round(load_s, 2),
        "runs": rows,
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(
            f"snd-player bench: {out['checkpoint']} · Qt platform {out['platform']} · {out['cores']} cores · "
            f"torch threads {args.threads} · load to first frame {out['load_s']} s"
        )
        keys = list(rows[0])
        print("  ".join(f"{k:>20}" for k in keys))
        for r in rows:
            print("  ".join(f"{str(r[k]):>20}" for k in keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
