"""What a config will ask of memory, in closed form, checked before any work starts.

A size that cannot fit (``schedule.rollout_num=10**9``, a vocabulary of a billion) would
otherwise get through data generation and pretraining and then die in the allocator with
a long traceback. The largest buffers are known from the config: the networks and their
Adam states, the training data and negatives, and the rollout engine's completions and
per-row LSTM states. The estimate is deliberately rough (within a small factor); it exists
to refuse what is off by orders of magnitude, in one line.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import Config
from ..errors import ConfigError
from ..models.build import parameter_counts

F32, I64 = 4, 8
GIB = 2**30


def estimate(cfg: Config) -> dict[str, int]:
    """Bytes of the largest parts of a run in one process (local mode); for Ray, the
    rollout part is spread over the workers."""
    s, g = cfg.schedule, cfg.generator
    t, b, n_roll = g.seq_len, s.batch_size, s.rollout_num
    g_params, d_params = parameter_counts(cfg.generator, cfg.discriminator)
    params = 2 * g_params + d_params  # G, rollout copy, D
    networks = params * F32 * 4  # weights, gradients, two Adam moments
    data = (cfg.data.num_positive + cfg.data.num_test) * t * (I64 + 8)  # + their uniforms
    negatives = max(s.d_steps, 1) * s.generated_num * t * I64 * 2  # + the pos/neg batch copy
    rows = (t - 1) * n_roll * b  # rollout completions of one batch
    workers = cfg.pool.workers if cfg.pool.backend == "ray" else 1
    rollouts = rows * t * (I64 * 3 + 8) + rows * g.hidden_dim * F32 * 6  # tokens, u, states
    return {
        "networks and optimizers": networks,
        "data": data,
        "negatives": negatives,
        "rollout buffers": rollouts // workers,
    }


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else physical memory; None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(cfg: Config) -> None:
    """Refuses, in one line, a config that needs more memory than this machine has."""
    parts = estimate(cfg)
    need, have = sum(parts.values()), available_bytes()
    if have is None or need <= have:
        return
    largest = max(parts, key=lambda k: parts[k])
    raise ConfigError(
        f"this config needs about {need / GIB:,.1f} GiB of memory (largest: {largest} "
        f"{parts[largest] / GIB:,.1f} GiB), more than the {have / GIB:,.1f} GiB available; "
        "lower schedule.rollout_num, generator.vocab_size, data sizes or schedule.batch_size"
    )


def check_samples(n: int, seq_len: int) -> None:
    """Refuses ``-n`` sequences that cannot fit (tokens, uniforms and their text)."""
    need, have = n * seq_len * (I64 + 8 + 8), available_bytes()
    if have is not None and need > have:
        raise ConfigError(
            f"-n {n:,}: about {need / GIB:,.1f} GiB of memory, more than the "
            f"{have / GIB:,.1f} GiB available"
        )
