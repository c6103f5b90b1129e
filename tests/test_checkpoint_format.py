"""The checkpoint file format: round trip, atomic writes and one-line errors for bad files."""

import json
import struct

import pytest
import torch
from safetensors.torch import save_file

from trainer.checkpoint import (
    CheckpointError,
    atomic_write,
    checkpoint_name,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    read_metadata,
    save_checkpoint,
)


def test_round_trip(tmp_path):
    p = tmp_path / checkpoint_name(4096)
    tensors = {
        "policy.w": torch.arange(6.0).reshape(2, 3),
        "motivation.b": torch.tensor([1, 2], dtype=torch.int64),
    }
    save_checkpoint(p, tensors, {"algo": "snd-v", "global_step": 4096})
    back, meta = load_checkpoint(p)
    assert meta["algo"] == "snd-v" and meta["global_step"] == 4096 and meta["format_version"] == 1
    assert torch.equal(back["policy.w"], tensors["policy.w"]) and torch.equal(
        back["motivation.b"], tensors["motivation.b"]
    )
    assert p.name == "000000004096.safetensors"


def test_names_sort_by_step_and_prune_keeps_newest(tmp_path):
    for s in (100, 20, 3000, 5):
        save_checkpoint(tmp_path / checkpoint_name(s), {"x": torch.zeros(1)}, {})
    assert [int(p.stem) for p in list_checkpoints(tmp_path)] == [5, 20, 100, 3000]
    save_checkpoint(tmp_path / "best.safetensors", {"x": torch.zeros(1)}, {})
    prune_checkpoints(tmp_path, keep=2)
    assert [int(p.stem) for p in list_checkpoints(tmp_path)] == [100, 3000]
    assert (tmp_path / "best.safetensors").exists()


def test_truncated_file_gives_one_line(tmp_path):
    p = tmp_path / "a.safetensors"
    save_checkpoint(p, {"x": torch.zeros(1000)}, {"algo": "rnd"})
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(p)
    msg = str(e.value)
    assert "truncated" in msg and "\n" not in msg and str(p) in msg


@pytest.mark.parametrize(
    "content, needle",
    [
        (b"", "too short"),
        (b"PK\x03\x04 this is a zip file, not a checkpoint", "not a safetensors file"),
        (struct.pack("<Q", 5) + b"{oops", "not valid JSON"),
    ],
)
def test_garbage_files(tmp_path, content, needle):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(content)
    with pytest.raises(CheckpointError, match=needle):
        read_metadata(p)


def test_foreign_safetensors_is_named(tmp_path):
    p = tmp_path / "model.safetensors"
    save_file({"w": torch.zeros(2)}, str(p), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match="not an snd checkpoint"):
        read_metadata(p)


def test_newer_format_is_refused(tmp_path):
    p = tmp_path / "new.safetensors"
    meta = {"format": "snd-checkpoint", "format_version": 99}
    save_file({"w": torch.zeros(2)}, str(p), metadata={"snd": json.dumps(meta)})
    with pytest.raises(CheckpointError, match="newer"):
        read_metadata(p)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        read_metadata(tmp_path / "nope.safetensors")


def test_atomic_write_keeps_old_content_on_failure(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("old")

    def boom(tmp):
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(p, boom)
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["f.txt"]
