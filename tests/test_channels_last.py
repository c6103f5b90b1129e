"""The networks train with their conv weights channels-last (NHWC) on the CPU: oneDNN's convolutions run
faster in that layout (docs/throughput.md: about 6 % of the SND-V update on the Xeon measured). The layout
must change nothing a user sees but time: the same numbers up to rounding, checkpoints a player built with
the default layout reads, and a resume in either layout."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from tests.test_trainer import strip, tiny
from trainer.agent import load_agent
from trainer.checkpoint import list_checkpoints, load_checkpoint
from trainer.loop import Trainer, train


def _is_nhwc(t: torch.Tensor) -> bool:
    return t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


def test_auto_is_channels_last_on_the_cpu_and_off_keeps_the_default_layout(tmp_path):
    for mode, want in (("auto", True), ("on", True), ("off", False)):
        tr = Trainer(tiny(tmp_path / mode, channels_last=mode).resolved())
        try:
            convs = [p for p in [*tr.policy.parameters(), *tr.motivation.nets.parameters()] if p.dim() == 4]
            if want:  # (a conv of one input channel is both layouts at once)
                assert all(p.is_contiguous(memory_format=torch.channels_last) for p in convs), mode
                assert sum(_is_nhwc(p) for p in convs) >= len(convs) // 2, mode
            else:
                assert convs and all(p.is_contiguous() for p in convs) and not any(_is_nhwc(p) for p in convs)
            assert tr.channels_last == want
            # the optimiser holds the very parameters that were converted (in place, not replaced)
            held = {id(p) for g in tr.optimizer.param_groups for p in g["params"]}
            assert {id(p) for p in tr.policy.parameters()} == held
        finally:
            tr.close()


@pytest.mark.parametrize("algo", ["snd-v", "rnd"])
def test_the_layout_changes_the_numbers_only_by_rounding(tmp_path, algo):
    on = strip(train(tiny(tmp_path / "on", algo=algo, channels_last="on", amp="off")))
    off = strip(train(tiny(tmp_path / "off", algo=algo, channels_last="off", amp="off")))
    assert len(on) == len(off) == 2
    for a, b in zip(on, off, strict=True):
        assert a["episode_lengths"] == b["episode_lengths"]
        keys = ["loss_policy", "loss_value_ext", "loss_predictor", "r_int_mean", "entropy"]
        for key in keys + (["loss_target"] if algo == "snd-v" else []):  # RND's target is never trained
            assert a[key] == pytest.approx(b[key], rel=1e-3, abs=1e-6), key


def test_a_channels_last_checkpoint_is_stored_contiguous_and_loads_anywhere(tmp_path):
    train(tiny(tmp_path, channels_last="on"))
    ckpt = list_checkpoints(tmp_path / "checkpoints")[-1]
    tensors, _ = load_checkpoint(ckpt)
    assert all(t.is_contiguous() for t in tensors.values())
    agent = load_agent(ckpt)  # as the player loads it: default layout
    assert not any(_is_nhwc(p) for p in agent.policy.parameters())
    for name, p in agent.policy.state_dict().items():
        assert torch.equal(p, tensors[f"policy.{name}"].to(p.dtype)), name


def test_a_run_started_in_one_layout_resumes_in_the_other(tmp_path):
    """The layout is the run's config, but a run from before the field (auto, so on, on the CPU) meets
    optimiser moments saved in the other layout: Adam works elementwise, so the resumed update must equal
    the same resume in the layout it was saved in, up to rounding."""
    rows = {}
    for resumed_in in ("off", "on"):
        cfg = tiny(tmp_path / resumed_in, channels_last="off", amp="off")
        train(cfg, max_updates=1)
        config = tmp_path / resumed_in / "config.json"
        text = config.read_text()
        assert '"channels_last": "off"' in text
        config.write_text(text.replace('"channels_last": "off"', f'"channels_last": "{resumed_in}"'))
        rows[resumed_in] = strip(train(dataclasses.replace(cfg, resume=True)))
    off, on = rows["off"], rows["on"]
    assert [r["global_step"] for r in on] == [r["global_step"] for r in off] == [64]
    assert on[0]["episode_lengths"] == off[0]["episode_lengths"]
    for key in ("loss_policy", "loss_value_ext", "loss_predictor", "loss_target", "r_int_mean", "entropy"):
        assert np.isfinite(on[0][key]) and np.isclose(on[0][key], off[0][key], rtol=1e-3, atol=1e-6), key
