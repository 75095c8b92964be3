"""What runs sharing cores cost: K one-thread training processes at once on a C-core machine,
for K below, at and above C (what ``seqgan sweep --parallel K --threads 1`` starts).

Each process builds a learner from the config (the paper config by default) and, once
every process is ready, runs the same work: one MLE epoch over ``--sequences`` random
sequences and ``--d-steps`` D training steps (batch 64; D training is most of a CPU
iteration). The table gives each process's seconds and the work the K processes did
together per second, relative to one process alone: above C it shows what K processes
time-slicing C cores lose to each other (caches, switches) beyond sharing them. Appends
a table to docs/benchmark-log.md.

    .venv/bin/python benchmarks/bench_shared_cores.py [--runs 1,2,3,5]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from distributed_seqgan.bench import common
from distributed_seqgan.infra.provenance import cpu_model
from distributed_seqgan.runs.sweep import available_cores

WORKLOAD = r"""
import json, sys, time, torch
from distributed_seqgan.config import load_config
from distributed_seqgan.infra.malloc import keep_freed_memory
from distributed_seqgan.learning.learner import Learner
from distributed_seqgan.runner import set_cpu_threads
config, n_seq, d_steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cfg = load_config(config, ["run.device=cpu", "run.threads=1"])
keep_freed_memory()  # the process set up as training's (runner.train)
set_cpu_threads(cfg)
learner = Learner(cfg)
gen = torch.Generator().manual_seed(0)
data = torch.randint(0, cfg.generator.vocab_size, (n_seq, cfg.generator.seq_len), generator=gen)
bs = cfg.schedule.batch_size
x, y = data[:bs], torch.randint(0, 2, (bs,), generator=gen)
learner.discriminator.train()
learner.d_step(x, y)  # warm-up: Adam's state, the allocator
print("ready", flush=True)
sys.stdin.readline()  # every process starts the timed work together
t0 = time.perf_counter()
learner.mle_epoch(data)
t1 = time.perf_counter()
for _ in range(d_steps):
    learner.d_step(x, y)
t2 = time.perf_counter()
print(json.dumps({"mle": t1 - t0, "d": t2 - t1}), flush=True)
"""


def together(k: int, config: str, n_seq: int, d_steps: int) -> tuple[list[dict[str, float]], float]:
    """K workload processes started together -> each one's times and the wall seconds
    from the start signal to the last one's end."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-c", WORKLOAD, config, str(n_seq), str(d_steps)]
    procs = [
        subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(k)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a workload process failed to start (exit {p.wait()})")
        t0 = time.perf_counter()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate(timeout=3600)[0] for p in procs]
        wall = time.perf_counter() - t0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    if any(p.returncode for p in procs):
        raise RuntimeError("a workload process failed")
    return [json.loads(o.strip().splitlines()[-1]) for o in outs], wall


def main(argv: list[str]) -> int:
    ap = common.parser(__doc__, device=False, config="configs/synthetic.yaml")
    ap.add_argument(
        "--runs", default="1,2,3,5", help="K values: processes at once (default 1,2,3,5)"
    )
    ap.add_argument("--sequences", type=int, default=9984, help="MLE epoch size (default 9,984)")
    ap.add_argument("--d-steps", type=int, default=100, help="D steps per process (default 100)")
    args = ap.parse_args(argv)
    cores = available_cores()  # as seqgan sweep counts them
    table, alone = [], None
    for k in (int(v) for v in args.runs.split(",")):
        times, wall = together(k, args.config, args.sequences, args.d_steps)
        mle = statistics.median(t["mle"] for t in times)
        d = statistics.median(t["d"] for t in times)
        rate = k / wall  # processes' work done per second
        alone = alone if alone is not None else rate / k  # the first K's per-process rate
        table.append([str(k), f"{mle:.2f} s", f"{1000 * d / args.d_steps:.1f} ms",
                      f"{wall:.1f} s", f"{rate / alone:.2f}x"])  # fmt: skip
        print(table[-1], flush=True)
    common.append_table(
        args.out,
        common.command("python benchmarks/bench_shared_cores.py", argv),
        f"{cores} cores ({cpu_model()}). K processes at once, one torch thread each, each one MLE epoch "
        f"({args.sequences:,} sequences) then {args.d_steps} D steps (batch 64) at "
        f"{args.config}'s sizes; medians over the K processes. Work per second: K / the wall "
        f"time, relative to one process of the first row (C cores give at most Cx that of one alone).",
        ["processes (K)", "MLE epoch", "D step", "wall, all K", "work per second"],
        table,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
