"""The kernel floor of one D train step: each kernel of the step timed alone, at its best.

    .venv/bin/python benchmarks/bench_d_floor.py [--config configs/synthetic.yaml] [--out FILE]

Why: the targets for the D step (fp32 <= 35 ms; bf16 retraining >= 40% of the bf16 2048^3
ceiling) are judged against a ceiling that batch-64 shapes may not reach. This script times
every GEMM and convolution of one step (forward, input gradient, weight gradient) in
isolation, with warm caches and preallocated outputs where torch allows, plus the fused Adam
update and, for bf16 autocast, the weight and gradient casts. These two stream every
parameter and are timed from memory, as in a real step, where 16 bytes per parameter do not
fit in cache. The sum is what a step would cost if everything else (max-pool, dropout,
element-wise ops, autograd, Python) were free. It is compared with the measured step
(median) and with the 2048^3 ceilings. Appends one table to docs/benchmark-log.md. Runs on
the CPU with torch's default thread count, as ``seqgan bench`` does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch
import torch.nn.functional as F

from distributed_seqgan.bench import common, flops
from distributed_seqgan.bench.common import measure_ceilings, timings
from distributed_seqgan.config import load_config
from distributed_seqgan.learning.learner import Learner

REPEATS = 30
EVICT_BYTES = 256 * 2**20  # more than any CPU cache: streaming through it empties them


def best(fn: Callable[[], object]) -> float:
    """Fastest of REPEATS calls after warm-up, in seconds: the question is what is possible,
    and on a shared 2-core machine the fastest call is the least disturbed one."""
    return min(timings(fn, REPEATS, warmup=5))


def best_from_memory(fn: Callable[[], object]) -> float:
    """As :func:`best`, but with the caches emptied before each call. For the optimizer and
    the casts, which stream every parameter: in a real step the weights, gradients and Adam
    state (16 bytes per parameter, 113 MB at the paper config) are not in cache, and timed
    hot in a loop the L3 would hold much of them."""
    junk = torch.ones(EVICT_BYTES // 4)
    # junk.add_ streams 2 x 256 MB: what fn touches next comes from memory
    return min(timings(fn, REPEATS, warmup=1, setup=lambda: junk.add_(1.0)))


def conv_times(emb: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> tuple[float, float]:
    """Forward and backward (input + weight + bias gradients) of one convolution in the
    model's formulation (channels-last conv2d over emb (B, T, E)): seconds."""
    x = emb.transpose(1, 2).unsqueeze(2)  # (B, E, 1, T), channels-last in memory
    w = weight.unsqueeze(2)  # (n, E, 1, k)
    grad = torch.randn_like(F.conv2d(x, w, bias))  # (B, n, 1, W), channels-last
    fwd = best(lambda: F.conv2d(x, w, bias))
    bwd = best(
        lambda: torch.ops.aten.convolution_backward(
            grad, x, w, [w.shape[0]], [1, 1], [0, 0], [1, 1], False, [0, 0], 1, [True] * 3
        )
    )
    return fwd, bwd


