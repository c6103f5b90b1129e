"""Config: step counts, presets, and --help that matches each field."""

import pytest

from trainer.config import parse_steps


@pytest.mark.parametrize("text, value", [("128M", 128_000_000), ("1e6", 1_000_000), ("500k", 500_000),
                                         ("4096", 4096), ("64m", 64_000_000), ("1.5M", 1_500_000)])
def test_parse_steps(text, value):
    assert parse_steps(text) == value


@pytest.mark.parametrize("text", ["", "abc", "-5", "0", "1.5"])
def test_parse_steps_rejects(text):
    with pytest.raises(ValueError):
        parse_steps(text)


def _help_sections(monkeypatch, capsys) -> dict[str, str]:
    """`trainer train --help`, one entry per flag: the flag's help text."""
    import re

    import tyro

    from trainer.config import TrainConfig

    monkeypatch.setenv("COLUMNS", "90")  # one column, so each flag's text follows it
    with pytest.raises(SystemExit):
        tyro.cli(TrainConfig, args=["--help"], prog="trainer train")
    out = capsys.readouterr().out
    sections: dict[str, str] = {}
    flag = None
    for line in out.splitlines():
        body = line.strip("│ ╭╮╰╯─")
        m = re.match(r"(--[a-z][a-z0-9.-]*)", body)
        if m and ".no-" not in m.group(1) and not m.group(1).startswith("--no-"):
            flag = m.group(1)
            sections[flag] = ""
        elif flag and not m:
            sections[flag] += " " + body
    return sections


def test_help_matches_each_field(monkeypatch, capsys):
    """The cheap check CleanRL's RND file would have failed (its int/ext coef help texts are swapped)."""
    s = _help_sections(monkeypatch, capsys)
    assert "extrinsic" in s["--ppo.ext-adv-coef"] and "intrinsic" not in s["--ppo.ext-adv-coef"]
    assert "intrinsic" in s["--ppo.int-adv-coef"] and "extrinsic" not in s["--ppo.int-adv-coef"]
    assert "extrinsic" in s["--ppo.gamma-ext"] and "intrinsic" in s["--ppo.gamma-int"]
    assert "0.998" in s["--ppo.gamma-ext"] and "DEVIATION" in s["--ppo.bootstrap-last-step"]
    # every option is documented beyond its default
    for flag, text in s.items():
        if flag == "--help":
            continue
        words = text.replace("(default:", "").split()
        assert len(words) >= 3, f"{flag} has no help text"


def test_paper_preset_sets_the_papers_scale():
    from trainer.config import TrainConfig, apply_preset

    atari = apply_preset(TrainConfig(env="ALE/MontezumaRevenge-v5"), "paper").resolved()
    assert (atari.num_envs, atari.ppo.rollout_steps, atari.total_steps) == (128, 128, 128_000_000)
    procgen = apply_preset(TrainConfig(env="procgen:climber"), "paper").resolved()
    assert procgen.total_steps == 64_000_000
    assert TrainConfig().resolved().total_steps == 10_000_000


def test_config_round_trips_through_json():
    import json

    from trainer.config import TrainConfig, from_dict, to_dict

    cfg = TrainConfig(env="procgen:coinrun", algo="snd-vic", num_envs=7).resolved()
    assert from_dict(json.loads(json.dumps(to_dict(cfg)))) == cfg
