"""Ray backend benchmarks at the paper config; appends one table to docs/benchmark-log.md.

    .venv/bin/python benchmarks/bench_ray.py [--out FILE]

Measures, on this machine: the pool-side work of one adversarial iteration (a rollout
batch + 5 x 9,984 negatives) with local and Ray pools of the same worker count (Ray's
overhead), rollout throughput with 1 and 2 Ray workers, and rollout time as N grows.
"""

from __future__ import annotations

import sys
import time

import ray
import torch

from distributed_seqgan.acting.factory import make_pool
from distributed_seqgan.acting.pool import WorkerPool
from distributed_seqgan.bench import common
from distributed_seqgan.config import Config, load_config
from distributed_seqgan.learning.learner import Learner
from distributed_seqgan.seeding import uniforms


def pool_for(backend: str, workers: int, threads: int = 1) -> tuple[Config, WorkerPool]:
    """A pool at the paper config (random oracle: no data file needed)."""
    sizes = [f"pool.workers={workers}", f"ray.cpus_per_worker={threads}"]
    cfg = load_config(None, [f"pool.backend={backend}", *sizes, "oracle.kind=random"])
    return cfg, make_pool(cfg)


def main(argv: list[str]) -> int:
    args = common.parser(__doc__, device=False).parse_args(argv)
    ray.init(address="local", num_cpus=2, include_dashboard=False)  # a new instance, always
    cfg, _ = pool_for("local", 1)
    learner = Learner(cfg)
    samples = learner.sample(uniforms((64, 20), 0, "bench"))
    weights = learner.weights()
    rows = []

    def iteration_pool_work(pool: WorkerPool) -> float:
        pool.publish(weights)
        t0 = time.perf_counter()
        pool.rollout_rewards(samples, 16, 0)
        pool.sample(5 * 9984, "negatives", 0)
        return time.perf_counter() - t0

    for k in (1, 2):
        for backend in ("local", "ray"):
            _, pool = pool_for(backend, k)
            t = common.median_time(lambda pool=pool: iteration_pool_work(pool), 3)
            rows.append((f"{backend}, {k} worker(s): rollout batch + 5 x 9,984 negatives", t))
            print(rows[-1], flush=True)
            pool.close()
    for k in (1, 2):
        _, pool = pool_for("ray", k)
        pool.publish(weights)
        for n in (16, 64, 256) if k == 2 else (16,):
            t = common.median_time(
                lambda pool=pool, n=n: pool.rollout_rewards(samples, n, 0), 1 if n > 16 else 3
            )
            rows.append((f"ray, {k} worker(s): rollout batch, N = {n}", t))
            print(rows[-1], flush=True)
        pool.close()
    common.append_table(
        args.out,
        common.command("python benchmarks/bench_ray.py", argv),
        f"torch {torch.__version__}, Ray {ray.__version__}, local Ray instance with 2 CPUs; "
        "each Ray worker 1 CPU / 1 torch thread; local workers use torch's default threads.",
        ["measurement", "median time"],
        [[name, f"{t:.3f} s"] for name, t in rows],
    )
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
