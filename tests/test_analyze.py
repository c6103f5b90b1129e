"""``trainer analyze``: the figure has both panels with coloured points, the random target is the run's
initialisation with the trained normaliser, the variance share is right by hand, and the trainer side never
imports the player or Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.test_record import tiny_checkpoint


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    import torch

    torch.set_num_threads(1)
    return tiny_checkpoint(tmp_path_factory.getbasetemp())


def run(argv: list[str]) -> int:
    from trainer.analyze import main

    return main([*argv, "--no-progress"])


def coloured_pixels(img: np.ndarray) -> int:
    """Pixels that are clearly not grey (points; text and axes are black or grey)."""
    rgb = img[..., :3].astype(np.int16)
    return int(((rgb.max(-1) - rgb.min(-1)) > 60).sum())


def test_figure_has_both_panels_with_points(ckpt, tmp_path, capsys):
    import imageio.v3 as iio

    out = tmp_path / "features.png"
    assert run([str(ckpt), "--out", str(out), "--max-steps", "40", "--max-points", "30", "--seed", "2"]) == 0
    assert "30 of 40 states" in capsys.readouterr().out
    img = iio.imread(out)
    h, w = img.shape[:2]
    assert (w, h) == (1650, 748)
    left, right = img[:, : w // 2], img[:, w // 2 : int(w * 0.85)]  # the legend sits right of the panels
    assert coloured_pixels(left) > 100 and coloured_pixels(right) > 100
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_pca_and_procgen_style_time_colouring(tmp_path):
    from trainer.analyze import Collected, draw_figure, project, save_figure

    rng = np.random.default_rng(0)
    n = 80
    feats = rng.normal(size=(n, 16)).astype(np.float32)
    data = Collected(feats, feats * 2, np.full(n, -1), np.full(n, -1), np.arange(n), np.zeros(n, int))
    assert not data.has_rooms
    xy = project(data.random, "pca", 0)
    assert xy.shape == (n, 2)
    out = tmp_path / "time.png"
    save_figure(draw_figure(data, xy, project(data.trained, "pca", 0), "title", "pca", "no rooms"), out)
    assert out.stat().st_size > 10_000


def test_within_room_share_by_hand():
    from trainer.analyze import within_room_share

    x = np.array([[0.0], [2.0], [10.0], [12.0]])
    # total: mean 6, squares 36 + 16 + 16 + 36 = 104; within: (1 + 1) + (1 + 1) = 4
    assert within_room_share(x, np.array([0, 0, 1, 1])) == pytest.approx(4 / 104)
    assert within_room_share(x, np.array([0, 0, 0, 0])) == pytest.approx(1.0)


def test_random_target_is_the_runs_initialisation_with_the_trained_normaliser(ckpt):
    import torch

    from trainer.agent import build_agent, load_agent
    from trainer.analyze import random_motivation

    agent = load_agent(ckpt)
    rand = random_motivation(agent).state_dict()
    trained = agent.motivation.state_dict()
    init = build_agent(agent.config, torch.device("cpu")).motivation.state_dict()
    norm = [k for k in trained if k.startswith("normaliser.")]
    assert norm, "SND-V on Atari reads normalised frames"
    for k in norm:
        assert torch.equal(rand[k], trained[k])
    target = [k for k in trained if k.startswith("target.")]
    assert all(torch.equal(rand[k], init[k]) for k in target)
    assert not all(torch.equal(rand[k], trained[k]) for k in target)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def test_bad_inputs(ckpt, tmp_path, capsys):
    assert run([str(ckpt), "--out", str(tmp_path / "f.jpg")]) == 2
    assert ".jpg" in one_line_error(capsys)
    assert run([str(ckpt), "--out", str(tmp_path / "no" / "f.png")]) == 2
    assert "does not exist" in one_line_error(capsys)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 3)
    assert run([str(bad), "--out", str(tmp_path / "f.png")]) == 2
    assert "bad.safetensors" in one_line_error(capsys)
    ppo = tiny_checkpoint(tmp_path, algo="ppo")
    assert run([str(ppo), "--out", str(tmp_path / "f.png")]) == 2
    assert "no target network" in one_line_error(capsys)
    assert not (tmp_path / "f.png").exists()


def test_trainer_side_imports_no_player_and_no_qt():
    code = (
        "import sys, numpy as np\n"
        "from trainer import analyze, cli\n"
        "from trainer.analyze import Collected, draw_figure\n"
        "f = np.zeros((4, 3), np.float32)\n"
        "d = Collected(f, f, np.zeros(4, int), np.arange(4), np.arange(4), np.zeros(4, int))\n"
        "draw_figure(d, np.random.rand(4, 2), np.random.rand(4, 2), 't', 'tsne')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('snd_player', 'PyQt6', 'pyqtgraph')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
