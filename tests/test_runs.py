"""trainer/runs.py as the player uses it: resolving a path to a checkpoint, and reading a metrics file that a
trainer is still appending to (only the new bytes, a partial last line never a row, a rewrite detected)."""

from __future__ import annotations

import json
import os

import pytest

from trainer.runs import MetricsTail, Run, RunError, resolve_target, run_of_checkpoint


def test_resolve_best_latest_and_step(tiny_run):
    ckpts = tiny_run / "checkpoints"
    path, run = resolve_target(tiny_run)
    assert path == ckpts / "best.safetensors" and run is not None and run.path == tiny_run
    assert resolve_target(tiny_run, "latest")[0] == ckpts / "000000000096.safetensors"
    assert resolve_target(tiny_run, "64")[0] == ckpts / "000000000064.safetensors"
    assert resolve_target(ckpts, "32")[0] == ckpts / "000000000032.safetensors"  # the checkpoints/ folder too
    # a file inside a run knows its run; a file elsewhere has none
    path, run = resolve_target(ckpts / "000000000064.safetensors")
    assert run is not None and run.path == tiny_run
    assert run_of_checkpoint(tiny_run / "config.json") is None


def test_resolve_errors_are_one_line(tiny_run, tmp_path):
    with pytest.raises(RunError, match=r"no checkpoint at step 65 \(have: 32, 64, 96\)"):
        resolve_target(tiny_run, "65")
    with pytest.raises(RunError, match="expected best, latest or a step number"):
        resolve_target(tiny_run, "newest")
    with pytest.raises(RunError, match="is a folder but not a training run"):
        resolve_target(tmp_path)
    with pytest.raises(RunError, match="is a single file"):
        resolve_target(tiny_run / "checkpoints" / "best.safetensors", "latest")
    (tmp_path / "metrics.jsonl").write_text("")
    with pytest.raises(RunError, match="no checkpoint yet"):
        resolve_target(tmp_path)


def test_checkpoint_infos_carry_step_score_rooms(tiny_run):
    infos = Run(tiny_run).checkpoints()
    assert [i.step for i in infos] == [32, 64, 96]
    for i in infos:
        assert i.rooms == 1  # Montezuma's start room, read from the metadata
        assert f"step {i.step}" in i.label and "rooms 1" in i.label


def _row(update: int) -> bytes:
    return (
        json.dumps({"update": update, "global_step": 32 * update, "score_mean": float(update)}) + "\n"
    ).encode()


def test_tail_keeps_a_partial_line_until_its_newline(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = MetricsTail(path)
    assert tail.poll() == ([], False)  # no file yet: nothing, no error
    line = _row(1)
    with open(path, "wb") as f:
        f.write(line[:10])
        f.flush()
        assert tail.poll() == ([], False)
        f.write(line[10:-1])
        f.flush()
        assert tail.poll() == ([], False)  # complete JSON but no newline yet: the writer may not be done
        f.write(b"\n" + _row(2) + b"{not json}\n" + _row(3)[:5])
        f.flush()
        rows, restarted = tail.poll()
        assert [r["update"] for r in rows] == [1, 2] and not restarted  # the garbage line is skipped
        f.write(_row(3)[5:])
        f.flush()
        assert [r["update"] for r in tail.poll()[0]] == [3]
    assert tail.poll() == ([], False)


def test_tail_reads_only_the_new_bytes(tmp_path):
    """Bytes already read are not read again: overwriting them in place (same size, same file) changes
    nothing, while a reader that parses the whole file each time (and skips the rows it has) stops at the
    scribble and never returns row 3."""
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(_row(1) + _row(2))
    tail = MetricsTail(path)
    assert [r["update"] for r in tail.poll()[0]] == [1, 2]
    with open(path, "r+b") as f:
        f.write(b"#" * (len(_row(1)) - 1) + b"\n")  # an in-place scribble over bytes already read
        f.seek(0, os.SEEK_END)
        f.write(_row(3))
    assert [r["update"] for r in tail.poll()[0]] == [3]


def test_tail_starts_over_when_the_file_is_cut_back(tmp_path):
    """A resume rewrites metrics.jsonl with fewer rows (trainer.metrics.truncate_metrics, os.replace)."""
    from trainer.metrics import truncate_metrics

    path = tmp_path / "metrics.jsonl"
    path.write_bytes(_row(1) + _row(2) + _row(3))
    tail = MetricsTail(path)
    assert len(tail.poll()[0]) == 3
    truncate_metrics(path, 2)
    rows, restarted = tail.poll()
    assert restarted and [r["update"] for r in rows] == [1, 2]
    with open(path, "ab") as f:
        f.write(_row(3))
    assert tail.poll() == ([json.loads(_row(3))], False)


def test_tail_of_a_real_run_matches_read_metrics(tiny_run, tmp_path):
    src = tiny_run / "metrics.jsonl"
    data = src.read_bytes()
    path = tmp_path / "metrics.jsonl"
    tail, got = MetricsTail(path), []
    with open(path, "wb") as f:
        for i in range(0, len(data), 97):  # dribbled in odd-sized pieces, as a live trainer might flush
            f.write(data[i : i + 97])
            f.flush()
            got += tail.poll()[0]
    assert got == Run(tiny_run).metrics() and len(got) == 3
