"""Self-describing, pickle-free checkpoints (ARCHITECTURE.md "Checkpoint contract").

A checkpoint is ONE ``.safetensors`` file: every tensor the player needs (``policy.*``, ``motivation.*``)
plus, in the safetensors header metadata, one JSON document under the key ``snd`` (format version,
algorithm, env id and preprocessing, action meanings, the full training config, the step count, the
package version). safetensors stores raw little-endian arrays and a JSON header, so opening a file from a
stranger can never run code. Resume state (optimiser moments, RNG states) is the trainer's own business and
lives beside the checkpoint in ``<step>.state.pt`` loaded with ``torch.load(weights_only=True)``.

Files are written atomically (temp file in the same folder, fsync, ``os.replace``) so a crash or a full
disk never leaves a half-written file under a final name, and names are the zero-padded step so they sort.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

# the format's names and CheckpointError live one floor down (trainer.validate needs them too); every reader
# keeps importing them from here
from trainer.checkpoint_format import FORMAT_NAME, FORMAT_VERSION, MAX_HEADER_BYTES, META_KEY, CheckpointError
from trainer.validate import (
    SHA_KEY,
    check_finite,
    check_header,
    check_meta,
    check_sha256,
    open_regular,
    tensors_sha256,
)

if TYPE_CHECKING:  # torch is imported where tensors are made or read: listing and reading headers need none
    import torch


def checkpoint_name(step: int) -> str:
    """Zero-padded so that names sort by step."""
    return f"{step:012d}.safetensors"


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temp file beside ``path``, fsync it and rename it over ``path``.

    On any error (a full disk included) the temp file is removed and ``path`` keeps its old content; an
    OSError names ``path`` rather than the temp file, which no longer exists.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a checkpoint is meant to be shared
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OSError(e.errno, e.strerror or str(e), str(path)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def output_path_problem(path: Path, extensions: tuple[str, ...]) -> str | None:
    """Why ``path`` cannot be written, in one line, or None; checked before any long work is done.

    Creates and removes a temp file in the folder, the only reliable test (permissions, read-only
    mounts, ACLs).
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in extensions:
        return f"{path}: unknown extension {ext or '(none)'!r}; use one of {', '.join(extensions)}"
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return f"{path}: folder {folder} does not exist"
    if path.is_dir():
        return f"{path}: is a folder"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=folder)
    except OSError as e:
        return f"{path}: cannot write in {folder} ({e.strerror or e})"
    os.close(fd)
    os.unlink(tmp)
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path}: exists and is not writable"
    return None


