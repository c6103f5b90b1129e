"""`trainer` answers --help, a typo and an unknown game before it imports torch.

Importing torch takes 2-3 s on an idle machine of these (4-9 s on a busy one), and the command line read
only tyro, numpy and its own settings, yet `trainer --help` imported torch through trainer.checkpoint,
`trainer train --help` through trainer.config (models.actor_critic, trainer.motivation) and the loop. The
settings now live in torch-free modules (models.widths, trainer.motivation_config, trainer.ranks,
trainer.errors) and the modules that make or read tensors import torch where they do. Each case below ran
with torch in sys.modules before.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CODE = (
    "import json, sys\n"
    "from trainer.cli import main\n"
    "try:\n"
    "    rc = main(sys.argv[1:])\n"
    "except SystemExit as e:\n"
    "    rc = e.code\n"
    "print(json.dumps([rc, 'torch' in sys.modules]), file=sys.stderr)\n"
)


def _run(argv: list[str], cwd) -> tuple[int, bool, str, str]:
    p = subprocess.run([sys.executable, "-c", CODE, *argv], capture_output=True, text=True, timeout=120, cwd=cwd)
    *lines, last = p.stderr.strip().splitlines()
    rc, torch_loaded = json.loads(last)
    return rc, torch_loaded, p.stdout, "\n".join(lines)


@pytest.mark.parametrize(
    ("argv", "rc", "says"),
    [
        (["--help"], 0, "train PPO with RND / SND-V"),
        (["train", "--help"], 0, "--motivation.predictor-keep-prob"),
        (["bench", "--help"], 0, "--rollout-steps"),
        (["analyze", "--help"], 0, "--max-points"),
        (["sweep", "--help"], 0, "--seeds"),
        (["report", "--help"], 0, "--compare"),
        (["presets", "--algo", "snd-v", "--env", "procgen:climber", "--preset", "paper"], 0, "0.5"),
        (["train", "--num-envs", "0"], 2, "--num-envs 0: expected a whole number"),
        (["train", "--env", "ALE/MontezumaRevenge-v4"], 2, "use ALE/MontezumaRevenge-v5"),
        (["train", "--env", "procgen:climbr"], 2, "did you mean climber?"),
    ],
)
def test_the_command_line_answers_without_torch(tmp_path, argv, rc, says):
    got_rc, torch_loaded, out, err = _run(argv, tmp_path)
    assert got_rc == rc, err
    assert says in (out if rc == 0 else err), (out, err)
    assert not torch_loaded
    if rc:
        assert len(err.splitlines()) == 1 and err.startswith("trainer: error: ")


def test_an_unknown_game_leaves_no_run_folder(tmp_path):
    """The env id was checked when the envs were made, after the run lock had made the folder: a typo left
    an empty run folder behind (and, through the API, still would without the check in train())."""
    from trainer.config import TrainConfig
    from trainer.envs import EnvError
    from trainer.loop import train

    run = tmp_path / "run"
    rc, _, _, err = _run(["train", "--env", "ALE/MontezumasRevenge-v5", "--run-dir", str(run)], tmp_path)
    assert rc == 2 and "did you mean ALE/MontezumaRevenge-v5" in err
    assert not run.exists()
    with pytest.raises(EnvError, match="unknown Procgen game 'coin'"):
        train(TrainConfig(env="procgen:coin", run_dir=run))
    assert not run.exists()
