"""Env worker processes exit quietly when the trainer that owns them dies (issue 15, item 7)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# A parent that owns a pool of 2 workers (8 envs each, so a step keeps them busy) and steps it
# without pause, so it is killed while the workers are mid-step: they then reply into a dead pipe.
PARENT = """
import sys
from trainer.envs import EnvConfig, make_vec_env
import numpy as np
venv = make_vec_env(EnvConfig(), 16, 0, num_workers=2)
venv.reset()
print(" ".join(map(str, venv.worker_pids)), flush=True)
while True:
    venv.step(np.zeros(16, dtype=np.int64))
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purpose (its parent died; init reaps it)
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_exit_quietly_when_the_parent_is_killed(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for trial in range(2):  # kills at different moments of the step cycle
        err_path = tmp_path / f"stderr{trial}.txt"
        with open(err_path, "wb") as err:
            p = subprocess.Popen([sys.executable, "-c", PARENT], env=env, stdout=subprocess.PIPE, stderr=err)
            pids = [int(x) for x in p.stdout.readline().split()]
            assert len(pids) == 2, err_path.read_text()
            time.sleep(0.3 + 0.17 * trial)
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            p.stdout.close()
            deadline = time.time() + 20
            while time.time() < deadline and any(_alive(pid) for pid in pids):
                time.sleep(0.05)
            assert not any(_alive(pid) for pid in pids), "env workers outlived their parent"
        assert err_path.read_text() == "", err_path.read_text()
