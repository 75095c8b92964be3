"""What every benchmark shares: timing loops, the matmul ceilings, the device label, the
command-line options and the one table writer.

Tables go to the run log, ``docs/benchmark-log.md``, one dated section per run with the
command that made it; ``docs/benchmarks.md`` summarizes them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence

import torch

from ..infra.malloc import keep_freed_memory
from ..infra.provenance import cpu_model

LOG = "docs/benchmark-log.md"


def timings(
    fn: Callable[[], object],
    repeats: int,
    warmup: int = 1,
    sync: Callable[[], None] = lambda: None,
    setup: Callable[[], object] = lambda: None,
) -> list[float]:
    """Seconds of each of ``repeats`` calls of fn, after ``warmup`` untimed ones; ``setup``
    runs untimed before each timed call (e.g. to empty the caches)."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        setup()
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times


def median_time(
    fn: Callable[[], object], repeats: int, warmup: int = 1, sync: Callable[[], None] = lambda: None
) -> float:
    return statistics.median(timings(fn, repeats, warmup, sync))


def sync_for(device: torch.device) -> Callable[[], None]:
    """What makes a timing wait for the device's queued work."""
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


PROBE_N = 256  # the smallest ceiling matmul, and the one that sizes the rest


def ceiling_size(rate: float, repeats: int, budget_s: float, n: int = 2048) -> int:
    """The largest n (halving from ``n``, at least PROBE_N) whose n^3 matmul, warmup and
    ``repeats`` calls, fits in ``budget_s`` at ``rate`` FLOP/s.

    Where a dtype has no fast GEMM (bf16 on a CPU without AVX512-BF16 falls back to a
    generic loop at 0.3-3 GFLOP/s) the 2048^3 product takes up to a minute per call, and
    a benchmark's two ceiling readings would take ten; a fast dtype keeps 2048."""
    while n > PROBE_N and (repeats + 1) * 2 * n**3 / rate > budget_s:
        n //= 2
    return n


def matmul_ceiling(
    dtype: torch.dtype, device: torch.device, repeats: int = 5, budget_s: float = 3.0
) -> float:
    """Achieved GFLOP/s of an n^3 matmul: the practical limit for GEMM-shaped work. n is
    2048, or smaller where a PROBE_N^3 probe shows the dtype too slow (``ceiling_size``)."""
    sync = sync_for(device)
    p = torch.randn(PROBE_N, PROBE_N, dtype=dtype, device=device)
    rate = 2 * PROBE_N**3 / median_time(lambda: p @ p, 1, sync=sync)
    n = ceiling_size(rate, repeats, budget_s)
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    return 2 * n**3 / median_time(lambda: a @ b, repeats, sync=sync) / 1e9


def measure_ceilings(
    device: torch.device, earlier: dict[str, float] | None = None
) -> dict[str, float]:
    """fp32 and bf16 matmul ceilings (GFLOP/s) on ``device``. With ``earlier`` readings,
    the higher of each: a disturbed reading only lowers a ceiling."""
    now = {
        "fp32": matmul_ceiling(torch.float32, device),
        "bf16": matmul_ceiling(torch.bfloat16, device),
    }
    return {k: max(v, (earlier or {}).get(k, 0.0)) for k, v in now.items()}


def describe_ceilings(ceilings: dict[str, float]) -> str:
    return (
        "ceilings (2048³ matmul, smaller where a precision is too slow for it; higher of "
        f"this run's start and end): fp32 {ceilings['fp32']:.3g} GFLOP/s, "
        f"bf16 {ceilings['bf16']:.3g} GFLOP/s"
    )


def describe_device(device: torch.device) -> str:
    """The machine a benchmark ran on, for the header of its table."""
    if device.type == "cuda":
        return "cuda: " + torch.cuda.get_device_name(device)
    return f"cpu: {cpu_model()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} threads"


def parser(doc: str, device: bool = True, config: str | None = None) -> argparse.ArgumentParser:
    """A benchmark script's options: ``--out`` always, ``--device`` and ``--config`` on
    request (``config`` is the default config file)."""
    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if device:
        ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    if config is not None:
        ap.add_argument("--config", default=config, help=f"config to benchmark (default {config})")
    ap.add_argument("--out", default=LOG, help=f"markdown file to append to (default {LOG})")
    return ap


def setup(args: argparse.Namespace) -> tuple[torch.device, Callable[[], None]]:
    """The device a script runs on and its sync, with the process set up as training's."""
    keep_freed_memory()  # as training and the rollout workers do
    device = torch.device(getattr(args, "device", "cpu"))
    return device, sync_for(device)


def command(script: str, argv: Sequence[str]) -> str:
    """The command line for a table's header: as run, without ``--out`` (where the table
    went does not change what was measured)."""
    parts, skip = [script], False
    for arg in argv:
        if arg.startswith("--"):
            skip = arg.split("=")[0] == "--out"
        if not skip:
            parts.append(arg)
    return " ".join(parts)


def append_table(
    out: str, command: str, preamble: str, header: Sequence[str], rows: Sequence[Sequence[str]]
) -> None:
    """Appends a dated section (the command, a preamble, one table) to ``out``."""
    lines = [
        f"\n## {time.strftime('%Y-%m-%d %H:%M')} · `{command}`",
        "",
        preamble,
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join(row) + " |" for row in rows],
        "",
    ]
    with open(out, "a", encoding="utf-8") as f:
        f.write("\n".join(lines))
