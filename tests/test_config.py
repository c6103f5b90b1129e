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
