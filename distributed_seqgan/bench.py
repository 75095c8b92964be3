"""Benchmark harness: the hot paths at the paper configuration against this machine's limit.

One run measures the fp32 and bf16 matmul ceilings (2048^3, median of repeats, at the start
and at the end; the higher counts, since disturbance only lowers them) and then
times MLE epoch, rollout-reward batch, sampling 9,984 sequences, D train step, D
retraining round and one full adversarial iteration. For each it reports the median time,
the FLOPs counted by hand (``flops.py``), the achieved GFLOP/s and the ratio to the
ceiling of the precision it ran in, measured in the same run (a busy machine halves the
ceiling, so the ratio is the comparable number). Results are printed and appended to
docs/benchmarks.md. Used by ``seqgan bench`` and ``benchmarks/bench_core.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from . import flops
from .config import Config, load_config
from .learner import Learner
from .malloc import keep_freed_memory
from .runner import make_pool
from .seeding import uniforms
from .tasks import build_task, whole_batches
from .tracking import RunLogger
from .trainer import Trainer


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


def matmul_ceiling(
    dtype: torch.dtype, device: torch.device, n: int = 2048, repeats: int = 5
) -> float:
    """Achieved GFLOP/s of an n^3 matmul: the practical limit for GEMM-shaped work."""
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    return 2 * n**3 / median_time(lambda: a @ b, repeats, sync=_sync(device)) / 1e9


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


def _sync(device: torch.device) -> Callable[[], None]:
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


@dataclass
class Row:
    name: str
    seconds: float
    flop: float
    precision: str  # which ceiling applies: fp32 | bf16

    def gflops(self) -> float:
        return self.flop / self.seconds / 1e9


def run_benchmarks(
    cfg: Config, quick: bool, log: Callable[[str], None] = print
) -> tuple[list[Row], dict[str, float]]:
    """Times every phase for ``cfg``; returns the rows and the ceilings (GFLOP/s)."""
    keep_freed_memory()  # as training does (runner.train)
    device = torch.device(
        "cuda" if cfg.run.device in ("cuda", "auto") and torch.cuda.is_available() else "cpu"
    )
    sync = _sync(device)
    ceilings = measure_ceilings(device)
    log(
        f"ceilings: fp32 {ceilings['fp32']:.0f} GFLOP/s, bf16 {ceilings['bf16']:.0f} GFLOP/s on {device}"
    )
    s, d = cfg.schedule, cfg.discriminator
    n_gen = whole_batches(s.generated_num, s.batch_size)
    rows: list[Row] = []

    def record(name: str, seconds: float, flop: float, bf16: bool = False) -> None:
        row = Row(name, seconds, flop, "bf16" if bf16 else "fp32")
        rows.append(row)
        ratio = row.gflops() / ceilings[row.precision]
        log(
            f"{name:<52} {seconds:9.4f} s {row.gflops():8.1f} GFLOP/s {100 * ratio:5.1f}% of {row.precision}"
        )

    learner = Learner(cfg)
    pool = make_pool(cfg)
    pool.publish(learner.weights())
    data = torch.randint(0, cfg.generator.vocab_size, (n_gen, cfg.generator.seq_len))
    record(
        f"MLE epoch ({n_gen:,} sequences)",
        median_time(lambda: learner.mle_epoch(data), 3, sync=sync),
        flops.mle_epoch(cfg, n_gen),
    )
    record(
        f"sample {n_gen:,} sequences",
        median_time(lambda: pool.sample(n_gen, "bench", 0), 3, sync=sync),
        flops.sampling(cfg, n_gen),
    )
    samples = learner.sample(uniforms((s.batch_size, cfg.generator.seq_len), 0, "bench"))
    rollout_t = median_time(lambda: pool.rollout_rewards(samples, s.rollout_num, 0), 3, sync=sync)
    record(
        f"rollout-reward batch ({s.batch_size} x {s.rollout_num})",
        rollout_t,
        flops.rollout_batch(cfg),
        d.bf16_rewards,
    )

    x, y = data[: s.batch_size].to(device), torch.randint(0, 2, (s.batch_size,), device=device)
    learner.discriminator.train()
    record(
        f"D train step (batch {s.batch_size}, fwd + bwd + Adam)",
        median_time(lambda: learner.d_step(x, y), 20, warmup=3, sync=sync),
        flops.d_train_step(cfg),
        d.bf16_train,
    )
    record(
        f"D retraining round ({n_gen} + {n_gen}, {s.d_epochs} epochs)",
        median_time(lambda: learner.d_round(data, data, "bench", 0), 1, 0, sync=sync),
        flops.d_round(cfg, n_gen, n_gen),
        d.bf16_train,
    )
    if not quick:
        with tempfile.TemporaryDirectory() as tmp:
            logger = RunLogger(Path(tmp), quiet=True)
            trainer = Trainer(cfg, learner, pool, build_task(cfg)[0], logger, Path(tmp))
            trainer.positives, trainer.test = data, data[:640]
            t_it = median_time(
                lambda: trainer.adversarial_iteration(1), 1, 0, sync=sync
            )  # no eval at it=1
            logger.close()
        record(
            "adversarial iteration (paper schedule)",
            t_it,
            flops.adversarial_iteration(cfg, n_gen, n_gen),
            d.bf16_train,
        )
    pool.close()
    ceilings = measure_ceilings(device, earlier=ceilings)  # the higher of start and end
    log(
        f"ceilings (higher of start and end): fp32 {ceilings['fp32']:.0f}, bf16 {ceilings['bf16']:.0f}"
    )
    log(bf16_advice(ceilings, d.bf16_train or d.bf16_rewards))
    return rows, ceilings


def bf16_advice(ceilings: dict[str, float], bf16_on: bool) -> str:
    """Whether bf16 D pays on this machine, from the measured ceilings: it is off by
    default because on CPUs without bf16 GEMMs it is slower than fp32."""
    ratio = ceilings["bf16"] / ceilings["fp32"]
    if ratio >= 1.5 and not bf16_on:
        return (
            f"bf16 GEMMs run {ratio:.1f}x fp32 here: bf16 D (--set discriminator.bf16_rewards=true"
            " --set discriminator.bf16_train=true; `seqgan bench --bf16` times it) should pay"
        )
    if ratio < 1.0 and bf16_on:
        return f"bf16 GEMMs run only {ratio:.2f}x fp32 here: bf16 D will be slower than fp32"
    return f"bf16 / fp32 ceiling ratio: {ratio:.1f}x"


def append_table(
    command: str, preamble: str, header: list[str], rows: list[list[str]],
    path: str = "docs/benchmarks.md",
) -> None:  # fmt: skip
    """Appends a dated section (the command, a preamble, one table) to the benchmark log."""
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
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n".join(lines))


def describe_device(device: torch.device) -> str:
    """The machine a benchmark ran on, for the header of its table."""
    if device.type == "cuda":
        return "cuda: " + torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    return f"cpu: {cpu}, {os.cpu_count()} CPUs, {torch.get_num_threads()} threads"


def markdown(rows: list[Row], ceilings: dict[str, float], command: str, cfg: Config) -> str:
    on_gpu = cfg.run.device != "cpu" and torch.cuda.is_available()
    dev = describe_device(torch.device("cuda" if on_gpu else "cpu"))
    d = cfg.discriminator
    lines = [
        f"\n## {time.strftime('%Y-%m-%d %H:%M')} · `{command}`",
        "",
        f"torch {torch.__version__} · {dev} · ceilings (2048³ matmul, higher of this run's start and end): fp32 "
        f"{ceilings['fp32']:.0f} GFLOP/s, bf16 {ceilings['bf16']:.0f} GFLOP/s · bf16 rewards "
        f"{'on' if d.bf16_rewards else 'off'}, bf16 D training {'on' if d.bf16_train else 'off'}",
        "",
        "| phase | median time | GFLOP (by hand) | achieved GFLOP/s | of ceiling |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r.gflops() / ceilings[r.precision]
        lines.append(
            f"| {r.name} | {r.seconds:.3f} s | {r.flop / 1e9:.1f} | {r.gflops():.1f} | {100 * ratio:.0f}% {r.precision} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None, prog: str = "seqgan bench") -> int:
    ap = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--config",
        default=None,
        help="config to benchmark (default: configs/synthetic.yaml values)",
    )
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast for rewards and D training")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--quick", action="store_true", help="skip the full adversarial iteration")
    ap.add_argument("--out", default="docs/benchmarks.md", help="markdown file to append to")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args(argv)
    overrides = [
        f"run.device={args.device}",
        "oracle.kind=random",
        *args.overrides,
    ]  # random oracle: no data file
    if args.bf16:
        overrides += ["discriminator.bf16_rewards=true", "discriminator.bf16_train=true"]
    cfg = load_config(args.config, overrides)
    rows, ceilings = run_benchmarks(cfg, args.quick)
    if not args.no_write:
        cmd = " ".join([prog, *(argv if argv is not None else [])]).strip()
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(markdown(rows, ceilings, cmd, cfg))
        print(f"appended to {args.out}")
    return 0
