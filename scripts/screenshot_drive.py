"""Render the window while a person drives, for docs/drive-room2.png (issue 21).

    .venv/bin/python scripts/screenshot_drive.py [--out docs/drive-room2.png] [--size 1600x1000]
                                                 [--keys Space:1,Up:3,Down:3]

Opens the demo checkpoint on the bundled trajectory (snd_player/assets/montezuma-first-room.json: the key,
the left door, then Montezuma's room 0, the second room it reaches), plays the file's 196 steps, turns drive
mode on (F2) and holds the keys given, each for a number of steps (key events through QTest, as a person's
keyboard would send them), then grabs the whole window on Qt's offscreen platform.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "drive-room2.png")
    p.add_argument("--size", default="1600x1000")
    p.add_argument(
        "--keys",
        default="Space:1,Up:3,Down:3,Space:1,Up+Space:1,Down:2",
        help="KEY[+KEY]:STEPS, comma-separated",
    )
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))

    from PyQt6.QtCore import QSettings, Qt
    from PyQt6.QtTest import QTest
    from PyQt6.QtWidgets import QApplication

    from snd_player.app.main_window import MainWindow
    from snd_player.app.widgets.theme import apply_dark_theme
    from snd_player.core.trajectory import load, open_replay
    from trainer.agent import load_agent

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_dark_theme(app)
    demo = ROOT / "snd_player" / "assets" / "demo.safetensors"
    traj = load(ROOT / "snd_player" / "assets" / "montezuma-first-room.json")
    session = open_replay(load_agent(demo), traj, demo)
    settings = QSettings(str(Path("/tmp") / "snd-drive-shot.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings)
    w, h = (int(v) for v in args.size.split("x"))
    win.resize(w, h)
    win.show()
    win.set_speed(0.0)
    win.set_session(session, autoplay=False)
    got: list = []
    win.worker.worker.batch_ready.connect(lambda b: got.extend(b.records))

    def wait(cond, timeout: float = 300.0) -> None:
        t_end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > t_end:
                raise SystemExit(f"screenshot_drive: timed out with {len(got)} steps")
            app.processEvents()
            time.sleep(0.005)

    win.play()
    wait(lambda: len(got) >= len(traj) and not win.playing)
    win.set_speed(1.0)  # held keys step at real time, 15 a second
    win.activateWindow()
    QTest.keyClick(win, Qt.Key.Key_F2)
    for part in args.keys.split(","):
        names, steps = part.split(":")
        keys = [getattr(Qt.Key, f"Key_{k}") for k in names.split("+")]
        n = len(got)
        for k in keys:
            QTest.keyPress(win, k)
        wait(lambda n=n + int(steps): len(got) >= n)
        for k in reversed(keys):
            QTest.keyRelease(win, k)
        wait(lambda: win.drive._ahead == 0)
    for _ in range(10):
        app.processEvents()
        time.sleep(0.02)
    win._update_status()
    win.draw_now()
    app.processEvents()
    last = got[-1]
    ok = win.grab().save(str(args.out))
    driven = sum(r.driven for r in got)
    print(f"{args.out}: step {last.t}, room {last.room}, lives {last.lives}, {driven} driven steps, ok={ok}")
    win.release()
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
