"""trainer.heap: on glibc, a large CPU tensor comes from the heap, not a fresh mmap, once the trainer has
set it up (the cost it removes is in trainer/heap.py's docstring and docs/throughput.md)."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys

import pytest

PROBE = r"""
import ctypes, json, torch
from trainer.heap import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2

def mmapped_while_alive():
    x = torch.empty(16 * 2**20)  # 64 MB, over glibc's largest mmap threshold (32 MB)
    x.fill_(1.0)
    during = libc.mallinfo2().hblkhd
    del x
    return during

before = mmapped_while_alive()
took = keep_freed_memory()
after = mmapped_while_alive()
print(json.dumps({"before": before, "took": took, "after": after}))
"""


def _glibc_with_mallinfo2() -> bool:
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    return hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallinfo2")


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _glibc_with_mallinfo2(), reason="glibc >= 2.33")
def test_a_64mb_tensor_is_mmapped_before_and_comes_from_the_heap_after() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["before"] >= 64 * 2**20, "glibc mmaps a 64 MB block by default"
    assert got["took"] is True
    assert got["after"] < 64 * 2**20, "the same tensor from the heap once the trainer has set it up"


def test_the_users_own_malloc_settings_win(monkeypatch) -> None:
    from trainer.heap import keep_freed_memory

    monkeypatch.setenv("MALLOC_MMAP_MAX_", "65536")
    assert keep_freed_memory() is False