def linear_times(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> tuple[float, float]:
    """Forward and backward (input + weight gradients) of x (B, in) @ weight.T: seconds."""
    out = torch.empty(x.shape[0], weight.shape[0], dtype=x.dtype)  # (B, out)
    grad = torch.randn_like(out)
    grad_x, grad_w = torch.empty_like(x), torch.empty_like(weight)
    fwd = best(lambda: torch.addmm(bias, x, weight.t(), out=out))
    bwd = best(lambda: (torch.mm(grad, weight, out=grad_x), torch.mm(grad.t(), x, out=grad_w)))
    return fwd, bwd


def kernel_floor(learner: Learner, dtype: torch.dtype) -> dict[str, float]:
    """Seconds per step of each kernel group of one D step at the learner's batch size."""
    d = learner.discriminator
    b, t = learner.cfg.schedule.batch_size, learner.cfg.generator.seq_len
    emb = torch.randn(b, t, d.embedding.embedding_dim, dtype=dtype)  # (B, T, E)
    conv_f = conv_b = 0.0
    for conv in d.convs:
        w, bias = conv.weight.detach().to(dtype), conv.bias.detach().to(dtype)
        if conv.kernel_size[0] == t:  # one window: the model runs it as a GEMM
            flat_w = w.transpose(1, 2).reshape(w.shape[0], -1)  # (n, T E)
            f, bw = linear_times(emb.reshape(b, -1), flat_w, bias)
        else:
            f, bw = conv_times(emb, w, bias)
        conv_f, conv_b = conv_f + f, conv_b + bw
    hw = d.highway
    h = torch.randn(b, d.num_features, dtype=dtype)  # (B, F)
    hw_f, hw_b = linear_times(h, hw.weight.detach().to(dtype), hw.bias.detach().to(dtype))
    params = list(d.parameters())
    for p in params:
        p.grad = torch.randn_like(p)
    opt = torch.optim.Adam(params, lr=1e-12, fused=True)  # a tiny lr: weights stay put
    n_params = sum(p.numel() for p in params)
    parts = {
        "convolutions (a one-window one as a GEMM), forward": conv_f,
        "convolutions (a one-window one as a GEMM), backward": conv_b,
        "highway forward": hw_f,
        "highway backward (input + weight gradients)": hw_b,
        # reads weight, gradient and both moments, writes weight and moments: 28 B/param
        f"fused Adam (fp32 weights and state, {28 * n_params / 1e6:.0f} MB from memory)": (
            best_from_memory(opt.step)
        ),
    }
    if dtype == torch.bfloat16:  # autocast: weights down once, their gradients back up
        low = [p.detach().to(dtype) for p in params]
        label = f"autocast casts (weights to bf16, gradients to fp32, {12 * n_params / 1e6:.0f} MB"
        parts[label + " from memory)"] = best_from_memory(
            lambda: ([p.to(dtype) for p in params], [g.to(torch.float32) for g in low])
        )
    for p in params:
        p.grad = None
    return parts


def measured_step(learner: Learner) -> float:
    cfg = learner.cfg
    x = torch.randint(0, cfg.generator.vocab_size, (cfg.schedule.batch_size, cfg.generator.seq_len))
    y = torch.randint(0, 2, (cfg.schedule.batch_size,))
    learner.discriminator.train()
    return common.median_time(lambda: learner.d_step(x, y), REPEATS, warmup=5)


def main(argv: list[str]) -> int:
    args = common.parser(__doc__, device=False, config="configs/synthetic.yaml").parse_args(argv)
    common.setup(args)
    base = load_config(args.config)
    step_flop = flops.d_train_step(base)
    ceilings = measure_ceilings(torch.device("cpu"))
    columns = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        cfg = load_config(args.config, [f"discriminator.bf16_train={str(name == 'bf16').lower()}"])
        learner = Learner(cfg)
        parts = kernel_floor(learner, dtype)
        floor = sum(parts.values())
        step = measured_step(learner)
        columns[name] = (parts, floor, step)
        print(
            name,
            {k: round(v * 1e3, 2) for k, v in parts.items()},
            f"floor {floor * 1e3:.2f} ms, step {step * 1e3:.2f} ms",
            flush=True,
        )
    ceilings = measure_ceilings(torch.device("cpu"), earlier=ceilings)  # start and end
    precisions = ("fp32", "bf16")
    rows = [
        [
            k,
            *(
                f"{columns[n][0][k] * 1e3:.2f} ms" if k in columns[n][0] else "-"
                for n in precisions
            ),
        ]
        for k in columns["bf16"][0]
    ]

    def of_ceiling(n: str, idx: int) -> str:
        sec = columns[n][idx]
        return f"**{sec * 1e3:.2f} ms** = {100 * step_flop / sec / 1e9 / ceilings[n]:.0f}% of the {n} ceiling"

    for label, idx in (("kernel floor (sum)", 1), ("measured step (`Learner.d_step`)", 2)):
        rows.append([f"**{label}**", *(of_ceiling(n, idx) for n in precisions)])
    rows.append(
        ["everything else (max-pool, dropout, element-wise, autograd, Python)"]
        + [f"{(columns[n][2] - columns[n][1]) * 1e3:.2f} ms" for n in precisions]
    )
    common.append_table(
        args.out,
        common.command("python benchmarks/bench_d_floor.py", argv),
        f"torch {torch.__version__} · {common.describe_device(torch.device('cpu'))} · D step of "
        f"`{args.config}` (batch {base.schedule.batch_size}, {step_flop / 1e9:.2f} GFLOP) · "
        f"{common.describe_ceilings(ceilings)}. Each kernel alone, fastest of {REPEATS} calls "
        f"after warm-up; the step is the median of {REPEATS}.",
        ["part of one D step", "fp32", "bf16 autocast"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
