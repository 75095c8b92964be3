"""Flush-to-zero for denormal floats on the CPU (``run.flush_denormal``).

Why: D's Adam second moments fill with denormal floats (squares of tiny gradients of
rarely seen embedding rows), and x86 arithmetic on denormals is slow: at paper sizes on one
thread a D round took 24.9, 24.7, 26.0, 27.1 s in four successive rounds, against a flat
25.0-25.1 s with them flushed (docs/benchmarks.md). TensorFlow flushes denormals in its
CPU thread pools, so the official code computed this way too; off by default, because it
changes results in their last bits against the runs and tests recorded without it.

The flags (FTZ and DAZ) belong to each thread, and torch's intra-op threads copy them from
the thread that starts them: set them before torch's first parallel operation in the
process. :func:`flush_denormals` checks that every thread flushes and says so when not.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError

_GRAIN = 1 << 16  # elements per thread in the probe: above torch's parallel grain size


def flush_denormals() -> None:
    """Turns flush-to-zero on for this process's torch CPU threads, or raises ConfigError:
    the CPU cannot, or torch's threads started before (some would keep denormals)."""
    if not torch.set_flush_denormal(True):
        raise ConfigError("run.flush_denormal: this CPU cannot flush denormals (no SSE3)")
    # the smallest denormal as a bit pattern (an integer fill: no float arithmetic on the
    # way, which would flush it here already), then one multiplication in every thread
    denormals = torch.ones(torch.get_num_threads() * _GRAIN, dtype=torch.int32).view(torch.float32)
    probe = denormals * 1.0
    kept = int((probe != 0).sum())
    if kept:
        raise ConfigError(
            f"run.flush_denormal: {kept:,} of {probe.numel():,} denormals survived: torch's "
            "CPU threads started before flush-to-zero was set and do not have it; set it "
            "before any torch work in the process (seqgan train/resume and the workers do)"
        )
