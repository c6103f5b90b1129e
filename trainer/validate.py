"""The one validation layer for checkpoints: everything a file from a stranger could get wrong, checked once.

``trainer.checkpoint`` calls these while reading (file kind, header structure, metadata document, tensor
checksum, finite weights) and ``trainer.agent.load_agent`` before it builds a network (config types and
ranges, the game named in the metadata, tensor names, shapes and dtypes against the networks). Each check
raises :class:`CheckpointError` with one line that names the file and what was expected, so every reader
(``snd-player``, ``snd-player eval``, ``snd-player record``, ``trainer analyze``, ``trainer train --resume``)
reports a malformed file the same way, before anything large is allocated (STYLE.md 14).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
import stat
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainer.checkpoint_format import FORMAT_NAME, FORMAT_VERSION, CheckpointError

if TYPE_CHECKING:  # the checks of tensors get torch's with them; the checks of headers need none
    import torch

# safetensors dtype names snd writes (torch's float and integer types); anything else is not ours
DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}  # fmt: skip

# Bounds on the config values that size the networks and observation buffers, checked before either is
# allocated: a frame side of 3000 or a stack of 1e6 asks for gigabytes (paper values: 96 or 84, 4, 2).
SIZE_BOUNDS = {"frame_size": (8, 256), "frame_stack": (1, 16), "procgen_frame_stack": (1, 16)}

SHA_KEY = "tensor_sha256"


def open_regular(path: Path) -> Any:
    """Open ``path`` for reading only when it is a regular file: a FIFO would block forever, a device
    would stream without end. Returns a binary file object."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file (expected an snd .safetensors checkpoint)")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder (expected an snd .safetensors checkpoint file)")
    # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = (
                "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode)
                else "not a regular file"
            )  # fmt: skip
            raise CheckpointError(
                f"{path}: is {kind}, not a regular file (expected an snd .safetensors checkpoint)"
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


# ---- the safetensors header -------------------------------------------------------------------------------


def _kind(x: Any) -> str:
    """A JSON value's kind in words, for messages."""
    if isinstance(x, bool):
        return "a boolean"
    return {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number"}.get(
        type(x), "null" if x is None else type(x).__name__
    )


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def check_header(path: Path, header: dict[str, Any], header_len: int, size: int) -> None:
    """The safetensors header's structure: a string-to-string ``__metadata__``, and for each tensor a known
    dtype, a shape of non-negative ints and offsets that tile the data section exactly."""
    meta = header.get("__metadata__")
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        raise CheckpointError(
            f"{path}: corrupt safetensors header (__metadata__ is {_kind(meta)}, "
            "expected an object of strings)"
        )
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        where = f"{path}: corrupt safetensors header (tensor {name!r}"
        if not isinstance(entry, dict):
            raise CheckpointError(f"{where} is {_kind(entry)}, expected an object)")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in DTYPE_SIZES:
            raise CheckpointError(f"{where} has dtype {dtype!r}; snd uses {', '.join(DTYPE_SIZES)})")
        if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
            raise CheckpointError(f"{where} has shape {shape!r}, expected a list of non-negative integers)")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)):
            raise CheckpointError(f"{where} has data_offsets {offsets!r}, expected [begin, end] integers)")
        begin, end = offsets
        if not 0 <= begin <= end or end - begin != math.prod(shape) * DTYPE_SIZES[dtype]:
            raise CheckpointError(
                f"{where} has data_offsets {offsets} for a {dtype} {shape} tensor of "
                f"{math.prod(shape) * DTYPE_SIZES[dtype]} bytes)"
            )
        spans.append((begin, end, name))
    data_size = size - 8 - header_len
    end = 0
    for begin, stop, name in sorted(spans):
        if begin != end:
            raise CheckpointError(
                f"{path}: corrupt safetensors header (tensor {name!r} starts at byte {begin} of the data, "
                f"expected {end}: tensors overlap or leave a gap)"
            )
        end = stop
    if end > data_size:
        raise CheckpointError(f"{path}: truncated ({size} bytes, the header promises {8 + header_len + end})")
    if end < data_size:
        raise CheckpointError(
            f"{path}: {data_size - end} unexpected bytes after the last tensor (a damaged or altered file)"
        )


# ---- the snd metadata document ------------------------------------------------------------------------


def _int_list(x: Any) -> bool:
    return isinstance(x, list) and all(_is_int(v) for v in x)