def save_checkpoint(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write tensors and JSON metadata atomically. Tensors are stored contiguous, on the CPU."""
    from safetensors.torch import save

    flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **meta, SHA_KEY: tensors_sha256(flat)}
    header = {META_KEY: json.dumps(meta, sort_keys=True, default=str)}
    # serialised in memory and written by Python: a full disk then raises OSError(ENOSPC), where
    # save_file would raise safetensors' own error type
    blob = save(flat, metadata=header)
    atomic_write(Path(path), lambda tmp: tmp.write_bytes(blob))


def save_torch(path: Path, obj: Any) -> None:
    """``torch.save`` written atomically; on a full disk torch.save itself raises a RuntimeError about
    "unexpected pos", so the bytes are made in memory and written by Python (OSError ENOSPC)."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write(Path(path), lambda tmp: tmp.write_bytes(buf.getbuffer()))


def _read_header(path: Path, with_data: bool = False) -> tuple[dict[str, Any], bytes | None]:
    """Parse and validate the safetensors header by hand so errors can say precisely what is wrong.

    Returns the header and, with ``with_data``, the whole file's bytes read from the same open file.
    """
    path = Path(path)
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: {size} bytes, too short to be a safetensors checkpoint")
        (n,) = struct.unpack("<Q", head)
        if f.read(1) != b"{":  # a safetensors header is a JSON object; a README or a zip is not
            raise CheckpointError(f"{path}: not a safetensors file (expected an snd .safetensors checkpoint)")
        f.seek(8)
        if n > MAX_HEADER_BYTES or 8 + n > size:
            raise CheckpointError(
                f"{path}: not a safetensors file or truncated (header says {n} bytes, file has {size})"
            )
        raw = f.read(n)
        if with_data:
            f.seek(0)
            blob = f.read()
            size = len(blob)  # what was read is what gets checked and decoded
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: corrupt safetensors header (not valid JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header (expected a JSON object)")
    check_header(path, header, n, size)
    return header, blob if with_data else None


def read_metadata(path: Path) -> dict[str, Any]:
    """Read only the JSON metadata (fast: no tensor is loaded)."""
    return _metadata(path, _read_header(path)[0])


def _metadata(path: Path, header: dict[str, Any]) -> dict[str, Any]:
    meta_raw = (header.get("__metadata__") or {}).get(META_KEY)
    if meta_raw is None:
        raise CheckpointError(
            f"{path}: a safetensors file but not an snd checkpoint (no '{META_KEY}' metadata; "
            "expected a file written by `trainer train`)"
        )
    try:
        meta = json.loads(meta_raw)
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: snd metadata is not valid JSON") from None
    check_meta(path, meta)
    return meta


def load_checkpoint(path: Path, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict]:
    """Load tensors and metadata; raises CheckpointError with a one-line reason.

    The file is read once: header and metadata are validated, the data section is checked against the
    metadata's sha256 (when it has one), then decoded, and every float tensor must be finite.
    """
    from safetensors.torch import load

    path = Path(path)
    header, blob = _read_header(path, with_data=True)
    meta = _metadata(path, header)
    (n,) = struct.unpack("<Q", blob[:8])
    check_sha256(path, meta, header, memoryview(blob)[8 + n :])
    try:
        tensors = load(blob)
    except Exception as e:  # safetensors raises its own error types for corrupt payloads
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{path}: corrupt tensor data ({first})") from None
    check_finite(path, tensors)
    return {k: v.to(device) for k, v in tensors.items()}, meta


def prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The sub-dict under ``prefix.``, with the prefix removed."""
    p = prefix + "."
    return {k[len(p) :]: v for k, v in tensors.items() if k.startswith(p)}


STEP_DIGITS = 12
"""A step file's name is the step in exactly this many ASCII digits (:func:`checkpoint_name`)."""
STEP_SUFFIXES = (".safetensors", ".state.pt")
"""The model and the resume state of one step."""


def step_of(path: str | Path) -> int | None:
    """The step of one of the trainer's own step files (``<12 ASCII digits>.safetensors`` or ``.state.pt``),
    None for any other name. ASCII only: ``str.isdigit`` also accepts "²²" and "٣٢", which ``int`` then
    refuses or reads as another number, and ``\\d`` in a regular expression matches them too."""
    name = Path(path).name
    for suffix in STEP_SUFFIXES:
        stem = name[: -len(suffix)]
        if name.endswith(suffix) and len(stem) == STEP_DIGITS and stem.isascii() and stem.isdigit():
            return int(stem)
    return None


def step_files(ckpt_dir: Path) -> tuple[dict[int, list[Path]], list[Path]]:
    """THE listing of a checkpoint folder, for every reader (trainer, resume, runs, player).

    Returns the step files by step (model and/or resume state, regular files only) and the ``.safetensors``
    files that are not the trainer's (anything but ``<12 digits>.safetensors`` and ``best.safetensors``),
    which every caller leaves alone. Steps are numbers, never compared as text: a stray ``9.safetensors``
    is not "newer" than ``000000000064.safetensors``.
    """
    ckpt_dir = Path(ckpt_dir)
    steps: dict[int, list[Path]] = {}
    foreign: list[Path] = []
    try:
        entries = sorted(ckpt_dir.iterdir())
    except OSError:  # no folder (yet), not a folder, unreadable: no checkpoint
        return steps, foreign
    for p in entries:
        step = step_of(p)
        if step is not None and p.is_file():
            steps.setdefault(step, []).append(p)
        elif p.name.endswith(".safetensors") and p.name != "best.safetensors":
            foreign.append(p)
    return dict(sorted(steps.items())), foreign


def list_checkpoints(ckpt_dir: Path) -> list[Path]:
    """Step checkpoints (the models) in a folder, oldest first by step number; ``best`` is not included,
    nor any file the trainer did not name (see :func:`step_files`)."""
    steps, _ = step_files(ckpt_dir)
    return [p for files in steps.values() for p in files if p.name.endswith(".safetensors")]


def foreign_files_warning(ckpt_dir: Path) -> str | None:
    """One line naming the ``.safetensors`` files of ``ckpt_dir`` that are not the trainer's, or None."""
    _, foreign = step_files(ckpt_dir)
    if not foreign:
        return None
    more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
    names = ", ".join(p.name for p in foreign[:5]) + more
    return (
        f"{ckpt_dir}: {names} {'is' if len(foreign) == 1 else 'are'} not a checkpoint this trainer wrote "
        f"(expected <{STEP_DIGITS}-digit step>.safetensors or best.safetensors); left alone, never pruned"
    )


def prune_checkpoints(
    ckpt_dir: Path, keep: int, keep_states: int | None = None, on_schedule: Callable[[int], bool] | None = None
) -> None:
    """Keep the newest ``keep`` step checkpoints (0: all), and the resume state of the newest ``keep_states``
    of them only (None: of all kept): older checkpoints keep their weights alone (docs/checkpoints.md).

    With ``on_schedule`` (step -> whether the checkpoint came from --checkpoint-every), an older checkpoint
    that did not (written by --checkpoint-minutes, a stop or the end) goes with its resume state: it was
    insurance against a crash, and a run kept whole for a recording keeps evenly spaced steps.
    ``best`` and files the trainer did not name are never removed (the newest are by step number)."""
    steps = list_checkpoints(ckpt_dir)
    for p in steps[:-keep] if keep > 0 else []:
        p.unlink(missing_ok=True)
        p.with_suffix(".state.pt").unlink(missing_ok=True)
    for p in steps[:-keep_states] if keep_states else []:
        p.with_suffix(".state.pt").unlink(missing_ok=True)
        if on_schedule is not None and not on_schedule(step_of(p) or 0):
            p.unlink(missing_ok=True)
