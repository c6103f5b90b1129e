"""``snd-player record RUN --across-checkpoints``: one labelled segment per checkpoint of a run `trainer train`
wrote in the test, each showing that checkpoint's own play on the same seed."""

from __future__ import annotations

import numpy as np
import pytest

from snd_player.media.evolution import BANNER_H, pick
from trainer.runs import Run

av = pytest.importorskip("av")


def test_pick_every_kth_always_ends_with_the_newest():
    infos = list(range(7))
    assert pick(infos, 1) == infos
    assert pick(infos, 3) == [0, 3, 6]
    assert pick(infos, 4) == [0, 4, 6]  # the newest is added
    assert pick(infos, 10) == [0, 6]
    assert pick([], 2) == []


def decode(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_segments_per_checkpoint_with_labels(tiny_run, tmp_path, capsys):
    from snd_player.cli.record import main
    from snd_player.core.session import Session

    out = tmp_path / "evolution.mp4"
    assert (
        main([str(tiny_run), "--across-checkpoints", "--every", "2", "--frames", "6", "--out", str(out)]) == 0
    )
    assert "2 checkpoints, 12 frames" in capsys.readouterr().out
    frames = decode(out)
    assert len(frames) == 12 and frames[0].shape == (210 * 3 + BANNER_H, 160 * 3, 3)
    # each segment is its checkpoint playing seed 0 from the start (steps 32 and 96: every 2nd, plus the newest)
    for seg, step in enumerate((32, 96)):
        s = Session.from_checkpoint(tiny_run / "checkpoints" / f"{step:012d}.safetensors", seed=0)
        recs = [s.step() for _ in range(6)]
        s.close()
        for i in (0, 5):
            game = frames[6 * seg + i][BANNER_H:].astype(int)
            want = np.repeat(np.repeat(recs[i].frame, 3, 0), 3, 1).astype(int)
            assert np.abs(game - want).mean() < 4
    # the banner names the checkpoint: it is the same within a segment and differs between segments
    banner = [f[: BANNER_H - 6].astype(int) for f in frames]
    assert np.abs(banner[0] - banner[5]).mean() < 1.0
    assert np.abs(banner[0] - banner[6]).mean() > 1.0


def test_bad_run_and_bad_every_are_one_line(tiny_run, tmp_path, capsys):
    from snd_player.cli.record import main

    out = str(tmp_path / "e.mp4")
    assert main([str(tmp_path), "--across-checkpoints", "--out", out]) == 2
    assert "not a run folder" in capsys.readouterr().err
    for option, value in (("--every", "0"), ("--seed", "-1"), ("--frames", "1.5"), ("--scale", "0")):
        with pytest.raises(SystemExit) as e:  # argparse's own line, as in the single video's form
            main([str(tiny_run), "--across-checkpoints", option, value, "--out", out])
        err = capsys.readouterr().err.strip()
        assert e.value.code == 2 and "\n" not in err and option in err and "expected a whole number" in err
    assert Run(tiny_run).checkpoints()  # nothing was touched