# key -> (test, what was expected); checked when present, as every reader trusts these types
_META_TYPES: dict[str, tuple[Any, str]] = {
    "algo": (lambda v: isinstance(v, str), "a string"),
    "env_id": (lambda v: isinstance(v, str), "a string"),
    "encoder": (lambda v: isinstance(v, str), "a string"),
    "config": (lambda v: isinstance(v, dict), "an object"),
    "env_config": (lambda v: isinstance(v, dict), "an object"),
    "obs_shape": (lambda v: _int_list(v) and len(v) == 3 and all(d > 0 for d in v), "3 positive integers"),
    "num_actions": (lambda v: _is_int(v) and v > 0, "a positive integer"),
    "action_meanings": (lambda v: isinstance(v, list) and all(isinstance(a, str) for a in v), "a list of strings"),
    "global_step": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "created": (lambda v: isinstance(v, str), "a string"),
    "package_version": (lambda v: isinstance(v, str), "a string"),
    "recent_score_mean": (lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)), "a number"),
    "recent_score_max": (lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)), "a number"),
    "rooms_total": (lambda v: v is None or (_is_int(v) and v >= 0), "a non-negative integer"),
    "rooms": (lambda v: isinstance(v, list) and all(_int_list(r) and len(r) == 2 for r in v), "[level, room] pairs"),
    SHA_KEY: (lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None, "64 hex digits"),
}  # fmt: skip


def check_meta(path: Path, meta: Any) -> None:
    """The snd JSON document: an object of the right format, a version this snd reads, typed known keys."""
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: snd metadata is {_kind(meta)}, expected a JSON object")
    if meta.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: metadata format is {meta.get('format')!r}, expected {FORMAT_NAME!r}")
    version = meta.get("format_version")
    if not _is_int(version) or version < 1:
        raise CheckpointError(
            f"{path}: invalid checkpoint format version {version!r} (expected an integer 1..{FORMAT_VERSION})"
        )
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version} is newer than this snd understands "
            f"({FORMAT_VERSION}); upgrade snd"
        )
    for key, (ok, expected) in _META_TYPES.items():
        if key in meta and not ok(meta[key]):
            raise CheckpointError(f"{path}: metadata {key} is {_short(meta[key])}, expected {expected}")


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- tensor data --------------------------------------------------------------------------------------


def tensors_sha256(tensors: Mapping[str, torch.Tensor]) -> str:
    """sha256 of the tensors' raw little-endian bytes in name order: what a safetensors file stores, so the
    same digest can be recomputed from the file's data section without decoding it."""
    import torch

    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous().reshape(-1)
        if t.numel():
            h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def data_sha256(header: dict[str, Any], data: memoryview) -> str:
    """The digest of :func:`tensors_sha256` computed from a file's data section (validated offsets)."""
    h = hashlib.sha256()
    for name in sorted(k for k in header if k != "__metadata__"):
        begin, end = header[name]["data_offsets"]
        h.update(data[begin:end])
    return h.hexdigest()


def check_sha256(path: Path, meta: dict[str, Any], header: dict[str, Any], data: memoryview) -> None:
    """A checkpoint that records a digest must match it; older ones (the bundled demo) carry none."""
    expected = meta.get(SHA_KEY)
    if expected is not None and data_sha256(header, data) != expected:
        raise CheckpointError(
            f"{path}: tensor data does not match its sha256 checksum (the file was damaged or altered "
            "after it was written)"
        )


def check_finite(path: Path, tensors: Mapping[str, torch.Tensor]) -> None:
    """Every float tensor, policy and motivation alike, holds only finite numbers."""
    import torch

    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype.is_floating_point:
            bad = t.numel() - int(torch.isfinite(t).sum())
            if bad:
                raise CheckpointError(
                    f"{path}: tensor {name} holds {bad} NaN or infinite value(s) of {t.numel()} "
                    "(corrupt or diverged weights)"
                )


def check_tensors(
    path: Path,
    tensors: Mapping[str, torch.Tensor],
    expected: Mapping[str, torch.Tensor],
    what: str,
    prefix: str,
) -> None:
    """Names, shapes and dtype kinds against a freshly built network's state dict (float weights may be
    stored in a narrower float type, as the float16 demo is; an int8 tensor where a float belongs is not)."""
    import torch

    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        first = f"lacks {prefix}{missing[0]}" if missing else f"has an unexpected tensor {prefix}{extra[0]}"
        more = len(missing) + len(extra) - 1
        raise CheckpointError(
            f"{path}: tensors do not match {what} ({first}{f' and {more} more' if more else ''})"
        )
    for name in sorted(expected):
        got, want = tensors[name], expected[name]
        if tuple(got.shape) != tuple(want.shape):
            raise CheckpointError(
                f"{path}: tensor {prefix}{name} has shape {tuple(got.shape)}, {what} expects {tuple(want.shape)}"
            )
        if got.dtype.is_floating_point != want.dtype.is_floating_point or (got.dtype == torch.bool) != (
            want.dtype == torch.bool
        ):
            raise CheckpointError(
                f"{path}: tensor {prefix}{name} is {got.dtype}, {what} expects {want.dtype}"
            )


