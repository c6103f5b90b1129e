"""Recording speed of ``snd-player record``, in video frames per second (one frame per agent step).

    .venv/bin/python scripts/bench_record.py [CKPT] [--frames 300] [--json]

Without a checkpoint a freshly initialised SND-V agent for Montezuma's Revenge is saved to a temp folder
(the networks cost the same trained or not). Three figures per mode (no panels, panels):

- ``record``: the real thing, the session stepped in its thread (intrinsic reward in batches of 16) while
  frames are drawn and encoded;
- ``pipeline``: drawing + encoding alone, fed with records played beforehand (what the recorder itself
  costs, whatever the networks cost on this machine);
- the per-frame split: session step, drawing, encoding (milliseconds).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def fresh_checkpoint(folder: Path, env: str = "ALE/MontezumaRevenge-v5", algo: str = "snd-v") -> Path:
    import torch

    from trainer.agent import build_agent, save_agent
    from trainer.config import TrainConfig

    cfg = TrainConfig(env=env, algo=algo).resolved()
    path = folder / "000000000000.safetensors"
    save_agent(build_agent(cfg, torch.device("cpu"), seed=0), path, 0)
    return path


def cpu_s() -> float:
    """CPU seconds used by this process so far, all threads (x264's included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def bench(ckpt: Path, frames: int, warmup: int, folder: Path) -> dict:
    from snd_player.core.session import Session
    from snd_player.media.dashboard import DashboardInfo, ensure_gui_app
    from snd_player.media.record import LateIntrinsic, VideoRecorder, play, record

    ensure_gui_app()
    out: dict = {"checkpoint": str(ckpt), "frames": frames}
    session = Session.from_checkpoint(ckpt, seed=0)
    for _ in range(warmup):
        session.step()
    # the session as the window steps it (intrinsic reward per step) ...
    t0 = time.perf_counter()
    played = [session.step() for _ in range(frames)]
    out["session_steps_per_s"] = round(frames / (time.perf_counter() - t0), 1)
    # ... and as record/eval step it (intrinsic reward in batches), in the same thread as the caller here
    session.agent = LateIntrinsic(session.agent)
    t0 = time.perf_counter()
    for _ in play(session, frames, None):
        pass
    out["session_batched_intrinsic_steps_per_s"] = round(frames / (time.perf_counter() - t0), 1)
    info = DashboardInfo.from_session(session)
    for panels in (False, True):
        key = "panels" if panels else "no_panels"
        # the recorder alone, on records played beforehand
        rec = VideoRecorder(folder / f"pipeline_{key}.mp4", panels=panels, info=info)
        t0 = time.perf_counter()
        with rec:
            for r in played:
                rec.add(r)
        pipe_s = time.perf_counter() - t0
        # the real thing: session thread + drawing + encoding
        session.inference_s = session.env_s = 0.0
        rec = VideoRecorder(folder / f"record_{key}.mp4", panels=panels, info=info)
        t0, c0 = time.perf_counter(), cpu_s()
        record(session, rec, frames=frames, progress=False)
        rec_s, rec_cpu = time.perf_counter() - t0, cpu_s() - c0
        out[key] = {
            "size": list(rec.size or (0, 0)),
            "record_frames_per_s": round(frames / rec_s, 1),
            "pipeline_frames_per_s": round(frames / pipe_s, 1),
            # CPU time per frame, all threads: what the load of other processes does not inflate much;
            # cpu_count * 1000 / cpu_ms_per_frame bounds the frames/s of an otherwise idle machine
            "cpu_ms_per_frame": round(1e3 * rec_cpu / frames, 2),
            "ms_per_frame": {
                "session_step": round(1e3 * (session.inference_s + session.env_s) / frames, 2),
                "draw": round(1e3 * rec.render_s / frames, 2),
                "encode": round(1e3 * rec.encode_s / frames, 2),
            },
        }
    session.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", type=Path, nargs="?", default=None)
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (as snd-player record's default)"
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ckpt = args.checkpoint or fresh_checkpoint(folder)
        res = bench(ckpt, args.frames, args.warmup, folder)
    res["cpu_count"] = os.cpu_count()
    res["load_avg_1min"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(res))
        return 0
    print(
        f"recording speed, {res['frames']} frames, {res['cpu_count']} CPUs (load {res['load_avg_1min']}); "
        f"session alone {res['session_steps_per_s']} steps/s (as the window), "
        f"{res['session_batched_intrinsic_steps_per_s']} steps/s (intrinsic batched, as record and eval)"
    )
    for key in ("no_panels", "panels"):
        r = res[key]
        ms = r["ms_per_frame"]
        w, h = r["size"]
        print(
            f"  {key.replace('_', ' '):9s} {w}x{h}: record {r['record_frames_per_s']:6.1f} frames/s"
            f" | draw+encode alone {r['pipeline_frames_per_s']:6.1f} frames/s"
            f" | per frame: session {ms['session_step']:.1f} ms, draw {ms['draw']:.1f} ms,"
            f" encode {ms['encode']:.1f} ms | CPU {r['cpu_ms_per_frame']:.1f} ms/frame"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
