"""Malformed checkpoints: a corpus of broken files, each run through every reader, must get one line.

The corpus is made here from one small valid checkpoint: the 14 kinds of file that gave tracebacks, the
five that were accepted silently (issue 14) and more of the same families. Every reader (``snd-player``'s
load path, ``snd-player eval``, ``snd-player record``, ``trainer analyze``) must answer each with exit
code 2 and exactly one line on stderr naming the file, and the trainer's loader with a CheckpointError.
"""

from __future__ import annotations

import json
import os
import struct
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from trainer.agent import build_agent, load_agent, save_agent
from trainer.checkpoint import CheckpointError, load_checkpoint, read_metadata
from trainer.config import TrainConfig
from trainer.envs import EnvConfig


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A valid snd-v checkpoint on 32x32 frames (small: the corpus copies it a few dozen times)."""
    cfg = TrainConfig(algo="snd-v", device="cpu", seed=5, env_cfg=EnvConfig(frame_size=32)).resolved()
    agent = build_agent(cfg, torch.device("cpu"))
    path = tmp_path_factory.mktemp("base") / "000000004096.safetensors"
    save_agent(agent, path, 4096)
    return path


# ---- ways to break a file ------------------------------------------------------------------------------


def _split(path: Path) -> tuple[dict, bytes]:
    blob = path.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8 : 8 + n]), blob[8 + n :]


def _join(header: dict, data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def header_edit(edit: Callable[[dict], None]) -> Callable[[Path], bytes]:
    """Change the raw safetensors header, keep the data section."""

    def make(base: Path) -> bytes:
        header, data = _split(base)
        edit(header)
        return _join(header, data)

    return make


def first_tensor(header: dict) -> str:
    return sorted(k for k in header if k != "__metadata__")[0]


def _second_tensor(header: dict) -> str:
    return sorted(k for k in header if k != "__metadata__")[1]


def meta_edit(edit: Callable[[dict], object]) -> Callable[[Path], bytes]:
    """Change the snd metadata document (its checksum stays right: only the metadata is wrong)."""

    def make(base: Path) -> bytes:
        header, data = _split(base)
        meta = json.loads(header["__metadata__"]["snd"])
        out = edit(meta)
        header["__metadata__"]["snd"] = json.dumps(meta if out is None else out)
        return _join(header, data)

    return make


def config_edit(edit: Callable[[dict], object]) -> Callable[[Path], bytes]:
    def on_meta(meta: dict) -> None:
        edit(meta["config"])

    return meta_edit(on_meta)


def tensor_edit(edit: Callable[[dict], None]) -> Callable[[Path], bytes]:
    """Change tensors and write them with a correct checksum, as a trainer that diverged would."""

    def make(base: Path) -> bytes:
        from trainer.validate import SHA_KEY, tensors_sha256

        tensors = load_file(str(base))
        meta = read_metadata(base)
        edit(tensors)
        meta[SHA_KEY] = tensors_sha256(tensors)
        tmp = base.parent / "tensor_edit.tmp"
        save_file(tensors, str(tmp), metadata={"snd": json.dumps(meta)})
        blob = tmp.read_bytes()
        tmp.unlink()
        return blob

    return make


def flip_bit(base: Path) -> bytes:
    blob = bytearray(base.read_bytes())
    blob[-1000] ^= 0x10
    return bytes(blob)


def _set(d: dict, key: str, value: object) -> None:
    d[key] = value


def _policy_weight(t: dict) -> str:
    return sorted(k for k in t if k.startswith("policy.") and k.endswith("weight"))[0]


def _motivation_weight(t: dict) -> str:
    return sorted(k for k in t if k.startswith("motivation.") and k.endswith("weight"))[0]


def _nan(t: dict, key: str, value: float) -> None:
    t[key] = t[key].clone()
    t[key].view(-1)[3] = value


# name -> (how to make it from the base file's bytes, a word the one line must contain)
CORPUS: dict[str, tuple[Callable[[Path], bytes], str]] = {
    # the 14 kinds that gave tracebacks (issue 14, item 1)
    "entry_is_int": (header_edit(lambda h: _set(h, first_tensor(h), 7)), "is an integer"),
    "no_data_offsets": (header_edit(lambda h: h[first_tensor(h)].pop("data_offsets")), "data_offsets"),
    "offsets_strings": (
        header_edit(lambda h: _set(h[first_tensor(h)], "data_offsets", ["0", "16"])),
        "data_offsets",
    ),
    "dunder_metadata_list": (header_edit(lambda h: _set(h, "__metadata__", ["snd"])), "__metadata__"),
    "dunder_metadata_string": (header_edit(lambda h: _set(h, "__metadata__", "snd")), "__metadata__"),
    "snd_metadata_list": (meta_edit(lambda m: [m]), "is a list"),
    "snd_metadata_string": (meta_edit(lambda m: "snd"), "is a string"),
    "obs_shape_int": (meta_edit(lambda m: _set(m, "obs_shape", 4)), "obs_shape"),
    "unknown_encoder": (config_edit(lambda c: _set(c, "encoder", "resnet")), "encoder"),
    "eta_not_numeric": (config_edit(lambda c: _set(c["motivation"], "eta", "high")), "eta"),
    "frame_size_3000": (config_edit(lambda c: _set(c["env_cfg"], "frame_size", 3000)), "frame_size"),
    "frame_stack_1e6": (config_edit(lambda c: _set(c["env_cfg"], "frame_stack", 1_000_000)), "frame_stack"),
    # the same, with obs_shape edited to agree, as a careful forger would: still refused before allocation
    "frame_size_3000_consistent": (
        meta_edit(
            lambda m: (
                [_set(m, "obs_shape", [4, 3000, 3000]), _set(m["config"]["env_cfg"], "frame_size", 3000)]
                and None
            )
        ),
        "frame_size",
    ),
    "frame_stack_1e6_consistent": (
        meta_edit(
            lambda m: (
                [_set(m, "obs_shape", [10**6, 32, 32]), _set(m["config"]["env_cfg"], "frame_stack", 10**6)]
                and None
            )
        ),
        "frame_stack",
    ),
    "nan_policy": (tensor_edit(lambda t: _nan(t, _policy_weight(t), float("nan"))), "NaN"),
    "inf_policy": (tensor_edit(lambda t: _nan(t, _policy_weight(t), float("inf"))), "infinite"),
    # the ones that were accepted silently (item 2)
    "flipped_bit": (flip_bit, "sha256"),
    "negative_version": (meta_edit(lambda m: _set(m, "format_version", -1)), "format version"),
    "int8_weights": (
        tensor_edit(lambda t: _set(t, _policy_weight(t), t[_policy_weight(t)].to(torch.int8))),
        "torch.int8",
    ),
    "nan_motivation": (tensor_edit(lambda t: _nan(t, _motivation_weight(t), float("nan"))), "NaN"),
    "other_game_in_metadata": (meta_edit(lambda m: _set(m, "env_id", "ALE/Venture-v5")), "game"),
    # more of the same families
    "version_zero": (meta_edit(lambda m: _set(m, "format_version", 0)), "format version"),
    "version_string": (meta_edit(lambda m: _set(m, "format_version", "1")), "format version"),
    "version_newer": (meta_edit(lambda m: _set(m, "format_version", 99)), "newer"),
    "unknown_dtype": (header_edit(lambda h: _set(h[first_tensor(h)], "dtype", "C64")), "dtype"),
    "negative_shape": (header_edit(lambda h: _set(h[first_tensor(h)], "shape", [-1, 4])), "shape"),
    "offsets_wrong_size": (
        header_edit(lambda h: _set(h[first_tensor(h)], "data_offsets", [0, 3])),
        "data_offsets",
    ),
    "offsets_overlap": (
        header_edit(lambda h: _set(h[_second_tensor(h)], "data_offsets", h[first_tensor(h)]["data_offsets"])),
        "overlap",
    ),
    "trailing_bytes": (lambda b: b.read_bytes() + b"\0" * 64, "unexpected bytes"),
    "truncated": (lambda b: b.read_bytes()[:-64], "truncated"),
    "huge_header_len": (lambda b: struct.pack("<Q", 2**62) + b.read_bytes()[8:], "header says"),
    "header_not_json": (lambda b: struct.pack("<Q", 6) + b"{oops}", "not valid JSON"),
    "header_json_list": (lambda b: _join([1, 2], b""), "not a safetensors file"),  # type: ignore[arg-type]
    "empty_file": (lambda b: b"", "too short"),
    "no_snd_metadata": (header_edit(lambda h: _set(h, "__metadata__", {"format": "pt"})), "not an snd"),
    "snd_metadata_not_json": (
        header_edit(lambda h: _set(h["__metadata__"], "snd", "{nope")),
        "not valid JSON",
    ),
    "config_is_list": (meta_edit(lambda m: _set(m, "config", [1])), "config"),
    "config_missing": (meta_edit(lambda m: m.pop("config") and None), "lacks 'config'"),
    "unknown_algo": (meta_edit(lambda m: _set(m, "algo", "dqn")), "algo"),
    "seed_is_string": (config_edit(lambda c: _set(c, "seed", "one")), "seed"),
    "frame_size_tiny_for_encoder": (
        meta_edit(
            lambda m: (
                [
                    _set(m, "encoder", "nature"),
                    _set(m, "obs_shape", [4, 8, 8]),
                    _set(m["config"], "encoder", "nature"),
                    _set(m["config"]["env_cfg"], "frame_size", 8),
                ]
                and None
            )
        ),
        "frame-size 8",  # out of the config's range, before any network is built
    ),
    "num_actions_string": (meta_edit(lambda m: _set(m, "num_actions", "18")), "num_actions"),
    "global_step_negative": (meta_edit(lambda m: _set(m, "global_step", -5)), "global_step"),
    "rooms_not_pairs": (meta_edit(lambda m: _set(m, "rooms", [1, 2])), "rooms"),
    "sha_not_hex": (meta_edit(lambda m: _set(m, "tensor_sha256", "abc")), "tensor_sha256"),
    "unknown_env": (
        config_edit(lambda c: [_set(c, "env", "ALE/Nope-v5"), _set(c["env_cfg"], "env_id", "ALE/Nope-v5")]),
        "Nope",
    ),
    "tensor_missing": (tensor_edit(lambda t: t.pop(_policy_weight(t))), "lacks"),
    "tensor_extra": (tensor_edit(lambda t: _set(t, "policy.extra", torch.zeros(2))), "unexpected tensor"),
    "tensor_outside_policy": (tensor_edit(lambda t: _set(t, "optimizer.x", torch.zeros(2))), "unexpected"),
    "tensor_wrong_shape": (
        tensor_edit(lambda t: _set(t, _policy_weight(t), t[_policy_weight(t)].flatten()[:7].clone())),
        "shape",
    ),
}


@pytest.fixture(scope="module")
def corpus(base, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    out = {}
    for name, (make, _) in CORPUS.items():
        p = folder / f"{name}.safetensors"
        p.write_bytes(make(base))
        out[name] = p
    return out


def test_corpus_covers_the_issue():
    assert len(CORPUS) >= 14 + 5


def test_the_base_file_loads(base):
    agent = load_agent(base)
    assert agent.meta["global_step"] == 4096 and agent.spec.obs_shape == (4, 32, 32)
    assert len(read_metadata(base)["tensor_sha256"]) == 64


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_loader_raises_one_line(corpus, name):
    p = corpus[name]
    with pytest.raises(CheckpointError) as e:
        load_agent(p)
    msg = str(e.value)
    assert "\n" not in msg and str(p) in msg
    assert CORPUS[name][1].lower() in msg.lower(), msg


def _readers(tmp: Path) -> dict[str, Callable[[Path], int]]:
    from snd_player import cli
    from snd_player.cli import eval as player_eval
    from snd_player.cli import record
    from trainer import analyze

    return {
        "snd-player": lambda p: cli.main([str(p), "--screenshot", str(tmp / "s.png"), "--frames", "1"]),
        "eval": lambda p: player_eval.main([str(p), "--episodes", "1", "--out", str(tmp / "r.json")]),
        "record": lambda p: record.main([str(p), "--frames", "2", "--out", str(tmp / "v.mp4")]),
        "analyze": lambda p: analyze.main([str(p), "--out", str(tmp / "a.png")]),
    }


@pytest.mark.parametrize("reader", ["snd-player", "eval", "record", "analyze"])
def test_every_reader_gives_one_line_for_every_malformed_file(corpus, reader, tmp_path, capsys):
    run = _readers(tmp_path)[reader]
    one_line = []
    for name in sorted(corpus):
        rc = run(corpus[name])
        err = capsys.readouterr().err.strip()
        if rc == 2 and len(err.splitlines()) == 1 and corpus[name].name in err and "Traceback" not in err:
            one_line.append(name)
    print(f"{reader}: {len(one_line)} of {len(corpus)} malformed files get one line")
    assert sorted(one_line) == sorted(corpus)
    assert not list(tmp_path.iterdir())  # nothing was written for a file that cannot be read


def test_demo_without_checksum_still_loads(legacy_demo):
    """Checkpoints written before the checksum existed (the first bundled demo) load as before."""
    meta = read_metadata(legacy_demo)
    assert "tensor_sha256" not in meta
    tensors, _ = load_checkpoint(legacy_demo)
    assert len(tensors) == 45


def test_checksum_is_over_the_stored_bytes(base, tmp_path):
    """The digest in the metadata is the one recomputed from the file, whatever the tensors' dtypes."""
    from trainer.checkpoint import save_checkpoint
    from trainer.validate import data_sha256, tensors_sha256

    tensors = {
        "b": torch.tensor([True, False]),
        "a": torch.arange(5, dtype=torch.bfloat16),
        "c": torch.tensor(3.5),
        "d": torch.zeros(0, 2),
    }
    p = tmp_path / "x.safetensors"
    save_checkpoint(p, tensors, {})
    header, data = _split(p)
    assert (
        read_metadata(p)["tensor_sha256"] == data_sha256(header, memoryview(data)) == tensors_sha256(tensors)
    )
    back, _ = load_checkpoint(p)
    assert all(torch.equal(back[k], v) for k, v in tensors.items())


