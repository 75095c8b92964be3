"""Candidate formulations of the discriminator's hot path, timed side by side on one device.

    .venv/bin/python benchmarks/bench_d_formulations.py [--device cuda] [--config ...] [--out FILE]

Why: the model computes its 12 convolutions + max-pool as channels-last ``conv2d`` and its
highway as one (F, 2F) GEMM (``models/discriminator.py``). That choice has to be measured
against the alternatives, on CPU and on GPU, and re-measured when torch or the hardware
changes. Every candidate computes the same function with the same weights; the script
checks each against the model (pooled features and every parameter gradient, in fp32)
before timing it and exits non-zero on a mismatch. It then times two phases, interleaved
over rounds so that a disturbance on a shared machine hits every candidate alike:

- scoring: P(real) of ``--rows`` sequences without gradients (rollout rewards score
  chunks of 4,096 rows);
- training: forward + backward of one batch (the config's batch size) with dropout and the
  loss, without the optimizer, which is the same for every candidate.

Both in fp32 and under bf16 autocast. The ratio to the matmul ceiling of the precision
(measured in the same run) counts the useful FLOPs only, so a candidate that computes
more, like the padded single GEMM, shows up as a lower ratio. Appends one table to
docs/benchmark-log.md.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable

import torch
import torch.nn.functional as F

from distributed_seqgan.bench import common, flops
from distributed_seqgan.bench.common import measure_ceilings, timings
from distributed_seqgan.config import load_config
from distributed_seqgan.models import Discriminator
from distributed_seqgan.models.build import build_discriminator
from distributed_seqgan.models.discriminator import gemm_runs

Pool = Callable[[Discriminator, torch.Tensor], torch.Tensor]  # emb (B, T, E) -> (B, F)
Head = Callable[[Discriminator, torch.Tensor], torch.Tensor]  # pooled (B, F) -> (B, F)


# ------------------------------------------------------------ convolutions + max-pool
def pool_model(d: Discriminator, emb: torch.Tensor) -> torch.Tensor:
    """The model's own code (``Discriminator._conv_max``): channels-last conv2d +
    ``max_pool2d`` per filter size (a one-window one as a GEMM)."""
    return torch.cat([d._conv_max(conv, emb) for conv in d.convs], dim=1)


def pool_conv2d_amax(d: Discriminator, emb: torch.Tensor) -> torch.Tensor:
    """The model's convolutions with ``amax`` for the max-pool (its backward splits the
    gradient among tied windows; max_pool2d's gives it to one)."""
    x = emb.transpose(1, 2).unsqueeze(2)  # (B, E, 1, T), channels-last in memory
    return torch.cat(
        [F.conv2d(x, c.weight.unsqueeze(2), c.bias).amax(dim=(2, 3)) for c in d.convs], dim=1
    )


def pool_conv1d(d: Discriminator, emb: torch.Tensor) -> torch.Tensor:
    """Kim (2014) as usually written: conv1d over the transposed embedding view."""
    x = emb.transpose(1, 2)  # (B, E, T), a strided view
    return torch.cat([F.conv1d(x, c.weight, c.bias).amax(dim=2) for c in d.convs], dim=1)


def pool_conv1d_contiguous(d: Discriminator, emb: torch.Tensor) -> torch.Tensor:
    """conv1d over one contiguous (B, E, T) copy shared by every filter size."""
    x = emb.transpose(1, 2).contiguous()  # (B, E, T)
    return torch.cat([F.conv1d(x, c.weight, c.bias).amax(dim=2) for c in d.convs], dim=1)


def pool_unfold(d: Discriminator, emb: torch.Tensor) -> torch.Tensor:
    """im2col per filter size: the windows (B W, E k) copied out, then one GEMM each."""
    b, t, e = emb.shape
    parts = []
    for c in d.convs:
        k, n = c.kernel_size[0], c.out_channels
        win = emb.unfold(1, k, 1).reshape(b * (t - k + 1), e * k)  # (B W, E k), (E, k) order
        out = F.linear(win, c.weight.reshape(n, e * k), c.bias)  # (B W, n)
        parts.append(out.reshape(b, t - k + 1, n).amax(dim=1))
    return torch.cat(parts, dim=1)


