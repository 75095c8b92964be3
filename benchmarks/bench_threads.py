"""Torch's OpenMP threads on a busy machine: 30 MLE steps and one draw of 1,024 samples
(the poems-cpu sizes, V = 5,000), with 1 and with all threads, with OpenMP's waiting threads
spinning (ACTIVE), sleeping at once (PASSIVE), or libgomp's default when the variable is
unset (spin a while, then sleep), on a quiet machine and next to ``--busy`` processes that
each keep one core busy (another run, a browser build). Appends a table to
docs/benchmark-log.md.

    .venv/bin/python benchmarks/bench_threads.py [--busy 2]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from distributed_seqgan.bench import common

WORKLOAD = r"""
import json, sys, time, torch
from distributed_seqgan.config import load_config
from distributed_seqgan.models.build import build_generator
from distributed_seqgan.seeding import uniforms
torch.set_num_threads(int(sys.argv[1]))
steps, rows = int(sys.argv[2]), int(sys.argv[3])
cfg = load_config("configs/poems-cpu.yaml", ["generator.vocab_size=5000"])
g = build_generator(cfg.generator, cfg.seed)
seqs = torch.randint(0, 5000, (64 * steps, cfg.generator.seq_len), generator=torch.Generator().manual_seed(0))
for ch in seqs[:128].split(64):  # warm-up
    g.weighted_nll(ch, torch.full(ch.shape, 1 / ch.numel())).backward()
t0 = time.perf_counter()
for ch in seqs.split(64):
    g.weighted_nll(ch, torch.full(ch.shape, 1 / ch.numel())).backward()
t1 = time.perf_counter()
with torch.no_grad():
    g.sample(uniforms((rows, cfg.generator.seq_len), 0, "bench"))
t2 = time.perf_counter()
print(json.dumps({"mle": t1 - t0, "sample": t2 - t1}))
"""
SPIN = "while True: pass"


def measure(threads: int, policy: str, steps: int, rows: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy != "unset":  # the workload imports torch first: unset stays unset
        env["OMP_WAIT_POLICY"] = policy
    args = [sys.executable, "-c", WORKLOAD, str(threads), str(steps), str(rows)]
    out = subprocess.run(args, env=env, check=True, capture_output=True, text=True,
                         timeout=1800).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    ap = common.parser(__doc__, device=False)
    ap.add_argument("--busy", type=int, default=0, help="processes that each spin one core")
    ap.add_argument("--quick", action="store_true", help="3 steps and 64 rows (tests)")
    args = ap.parse_args(argv)
    steps, rows = (3, 64) if args.quick else (30, 1024)
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(args.busy)]
    table = []
    try:
        for threads in (1, os.cpu_count() or 1):
            for policy in ("unset", "ACTIVE", "PASSIVE"):
                t = measure(threads, policy, steps, rows)
                table.append([str(args.busy), str(threads), policy, f"{t['mle']:.2f} s",
                              f"{t['sample']:.2f} s"])  # fmt: skip
                print(table[-1], flush=True)
    finally:
        for p in spinners:
            p.kill()
    common.append_table(
        args.out,
        common.command("python benchmarks/bench_threads.py", argv),
        f"{os.cpu_count()} CPUs. {steps} MLE steps (batch 64) and one draw of {rows:,} samples "
        "at the poems-cpu sizes (V = 5,000); each in a fresh process with OMP_WAIT_POLICY as "
        "shown (unset: libgomp's default).",
        ["busy processes", "torch threads", "OMP_WAIT_POLICY", f"{steps} MLE steps",
         f"draw {rows:,}"],
        table,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
