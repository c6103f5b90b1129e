"""Grab the player's two in-between states to PNGs, to look at them (issue 27 items 3 and 4):

- ``loading``: the window while a checkpoint loads beside the GUI thread (header, status bar and cursor say
  what is loading; the window keeps answering);
- ``waiting``: the window on a run whose trainer has just started (config.json, no checkpoint yet): it says
  it waits for the first checkpoint and opens it when it appears.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot_states.py --out docs [--size 1280x720]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--checkpoint", type=Path, default=ROOT / "snd_player/assets/demo.safetensors")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from snd_player.app.main_window import MainWindow
    from snd_player.app.widgets.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_dark_theme(app)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if (w, h) == (1280, 720) else f"-{w}x{h}"

    # loading: grab 0.4 s into the load (it takes seconds: the networks, the checks, the emulator)
    win = MainWindow(session_process=True)
    win.resize(w, h)
    win.show()
    shot = args.out / f"player-loading{suffix}.png"
    grabbed = {}

    def grab() -> None:
        grabbed["loading"] = win.loading is not None
        win.grab().save(str(shot))

    QTimer.singleShot(400, grab)
    t0 = time.perf_counter()
    session = win.load_session(args.checkpoint)
    print(f"{shot}: grabbed {'while loading' if grabbed.get('loading') else 'AFTER the load'}; "
          f"the load took {time.perf_counter() - t0:.1f} s")  # fmt: skip
    session.close()
    win.release()
    win.close()

    # waiting: a run folder as the trainer leaves it in its first minute
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "mr-sndv"
        run.mkdir()
        (run / "config.json").write_text(json.dumps({"algo": "sndv", "env": "ALE/MontezumaRevenge-v5"}))
        win = MainWindow(session_process=True)
        win.resize(w, h)
        win.show()
        win.runs.wait_for_run(run)
        t_end = time.monotonic() + 2.0
        while time.monotonic() < t_end:
            app.processEvents()
            time.sleep(0.02)
        shot = args.out / f"player-waiting{suffix}.png"
        win.grab().save(str(shot))
        print(f"{shot}: a run with config.json and no checkpoint yet")
        win.release()
        win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
