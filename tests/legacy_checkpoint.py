"""A checkpoint in the format of the first bundled demo (saved 2026-11, before issues 22 and 26).

Tests of "old files keep their old behaviour" used to read ``snd_player/assets/demo.safetensors``; the demo
is replaced as better agents are trained, so they read this stand-in instead. ``tests/data/
legacy_demo_header.json`` is that demo's safetensors header, byte for byte in content: the same metadata
(its config has no ``defaults_version``, ``policy_width``, ``critic_relu`` or ``sticky_per_frame``; no
``tensor_sha256``), the same 45 tensor names, dtypes and shapes. Only the weights are made up (seeded,
small), so nothing here says anything about what the old agent did, only about how its file is read.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

HEADER = Path(__file__).resolve().parent / "data" / "legacy_demo_header.json"
DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64}


def _values(name: str, shape: list[int], dtype: type, rng: np.random.Generator) -> np.ndarray:
    if name.endswith("normaliser.count"):
        return np.full(shape, 1000.0, dtype)
    if name.endswith("normaliser.mean"):
        return np.full(shape, 0.3, dtype)
    if name.endswith("normaliser.mean_sq"):
        return np.full(shape, 0.3**2 + 0.01, dtype)  # variance 0.01 everywhere
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(dtype)


def write_legacy_checkpoint(path: Path, seed: int = 0) -> Path:
    """Write the stand-in to ``path``: the old demo's header (same offsets) over seeded weights."""
    header = json.loads(HEADER.read_text())
    rng = np.random.default_rng(seed)
    entries = sorted(((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"])
    data = bytearray(entries[-1][1]["data_offsets"][1])
    for name, e in entries:
        start, end = e["data_offsets"]
        arr = _values(name, e["shape"], DTYPES[e["dtype"]], rng)
        assert arr.nbytes == end - start, name
        data[start:end] = arr.tobytes()
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors pads the header to 8 bytes
    Path(path).write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(data))
    return Path(path)
