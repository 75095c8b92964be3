"""Token sampling over the vocabulary: torch.multinomial against inverse-CDF samplers.

    .venv/bin/python benchmarks/bench_sampler.py [--vocab 5000] [--rows 256] [--device cuda] [--out FILE]

Why: every completion token of a rollout is one draw from a 5,000-way categorical (194,560
draws per rollout-reward batch at the paper config). The common PyTorch path is softmax +
``torch.multinomial``; the rollout engine instead draws by inverse CDF from one keyed
uniform per row (``models/lstm_policy.sample_from_logits``), which makes draws
reproducible across workers and checkable against a reference. This script measures what
each costs per draw on logits of the shape the engine sees (``DRAW_CHUNK_ROWS`` rows per
call by default) and checks that the two inverse-CDF samplers draw the same tokens from
the same uniforms. Appends one table to docs/benchmark-log.md.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable

import torch

from distributed_seqgan.bench import common
from distributed_seqgan.models.lstm_policy import DRAW_CHUNK_ROWS, sample_from_logits

REPEATS = 30


def multinomial(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """softmax + torch.multinomial (draws from torch's generator, not from u)."""
    return torch.multinomial(torch.softmax(logits, dim=1), 1).squeeze(1)


def softmax_cumsum(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The plain inverse CDF: softmax, a full cumsum, one search per row."""
    cdf = torch.softmax(logits, dim=1).cumsum(dim=1)  # (R, V)
    target = torch.minimum(u.unsqueeze(1) * cdf[:, -1:], cdf[:, -1:])  # (R, 1)
    return torch.searchsorted(cdf, target, right=True).squeeze(1).clamp_(max=logits.shape[1] - 1)


SAMPLERS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "softmax + torch.multinomial": multinomial,
    "softmax + cumsum + searchsorted (plain inverse CDF)": softmax_cumsum,
    "two-level inverse CDF (the engine)": sample_from_logits,
}


def main(argv: list[str]) -> int:
    ap = common.parser(__doc__)
    ap.add_argument("--vocab", type=int, default=5000)
    ap.add_argument("--rows", type=int, default=DRAW_CHUNK_ROWS, help="rows per call")
    args = ap.parse_args(argv)
    device, sync = common.setup(args)
    g = torch.Generator().manual_seed(0)
    # logits with the spread of a trained generator's (std ~3), and a uniform per row
    logits = (3.0 * torch.randn(args.rows, args.vocab, generator=g)).to(device)  # (R, V)
    u = torch.rand(args.rows, generator=g).to(device)  # (R,)
    same = (sample_from_logits(logits, u) == softmax_cumsum(logits, u)).float().mean().item()
    times: dict[str, list[float]] = {name: [] for name in SAMPLERS}
    for rnd in range(REPEATS):  # interleaved: a disturbance hits every sampler alike
        for name, fn in SAMPLERS.items():
            call = lambda f=fn: f(logits, u)  # noqa: E731
            times[name] += common.timings(call, 1, warmup=int(rnd == 0), sync=sync)
    base = statistics.median(times["softmax + torch.multinomial"])
    rows = []
    for name in SAMPLERS:
        sec = statistics.median(times[name])
        per_draw = sec / args.rows * 1e9
        rows.append([name, f"{sec * 1e3:.3f} ms", f"{per_draw:.0f} ns", f"{base / sec:.2f}x"])
        print(" | ".join(rows[-1]))
    print(f"two-level and plain inverse CDF agree on {100 * same:.2f}% of draws")
    common.append_table(
        args.out,
        common.command("python benchmarks/bench_sampler.py", argv),
        f"torch {torch.__version__} · {common.describe_device(device)} · {args.rows} rows x "
        f"{args.vocab:,} logits per call (std 3), fp32 · median of {REPEATS} interleaved calls · "
        "the two inverse-CDF samplers drew the same token from the same uniform in "
        f"{100 * same:.2f}% of rows.",
        ["sampler", "per call", "per draw", "speed vs multinomial"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