def pool_gemm(groups: int) -> Pool:
    """The model's ``gemm`` formulation (``Discriminator._gemm_max``): the filter sizes in
    ``groups`` runs, one padded GEMM each, windows past a filter's end masked out of the
    max. Few large kernels, at the price of more FLOPs (1 run: 5.8x the useful work at the
    paper config, 3 runs: 1.7x)."""

    def pool(d: Discriminator, emb: torch.Tensor) -> torch.Tensor:
        widths = [c.kernel_size[0] for c in d.convs]
        counts = [c.out_channels for c in d.convs]
        runs = gemm_runs(widths, counts, emb.shape[1], groups)
        return torch.cat([d._gemm_max(a, b, emb) for a, b in runs], dim=1)

    return pool


# ------------------------------------------------------------------------- highway
def head_model(d: Discriminator, pooled: torch.Tensor) -> torch.Tensor:
    """The model's own code: transform and gate as one (F, 2F) GEMM."""
    return d._head(pooled)


def head_two_gemms(d: Discriminator, pooled: torch.Tensor) -> torch.Tensor:
    """Transform and gate as two (F, F) GEMMs, as the official TF code writes them."""
    h = F.relu(pooled)
    n = d.num_features
    w, b = d.highway.weight, d.highway.bias
    t = torch.sigmoid(F.linear(h, w[n:], b[n:]))
    return t * F.relu(F.linear(h, w[:n], b[:n])) + (1.0 - t) * h


CANDIDATES: dict[str, tuple[Pool, Head]] = {
    "channels-last conv2d + one highway GEMM (the model)": (pool_model, head_model),
    "the model with amax instead of max_pool2d": (pool_conv2d_amax, head_model),
    "conv1d on the transposed view": (pool_conv1d, head_model),
    "conv1d on one contiguous copy": (pool_conv1d_contiguous, head_model),
    "unfold + one GEMM per filter size": (pool_unfold, head_model),
    "one padded GEMM for all filters (formulation gemm, 1 run)": (pool_gemm(1), head_model),
    "three padded GEMMs (formulation gemm, 3 runs)": (pool_gemm(3), head_model),
    "the model's convs + two highway GEMMs": (pool_model, head_two_gemms),
}


def logits(
    d: Discriminator, seqs: torch.Tensor, pool: Pool, head: Head, bf16: bool
) -> torch.Tensor:
    """(B, T) -> (B, 2) logits through a candidate, with dropout in training mode, under
    bf16 autocast if asked (as ``Learner.d_step`` and the rollout scorer run D)."""
    with torch.autocast(seqs.device.type, dtype=torch.bfloat16, enabled=bf16):
        h = head(d, pool(d, d.embedding(seqs)))  # (B, F)
        return d._logits_fp32(F.dropout(h, p=d.dropout, training=d.training))


def score(d: Discriminator, seqs: torch.Tensor, pool: Pool, head: Head, bf16: bool) -> torch.Tensor:
    with torch.no_grad():
        return torch.softmax(logits(d, seqs, pool, head, bf16), dim=-1)[:, 1]  # (B,)


def train_grads(
    d: Discriminator, seqs: torch.Tensor, labels: torch.Tensor, pool: Pool, head: Head, bf16: bool
) -> list[torch.Tensor]:
    """Forward + backward of D's loss on one batch -> every parameter's gradient."""
    loss = d.loss(logits(d, seqs, pool, head, bf16), labels)
    return list(torch.autograd.grad(loss, list(d.parameters())))


def check(d: Discriminator, seqs: torch.Tensor, labels: torch.Tensor) -> None:
    """Every candidate against the model in fp32: pooled features and all gradients (no
    dropout, so that the comparison is deterministic). Exits on a mismatch. cuDNN's TF32
    convolutions (on by default) are switched off here: they round to ~1e-3, and GEMM-based
    candidates would differ from conv-based ones by that much."""
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        _check(d, seqs, labels)