# ---- files that are not regular files -------------------------------------------------------------------


def _unblock_later(fifo: Path, stop: threading.Event) -> threading.Thread:
    """Open the FIFO for writing after a while, so that a reader that blocks on it (the old code) fails
    the test instead of hanging it."""

    def run() -> None:
        if not stop.wait(15):
            with open(fifo, "wb"):
                pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("reader", ["loader", "snd-player", "eval", "record", "analyze"])
def test_fifo_gets_one_line_at_once(tmp_path, reader, capsys):
    fifo = tmp_path / "x.safetensors"
    os.mkfifo(fifo)
    stop = threading.Event()
    t = _unblock_later(fifo, stop)
    try:
        if reader == "loader":
            with pytest.raises(CheckpointError, match="FIFO"):
                read_metadata(fifo)
        else:
            out = tmp_path / "out"
            out.mkdir()
            assert _readers(out)[reader](fifo) == 2
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and "FIFO" in err and str(fifo) in err
    finally:
        stop.set()
        t.join()


def test_device_gets_one_line():
    with pytest.raises(CheckpointError, match="is a device"):
        load_agent("/dev/zero")


# ---- the metadata must not be able to size an allocation ---------------------------------------------------


def test_config_is_checked_before_any_network_is_built(base, tmp_path, monkeypatch):
    """A config whose frame would need gigabytes is refused before ActorCritic is called."""
    import trainer.agent as agent_mod

    built = []
    monkeypatch.setattr(agent_mod, "ActorCritic", lambda *a, **k: built.append(a))
    p = tmp_path / "big.safetensors"
    p.write_bytes(config_edit(lambda c: _set(c["env_cfg"], "frame_size", 3000))(base))
    with pytest.raises(CheckpointError, match="frame_size is 3000, expected 8..256"):
        load_agent(p)
    assert built == []


def test_a_consistent_config_edit_keeps_loading(base, tmp_path):
    """The checks are not over-eager: editing a training-only value leaves a loadable file."""
    p = tmp_path / "ok.safetensors"
    p.write_bytes(config_edit(lambda c: _set(c, "num_envs", 128))(base))
    assert load_agent(p).config.num_envs == 128


def test_every_algo_round_trips_through_the_validation(tmp_path):
    """Fresh agents of every algo, Atari and Procgen, pass every check (no false alarm on real files)."""
    for env in ("ALE/MontezumaRevenge-v5", "procgen:coinrun"):
        for algo in ("ppo", "rnd", "snd-v", "snd-std", "snd-vic"):
            cfg = TrainConfig(env=env, algo=algo, device="cpu", env_cfg=EnvConfig(frame_size=32)).resolved()
            p = tmp_path / f"{algo}.safetensors"
            save_agent(build_agent(cfg, torch.device("cpu")), p, 0)
            back = load_agent(p)
            assert back.algo == algo and back.spec.env_id == env


def test_corpus_entries_differ_from_the_base(base, corpus):
    """Each corpus file really is changed (a no-op edit would make its test meaningless)."""
    good = base.read_bytes()
    assert all(p.read_bytes() != good for p in corpus.values())
