"""Flush-to-zero for denormal floats on the CPU (``run.flush_denormal``).

Why: D's Adam second moments fill with denormal floats (squares of tiny gradients of
rarely seen embedding rows), and x86 arithmetic on denormals is slow: at paper sizes on one
thread successive D rounds took 24-25 s rising to 28 s by the eighth, against a flat
24-24.7 s with them flushed (docs/benchmarks.md). TensorFlow flushes denormals in its CPU
thread pools, so the official code computed this way too. Off by default: in the rounds
measured D's weights came out bit-identical either way, but nothing promises that.

The flags (FTZ and DAZ) belong to each thread, and torch's intra-op threads copy them from
the thread that starts them: set them before torch's first parallel operation in the
process. :func:`flush_denormals` checks that every thread flushes and says so when not.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError

_GRAIN = 1 << 16  # elements per thread in the probe: above torch's parallel grain size


def kept_denormals() -> tuple[int, int]:
    """(denormals that survived a multiplication, of how many): one part per torch thread,
    so 0 survive exactly when every thread flushes."""
    # the smallest denormal as a bit pattern (an integer fill: no float arithmetic on the
    # way, which would flush it here already), then one multiplication in every thread
    n = torch.get_num_threads() * _GRAIN
    probe = torch.ones(n, dtype=torch.int32).view(torch.float32) * 1.0  # (n,)
    return int(probe.count_nonzero()), n


def flush_denormals() -> None:
    """Turns flush-to-zero on for this process's torch CPU threads, or raises ConfigError:
    the CPU cannot, or torch's threads started before (some would keep denormals)."""
    if not torch.set_flush_denormal(True):
        raise ConfigError("run.flush_denormal: this CPU cannot flush denormals (no SSE3)")
    kept, n = kept_denormals()
    if kept:
        raise ConfigError(
            f"run.flush_denormal: {kept:,} of {n:,} denormals survived: torch's "
            "CPU threads started before flush-to-zero was set and do not have it; set it "
            "before any torch work in the process (seqgan train/resume and the workers do)"
        )
