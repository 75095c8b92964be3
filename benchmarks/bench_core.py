"""Times the training phases at the paper configuration and appends them to docs/benchmarks.md.

    ./run.sh seqgan ... is not needed: run with the project's environment, e.g.
    .venv/bin/python benchmarks/bench_core.py            # everything, ~6 min on 2 cores
    .venv/bin/python benchmarks/bench_core.py --quick    # skip the full adversarial iteration

Each line is the median of repeats, measured in one process after a warm-up, together
with this machine's fp32 matmul ceiling measured in the same run (the ceiling halves
when the machine is busy, so compare ratios, not raw seconds, across runs).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from distributed_seqgan.config import load_config
from distributed_seqgan.learner import Learner
from distributed_seqgan.runner import build_task_oracle, make_pool
from distributed_seqgan.seeding import uniforms
from distributed_seqgan.tracking import RunLogger
from distributed_seqgan.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_gflops(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return 2 * n**3 / median_time(lambda: a @ b, repeats) / 1e9


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="skip the full adversarial iteration (~4 min)"
    )
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()

    # the random oracle needs no data file; the timed iteration does no evaluation
    cfg = load_config(ROOT / "configs" / "synthetic.yaml", ["run.device=cpu", "oracle.kind=random"])
    s = cfg.schedule
    rows: list[tuple[str, float, str]] = []

    def record(name: str, seconds: float, note: str = "") -> None:
        rows.append((name, seconds, note))
        print(f"{name:<44} {seconds:10.4f} s  {note}", flush=True)

    fp32 = matmul_gflops(torch.float32)
    print(
        f"fp32 matmul ceiling: {fp32:.1f} GFLOP/s ({torch.get_num_threads()} threads)", flush=True
    )

    learner = Learner(cfg)
    pool = make_pool(cfg)
    pool.publish(learner.weights())
    data = torch.randint(0, cfg.generator.vocab_size, (9984, cfg.generator.seq_len))
    record("MLE epoch (9,984 sequences, batch 64)", median_time(lambda: learner.mle_epoch(data), 3))
    record("sample 9,984 sequences", median_time(lambda: pool.sample(9984, "bench", 0), 3))
    samples = learner.sample(uniforms((s.batch_size, cfg.generator.seq_len), 0, "bench"))
    record(
        "rollout-reward batch (64 x 16 rollouts)",
        median_time(lambda: pool.rollout_rewards(samples, s.rollout_num, 0), 3),
    )
    d = learner.discriminator
    x, y = data[: s.batch_size], torch.randint(0, 2, (s.batch_size,))

    def d_step() -> None:
        d.train()
        loss = d.loss(d(x), y)
        learner.d_opt.zero_grad(set_to_none=True)
        loss.backward()
        learner.d_opt.step()

    record("D train step (batch 64, fwd + bwd + Adam)", median_time(d_step, 20, warmup=3))
    record(
        "D retraining round (9,984 + 9,984, 3 epochs)",
        median_time(lambda: learner.d_round(data, data, "bench", 0), 1, 0),
    )
    if not args.quick:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            logger = RunLogger(Path(tmp), quiet=True)
            trainer = Trainer(cfg, learner, pool, build_task_oracle(cfg), logger, Path(tmp))
            trainer.positives = data
            trainer.test = data[:640]
            t_it = median_time(lambda: trainer.adversarial_iteration(1), 1, 0)
            logger.close()
        record("adversarial iteration (paper schedule)", t_it, "1 PG step + 5 D rounds x 3 epochs")

    fp32_after = matmul_gflops(torch.float32)
    print(f"fp32 matmul ceiling after: {fp32_after:.1f} GFLOP/s", flush=True)
    if args.no_write:
        return 0
    cmd = "python benchmarks/bench_core.py" + (" --quick" if args.quick else "")
    lines = [
        f"\n## Core phases, paper config, {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Command: `{cmd}` · torch {torch.__version__} · {torch.get_num_threads()} threads · "
        f"{platform.processor() or platform.machine()} · {os.cpu_count()} CPUs · "
        f"fp32 2048³ matmul ceiling {fp32:.0f} GFLOP/s before, {fp32_after:.0f} after",
        "",
        "| phase | median time |",
        "|---|---|",
        *[f"| {name} | {sec:.3f} s{f' ({note})' if note else ''} |" for name, sec, note in rows],
        "",
    ]
    with open(args.out, "a", encoding="utf-8") as f:
        f.write("\n".join(lines))
    print(f"appended to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
