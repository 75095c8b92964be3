"""Keeps freed heap memory in the process for reuse instead of returning it to the OS.

Why: every D step allocates and frees the same large buffers (the highway's 24 MB weight
gradient; under autocast also its 12 MB bf16 copy), and rollout scoring does the same with
its (4096, 3440) activations chunk after chunk. glibc's malloc hands such blocks back to the
kernel (``munmap``, or trimming the top of the heap), so the next step page-faults the same
memory in again, zero-filled. Raising the mmap threshold to its maximum (32 MB on 64-bit)
and switching trimming off makes glibc keep and reuse those blocks: on the reference
machine rollout scoring gets ~10% faster and the D step's variance drops
(docs/benchmarks.md). The cost: resident memory stays near its peak instead of shrinking
between phases. Only glibc (Linux) has these knobs; elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import platform

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's upper limit for M_MMAP_THRESHOLD on 64-bit
_NEVER_TRIM = 2**31 - 1  # mallopt takes a C int
_applied = False


def keep_freed_memory() -> bool:
    """Applies the setting once per process; returns whether it is in effect (False where
    the C library is not glibc)."""
    global _applied
    if _applied:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        _applied = (
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX) == 1
            and libc.mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM) == 1
        )
    except (OSError, AttributeError):  # no libc symbols to load, or no mallopt
        return False
    return _applied
