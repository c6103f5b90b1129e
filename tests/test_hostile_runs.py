"""Every file of a run folder read like a checkpoint (issue 26), and a resume that keeps every readable metric
row up to its checkpoint (issue 29, item 1).

The hostile-input corpus is the table ``HOSTILE``: one line per kind of damage (what to put where, and what the
one-line refusal or warning must say); every reader of run files (``trainer.runfiles``) is run over it.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.test_resume import RESUME, TINY, trainer, updates
from tests.test_resume import tb_steps as tb


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run (test_resume's): updates 1 and 2, checkpoints at steps 32 and 64, TensorBoard on."""
    run = tmp_path_factory.mktemp("finished") / "run"
    out = trainer(run, *TINY)
    assert out.returncode == 0, out.stderr
    return run


# ---- issue 29, item 1: one corrupt row loses nothing ---------------------------------------------------------
def test_resume_keeps_readable_rows_before_its_checkpoint_and_sets_the_bad_line_aside(finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    metrics = run / "metrics.jsonl"
    lines = metrics.read_bytes().splitlines(keepends=True)  # updates 1 and 2; the checkpoint is at update 2
    after = json.loads(lines[1])
    after.update(update=3, global_step=96)  # a row past the checkpoint (a killed session's): redone once
    bad = b'{"update": 2, "global_st\xde\xad torn by an editor\n'
    metrics.write_bytes(lines[0] + bad + lines[1] + (json.dumps(after) + "\n").encode())
    out = trainer(run, *RESUME, "--total-steps", "96")
    assert out.returncode == 0, out.stderr
    # rows 1 and 2 were readable and before the checkpoint: kept; 3 was after it: written again, once
    assert updates(run) == [1, 2, 3]
    assert tb(run) == [32, 64, 96]
    warning = [line for line in out.stderr.splitlines() if "unreadable" in line]
    assert len(warning) == 1, out.stderr
    assert str(metrics) in warning[0] and "line 2" in warning[0] and "1 unreadable row" in warning[0]
    (aside,) = run.glob("old-*")
    assert str(aside) in warning[0]
    assert bad in (aside / "metrics.jsonl").read_bytes().splitlines(keepends=True)