# ---- the training config inside the metadata ------------------------------------------------------------


def _type_ok(value: Any, hint: Any) -> str | None:
    """None when ``value`` fits the annotation ``hint``, else what was expected."""
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _type_ok(value, typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        fails = [_type_ok(value, h) for h in typing.get_args(hint)]
        return None if any(f is None for f in fails) else " or ".join(f for f in fails if f)
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        return None if value in choices else "one of " + ", ".join(map(str, choices))
    if hint is type(None):
        return None if value is None else "null"
    if hint is bool:
        return None if isinstance(value, bool) else "true or false"
    if hint is int:
        return None if _is_int(value) else "an integer"
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else "a finite number"
    if hint in (str, Path):
        return None if isinstance(value, str) else "a string"
    return None  # a type this check does not know: from_dict and the config's own validation decide


def _check_fields(path: Path, cls: type, values: Any, prefix: str) -> None:
    if not isinstance(values, dict):
        raise CheckpointError(f"{path}: checkpoint config {prefix.rstrip('.') or 'config'} is not an object")
    hints = typing.get_type_hints(cls, include_extras=True)
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            _check_fields(path, hint, values[f.name], f"{prefix}{f.name}.")
            continue
        expected = _type_ok(values[f.name], hint)
        if expected is not None:
            raise CheckpointError(
                f"{path}: checkpoint config {prefix}{f.name} is {_short(values[f.name])}, expected {expected}"
            )


def check_config(path: Path, config: Any) -> None:
    """Types of every known config value and bounds on those that size networks and buffers, before any
    of them is built (the config is a user-editable JSON document inside the file)."""
    from trainer.config import TrainConfig

    _check_fields(path, TrainConfig, config, "")
    env_cfg = config.get("env_cfg") or {}
    for name, (lo, hi) in SIZE_BOUNDS.items():
        v = env_cfg.get(name)
        if v is not None and not lo <= v <= hi:
            raise CheckpointError(f"{path}: checkpoint config env_cfg.{name} is {v}, expected {lo}..{hi}")


def check_game(path: Path, meta: dict[str, Any], spec: Any) -> None:
    """The game named in the metadata is the one its config and tensors were made for."""
    cfg = meta["config"]
    names = {"env_id": meta["env_id"]}
    if "env" in cfg:
        names["config.env"] = cfg["env"]
    if isinstance(cfg.get("env_cfg"), dict) and "env_id" in cfg["env_cfg"]:
        names["config.env_cfg.env_id"] = cfg["env_cfg"]["env_id"]
    if isinstance(meta.get("env_config"), dict) and "env_id" in meta["env_config"]:
        names["env_config.env_id"] = meta["env_config"]["env_id"]
    names["the env its config builds"] = spec.env_id  # a config without an env id builds the default game
    if len(set(names.values())) > 1:
        said = ", ".join(f"{k} {v!r}" for k, v in names.items())
        raise CheckpointError(f"{path}: metadata names more than one game ({said})")
    for key, fact in (("algo", "algo"), ("encoder", "encoder")):
        if key in meta and key in cfg and meta[key] != cfg[key]:
            raise CheckpointError(
                f"{path}: metadata {key} {meta[key]!r} disagrees with config {fact} {cfg[key]!r}"
            )
    if spec.num_actions != meta["num_actions"] or list(spec.obs_shape) != list(meta["obs_shape"]):
        raise CheckpointError(
            f"{path}: checkpoint was trained on {meta['env_id']} with {meta['num_actions']} actions and "
            f"observations {tuple(meta['obs_shape'])}; this {spec.env_id} has {spec.num_actions} and "
            f"{spec.obs_shape}"
        )
    meanings = meta.get("action_meanings")
    if meanings is not None and list(meanings) != list(spec.action_meanings):
        raise CheckpointError(
            f"{path}: action meanings {_short(meanings)} are not those of {spec.env_id} "
            f"({_short(list(spec.action_meanings))})"
        )
