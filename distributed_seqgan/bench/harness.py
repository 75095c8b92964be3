"""Benchmark harness: the hot paths at the paper configuration against this machine's limit.

One run measures the fp32 and bf16 matmul ceilings (2048^3, smaller for a precision too slow
for it; median of repeats; at the start and at the end; the higher counts, since disturbance
only lowers them) and then times MLE epoch, rollout-reward batch, sampling 9,984 sequences,
D train step, D retraining round and one full adversarial iteration. For each it reports
the median time, the FLOPs counted by hand (``flops.py``), the achieved GFLOP/s and the
ratio to the ceiling of the precision it ran in, measured in the same run (a busy machine
halves the ceiling, so the ratio is the comparable number). Results are printed and appended to
docs/benchmark-log.md (summarized in docs/benchmarks.md). This is ``seqgan bench``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..acting.factory import make_pool
from ..config import Config, load_config
from ..infra.denormals import flush_denormals
from ..infra.malloc import keep_freed_memory
from ..infra.tracking import RunLogger
from ..learning.learner import Learner
from ..learning.trainer import Trainer
from ..models.build import resolve_device
from ..seeding import uniforms
from ..tasks import build_task, whole_batches
from . import flops
from .common import (
    append_table,
    command,
    describe_ceilings,
    describe_device,
    measure_ceilings,
    median_time,
    parser,
    sync_for,
)


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
    keep_freed_memory()  # as training does
    if cfg.run.flush_denormal:  # before the first parallel op, as training does
        flush_denormals()
    device = resolve_device(cfg.run.device)
    sync = sync_for(device)
    ceilings = measure_ceilings(device)
    log(f"ceilings: fp32 {ceilings['fp32']:.3g} GFLOP/s, bf16 {ceilings['bf16']:.3g} on {device}")
    s, d = cfg.schedule, cfg.discriminator
    n_gen = whole_batches(s.generated_num, s.batch_size)
    rows: list[Row] = []

    def record(name: str, seconds: float, flop: float, bf16: bool = False) -> None:
        row = Row(name, seconds, flop, "bf16" if bf16 else "fp32")
        rows.append(row)
        ratio = row.gflops() / ceilings[row.precision]
        pct = f"{100 * ratio:5.1f}% of {row.precision}"
        log(f"{name:<52} {seconds:9.4f} s {row.gflops():8.1f} GFLOP/s {pct}")

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
        # with CUDA graphs the first round is eager and the second captures: time the third
        median_time(
            lambda: learner.d_round(data, data, "bench", 0),
            1,
            2 if learner.d_rounds.graphs else 0,
            sync=sync,
        ),  # fmt: skip
        flops.d_round(cfg, n_gen, n_gen),
        d.bf16_train,
    )
    if not quick:
        with tempfile.TemporaryDirectory() as tmp:
            logger = RunLogger(Path(tmp), quiet=True)
            trainer = Trainer(cfg, learner, pool, build_task(cfg)[0], logger, Path(tmp))
            trainer.positives = data
            # iteration 1: no evaluation in it
            t_it = median_time(lambda: trainer.adversarial_iteration(1), 1, 0, sync=sync)
            logger.close()
        record(
            "adversarial iteration (paper schedule)",
            t_it,
            flops.adversarial_iteration(cfg, n_gen, n_gen),
            d.bf16_train,
        )
    pool.close()
    ceilings = measure_ceilings(device, earlier=ceilings)  # the higher of start and end
    log(describe_ceilings(ceilings))
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
        return f"bf16 GEMMs run only {ratio:.2g}x fp32 here: bf16 D will be slower than fp32"
    if ratio < 1.0:
        return f"bf16 GEMMs run only {ratio:.2g}x fp32 here: keep bf16 D off (the default)"
    return f"bf16 / fp32 ceiling ratio: {ratio:.1f}x"


def write_log(
    out: str, rows: list[Row], ceilings: dict[str, float], command: str, cfg: Config
) -> None:
    """The run's table, appended to the benchmark log."""
    on_gpu = cfg.run.device != "cpu" and torch.cuda.is_available()
    dev = describe_device(torch.device("cuda" if on_gpu else "cpu"))
    d = cfg.discriminator
    preamble = (
        f"torch {torch.__version__} · {dev} · {describe_ceilings(ceilings)} · bf16 rewards "
        f"{'on' if d.bf16_rewards else 'off'}, bf16 D training {'on' if d.bf16_train else 'off'}"
        f", D formulation {d.formulation}"
        + (f" ({d.gemm_groups} GEMM runs)" if d.formulation == "gemm" else "")
        + (", denormals flushed" if cfg.run.flush_denormal else "")
    )
    if on_gpu:
        r = cfg.run
        preamble += (
            f", CUDA graphs {'on' if r.cuda_graphs else 'off'}, TF32 {'on' if r.tf32 else 'off'}"
        )
    header = ["phase", "median time", "GFLOP (by hand)", "achieved GFLOP/s", "of ceiling"]
    table = [
        [r.name, f"{r.seconds:.4g} s", f"{r.flop / 1e9:.1f}", f"{r.gflops():.1f}",
         f"{100 * r.gflops() / ceilings[r.precision]:.0f}% {r.precision}"]
        for r in rows
    ]  # fmt: skip
    append_table(out, command, preamble, header, table)


def main(argv: list[str] | None = None, prog: str = "seqgan bench") -> int:
    ap = parser(__doc__)
    ap.prog = prog
    ap.add_argument(
        "--config", help="config to benchmark (default: configs/synthetic.yaml's values)"
    )
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast for rewards and D training")
    ap.add_argument("--quick", action="store_true", help="skip the full adversarial iteration")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args(argv)
    # the random oracle needs no data file; the timings do not depend on the oracle
    overrides = [f"run.device={args.device}", "oracle.kind=random", *args.overrides]
    if args.bf16:
        overrides += ["discriminator.bf16_rewards=true", "discriminator.bf16_train=true"]
    cfg = load_config(args.config, overrides)
    rows, ceilings = run_benchmarks(cfg, args.quick)
    if not args.no_write:
        write_log(args.out, rows, ceilings, command(prog, argv or []), cfg)
        print(f"appended to {args.out}")
    return 0
