"""keep_freed_memory: glibc keeps a freed 20 MB block in the heap for reuse.

Checked in fresh subprocesses (the setting is process-wide), through glibc's own
accounting (``mallinfo2``): without the setting the block is mmapped and unmapped on free;
with it the block comes from the heap and stays there, free, after the tensor is gone.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

PROBE = """
import ctypes, json, sys
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks",
        "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
applied = None
if sys.argv[1] == "tuned":
    from distributed_seqgan.infra.malloc import keep_freed_memory
    applied = keep_freed_memory()
import torch
t = torch.ones(5_000_000)  # 20 MB
alive = libc.mallinfo2()
del t
freed = libc.mallinfo2()
print(json.dumps({"applied": applied, "mmapped_alive": alive.hblkhd, "free_in_heap": freed.fordblks}))
"""

_LIBC, _VERSION = platform.libc_ver()
pytestmark = pytest.mark.skipif(
    platform.system() != "Linux"
    or _LIBC != "glibc"
    or tuple(int(x) for x in _VERSION.split(".")[:2]) < (2, 33),
    reason="mallopt and mallinfo2 (glibc >= 2.33) only",
)


def _probe(mode: str) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_freed_blocks_stay_in_the_heap():
    block = 20_000_000
    default, tuned = _probe("default"), _probe("tuned")
    assert default["mmapped_alive"] >= block  # glibc's default: a block this size is mmapped
    assert tuned["applied"] is True
    assert tuned["mmapped_alive"] < block  # now it comes from the heap ...
    assert tuned["free_in_heap"] >= block  # ... and stays there after the free