def _check(d: Discriminator, seqs: torch.Tensor, labels: torch.Tensor) -> None:
    d.eval()
    emb = d.embedding(seqs)
    want_pool = pool_model(d, emb)
    want_grads = train_grads(d, seqs, labels, pool_model, head_model, bf16=False)
    names = [n for n, _ in d.named_parameters()]
    for label, (pool, head) in CANDIDATES.items():
        try:
            torch.testing.assert_close(pool(d, emb), want_pool, rtol=1e-4, atol=1e-4)
            got = train_grads(d, seqs, labels, pool, head, bf16=False)
            for name, g, w in zip(names, got, want_grads, strict=True):
                torch.testing.assert_close(g, w, rtol=1e-3, atol=1e-5, msg=name)
        except AssertionError as err:
            sys.exit(f"{label}: differs from the model: {err}")


def main(argv: list[str]) -> int:
    ap = common.parser(__doc__, config="configs/synthetic.yaml")
    ap.add_argument("--rows", type=int, default=4096, help="sequences per scoring call")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    args = ap.parse_args(argv)
    device, sync = common.setup(args)
    cfg = load_config(args.config, [f"run.device={args.device}", "oracle.kind=random"])
    d = build_discriminator(cfg.discriminator, cfg.generator.vocab_size, cfg.seed).to(device)
    vocab, t, b = cfg.generator.vocab_size, cfg.generator.seq_len, cfg.schedule.batch_size
    g = torch.Generator().manual_seed(0)
    rows = torch.randint(0, vocab, (args.rows, t), generator=g).to(device)  # (R, T)
    batch, labels = rows[:b], torch.randint(0, 2, (b,), generator=g).to(device)  # (B, T), (B,)
    check(d, batch, labels)
    ceilings = measure_ceilings(device)
    phases = {
        "score": (args.rows * flops.d_forward(cfg), 1),  # (FLOPs per call, calls per timing)
        "train": (flops.d_train_step(cfg), 10),
    }
    times: dict[tuple[str, str, str], list[float]] = {}
    for rnd in range(args.rounds):
        warm = int(rnd == 0)  # the first round warms every candidate up
        for label, (pool, head) in CANDIDATES.items():
            for prec in ("fp32", "bf16"):
                bf16 = prec == "bf16"
                d.eval()
                fn = lambda p=pool, h=head, a=bf16: score(d, rows, p, h, a)  # noqa: E731
                times.setdefault((label, prec, "score"), []).extend(
                    timings(fn, phases["score"][1], warmup=warm, sync=sync)
                )
                d.train()
                fn = lambda p=pool, h=head, a=bf16: train_grads(d, batch, labels, p, h, a)  # noqa: E731
                times.setdefault((label, prec, "train"), []).extend(
                    timings(fn, phases["train"][1], warmup=1 + 2 * warm, sync=sync)
                )
        print(f"round {rnd + 1}/{args.rounds} done", flush=True)
    ceilings = measure_ceilings(device, earlier=ceilings)  # the higher of start and end

    def cell(label: str, prec: str, phase: str) -> str:
        sec = statistics.median(times[(label, prec, phase)])
        ratio = phases[phase][0] / sec / 1e9 / ceilings[prec]
        return f"{sec * 1e3:.1f} ms ({100 * ratio:.0f}%)"

    table = [
        [label] + [cell(label, p, ph) for ph in ("score", "train") for p in ("fp32", "bf16")]
        for label in CANDIDATES
    ]
    for row in table:
        print(" | ".join(row))
    common.append_table(
        args.out,
        common.command("python benchmarks/bench_d_formulations.py", argv),
        f"torch {torch.__version__} · {common.describe_device(device)} · D of `{args.config}` · "
        f"{common.describe_ceilings(ceilings)} · median over {args.rounds} interleaved rounds; in "
        "brackets the useful FLOPs' share of the ceiling. Every candidate matched the model's "
        "pooled features and gradients in fp32 before timing.",
        [
            "formulation",
            f"score {args.rows:,} rows, fp32",
            "score, bf16 autocast",
            f"train fwd + bwd (batch {b}), fp32",
            "train, bf16 autocast",
        ],
        table,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
