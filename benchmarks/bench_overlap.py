"""D retraining with its negatives drawn first vs part by part, side by side.

    .venv/bin/python benchmarks/bench_overlap.py [--device cuda] [--backend ray] [--workers 1]
        [--set schedule.d_epochs=1 ...] [--repeats 2] [--out FILE]

Why: an adversarial iteration retrains D ``d_steps`` rounds, each on fresh negatives from
the same G. The trainer asks the pool for them in parts (``WorkerPool.sample_parts``): a
Ray pool draws round j+1's negatives while the learner trains D on round j's, a local pool
draws each part when asked (nothing runs beside the learner in one process). This times
both orders of the same work, alternating, and checks that D ends with the same weights
both ways. Appends one table to docs/benchmark-log.md.
"""

from __future__ import annotations

import copy
import statistics
import sys
import time

import torch

from distributed_seqgan.acting.factory import make_pool
from distributed_seqgan.bench import common
from distributed_seqgan.config import load_config
from distributed_seqgan.learning.learner import Learner
from distributed_seqgan.seeding import uniforms


def main(argv: list[str]) -> int:
    ap = common.parser(__doc__, config="configs/synthetic.yaml")
    ap.add_argument("--backend", default="ray", choices=["local", "ray"])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2, help="timed runs of each order")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    device, sync = common.setup(args)
    gpus = 1 / args.workers if args.device == "cuda" else 0  # the workers share one GPU
    overrides = [
        f"run.device={args.device}", "oracle.kind=random", f"pool.backend={args.backend}",
        f"pool.workers={args.workers}", f"ray.gpus_per_worker={gpus}", *args.set,
    ]  # fmt: skip
    cfg = load_config(args.config, overrides)
    if args.backend == "ray":
        import ray

        ray.init(address="local", include_dashboard=False)  # a new instance, always
    s = cfg.schedule
    learner = Learner(cfg)
    pool = make_pool(cfg)
    pool.publish(learner.weights())
    n, rounds = (s.generated_num // s.batch_size) * s.batch_size, s.d_steps
    positives = learner.sample(uniforms((n, cfg.generator.seq_len), 0, "bench-positives"))
    start = copy.deepcopy(learner.state_dict())

    def drawn_first() -> None:
        negatives = pool.sample(n * rounds, "negatives/bench", 0)  # (rounds n, T)
        for j in range(rounds):
            learner.d_round(positives, negatives[j * n : (j + 1) * n], "bench", 0, j)

    def in_parts() -> None:
        for j, negatives in enumerate(pool.sample_parts(n, rounds, "negatives/bench", 0)):
            learner.d_round(positives, negatives, "bench", 0, j)

    orders = {"negatives drawn first, then D": drawn_first, "part by part (the trainer)": in_parts}
    times: dict[str, list[float]] = {k: [] for k in orders}
    finals: dict[str, dict[str, torch.Tensor]] = {}
    for r in range(args.repeats + 1):  # round 0: a warm-up, from one start, for the check
        for name, fn in orders.items():
            if r == 0:
                learner.load_state_dict(start)  # (drops captured CUDA graphs: warm-up only)
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            if r:
                times[name].append(time.perf_counter() - t0)
            else:
                finals[name] = {k: v.clone() for k, v in learner.discriminator.state_dict().items()}
            print(name, f"{time.perf_counter() - t0:.2f} s", flush=True)
    a, b = finals.values()
    same = all(torch.equal(a[k], b[k]) for k in a)
    print("D weights identical both ways:", same)
    t_first, t_parts = (statistics.median(v) for v in times.values())
    where = f"{args.backend} pool, {args.workers} worker(s)"
    common.append_table(
        args.out,
        common.command("python benchmarks/bench_overlap.py", argv),
        f"{common.describe_device(device)}; torch {torch.__version__}; {where}; {rounds} D "
        f"rounds x {s.d_epochs} epochs on {n} + {n} sequences (batch {s.batch_size}); median "
        f"of {args.repeats}, orders alternating; D weights identical both ways: {same}.",
        ["order", "median time", "vs drawn first"],
        [["negatives drawn first, then D", f"{t_first:.2f} s", "1.00"],
         ["part by part (the trainer)", f"{t_parts:.2f} s", f"{t_parts / t_first:.2f}"]],
    )  # fmt: skip
    pool.close()
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
