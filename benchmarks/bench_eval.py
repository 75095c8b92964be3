"""What an evaluation costs next to a training epoch, per task, before and after drawing
only the samples the metrics score and reading NLL-test from a fixed subset of the test
set; appends a table to docs/benchmark-log.md.

    SEQGAN_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_eval.py [--threads 2]

"before": the generator draws ``schedule.generated_num`` samples (9,984) and NLL-test reads
the whole test set (``eval.nll_test_samples: null``). "after": the defaults (text: 1,000
samples, NLL-test on 2,000 test samples; music and synthetic draw all 9,984: MSE and the
official NLL-oracle score every one). ``captions-like`` stands for a caption benchmark: a
20,000-line train file and a 10,000-line test file (``data.test_path``) at seq_len 40,
made from the poems corpus. The generator is the untrained one (full-length samples: the
slowest case for BLEU).

Then two rows for one scorer each: the music MSE as a difference tensor against one GEMM
per chunk, and NLL-test of the synthetic test set (9,984 x 20, V = 5,000) with and without
the fused projection's gradient work, which evaluation did under ``torch.no_grad()``
before ``linear_weighted_nll`` learned to skip it.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

from distributed_seqgan.acting.factory import make_pool
from distributed_seqgan.bench import common
from distributed_seqgan.config import Config, load_config
from distributed_seqgan.data.registry import resolve
from distributed_seqgan.learning.learner import Learner
from distributed_seqgan.models import LSTMPolicy
from distributed_seqgan.models.linear_nll import _LinearWeightedNLL
from distributed_seqgan.tasks import Task, build_task, whole_batches
from distributed_seqgan.tasks.metrics import mean_nll, nearest_mse

CONFIGS = {
    "synthetic-cpu": ("configs/synthetic-cpu.yaml", []),
    "poems-cpu": ("configs/poems-cpu.yaml", []),
    "obama-cpu": ("configs/obama-cpu.yaml", []),
    "music-cpu": ("configs/music-cpu.yaml", []),
    "captions-like": (
        "configs/text.yaml",
        ["data.tokenizer=whitespace", "generator.seq_len=40", "data.long_lines=truncate"],
    ),  # fmt: skip
}


def captions_like(tmp: Path) -> list[str]:
    """A 20,000-line train file and a 10,000-line test file from the poems corpus."""
    lines = [x for x in resolve("chinese-poems").read_text(encoding="utf-8").splitlines() if x]
    train, test = tmp / "train.txt", tmp / "test.txt"
    train.write_text("\n".join((lines * 2)[:20_000]) + "\n", encoding="utf-8")
    test.write_text("\n".join(lines[::-1][:10_000]) + "\n", encoding="utf-8")
    return [f"data.path={train}", f"data.test_path={test}"]


def evaluation(cfg: Config, task: Task, pool, learner: Learner, n: int) -> float:  # noqa: ANN001
    """Seconds of one evaluation as the trainer runs it: draw n samples, score them."""
    t0 = time.perf_counter()
    samples = pool.sample(n, "eval/bench", 0)  # (n, T)
    t1 = time.perf_counter()
    task.evaluate(samples, learner.generator)
    t2 = time.perf_counter()
    print(f"  {n} samples: draw {t1 - t0:.2f} s, score {t2 - t1:.2f} s", flush=True)
    return t2 - t0


def main(argv: list[str]) -> int:
    ap = common.parser(__doc__, device=False)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    ap.add_argument("--tasks", default=",".join(CONFIGS), help="comma-separated")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="a config override for every task (tests shrink the data with it)")  # fmt: skip
    args = ap.parse_args(argv)
    common.setup(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.tasks.split(","):
            path, sets = CONFIGS[name]
            if name == "captions-like":
                sets = [*sets, *captions_like(Path(tmp))]
            sets = [*sets, *args.overrides]
            before_task, cfg = build_task(load_config(path, [*sets, "eval.nll_test_samples=null"]))
            after_task, _ = build_task(load_config(path, sets))
            learner = Learner(cfg)
            pool = make_pool(cfg)
            pool.publish(learner.weights())
            n_gen = whole_batches(cfg.schedule.generated_num, cfg.schedule.batch_size)
            n_after = after_task.eval_samples(n_gen)
            evaluation(cfg, after_task, pool, learner, 64)  # warm-up
            before = evaluation(cfg, before_task, pool, learner, n_gen)
            after = evaluation(cfg, after_task, pool, learner, n_after)
            t0 = time.perf_counter()
            learner.mle_epoch(after_task.train)
            epoch = time.perf_counter() - t0
            pool.close()
            rows.append([
                name, f"{len(after_task.train):,} / {len(after_task.test):,}",
                f"{epoch:.1f} s",
                f"{before:.1f} s ({n_gen:,} samples, NLL-test {len(before_task.test):,})",
                f"{after:.1f} s ({n_after:,} samples, NLL-test "
                f"{len(getattr(after_task, 'nll_test_set', after_task.test)):,})",
                f"{before / epoch:.0%} → {after / epoch:.0%}",
            ])  # fmt: skip
            print(rows[-1], flush=True)
    common.append_table(
        args.out,
        common.command("python benchmarks/bench_eval.py", argv),
        f"{common.describe_device(torch.device('cpu'))}. One evaluation (draw, then score "
        "as the trainer does) and one MLE epoch, per task; see the script's docstring.",
        ["task", "train / test samples", "MLE epoch", "evaluation before", "evaluation after",
         "evaluation / epoch"],
        rows,
    )  # fmt: skip
    if "music-cpu" in args.tasks.split(","):
        mse_row(args.out, argv, args.overrides)
    if "synthetic-cpu" in args.tasks.split(","):
        nll_row(args.out, argv, args.overrides)
    return 0


def broadcast_mse(samples: torch.Tensor, refs: torch.Tensor, chunk: int = 128) -> float:
    """The music MSE as an (c, m, T) difference tensor per chunk: the earlier formulation."""
    best = []
    for part in samples.double().split(chunk):  # (c, T)
        d = (part[:, None, :] - refs.double()[None, :, :]).pow(2).mean(dim=2)  # (c, m)
        best.append(d.min(dim=1).values)
    return torch.cat(best).mean().item()


def mse_row(out: str, argv: list[str], overrides: list[str]) -> None:
    """Music MSE of every evaluation sample against every test window, both ways."""
    task, cfg = build_task(load_config(CONFIGS["music-cpu"][0], overrides))
    n = whole_batches(cfg.schedule.generated_num, cfg.schedule.batch_size)
    samples = task.train[torch.arange(n) % len(task.train)]  # (n, T)
    t0 = time.perf_counter()
    slow = broadcast_mse(samples, task.test)
    t1 = time.perf_counter()
    fast = nearest_mse(samples, task.test)
    t2 = time.perf_counter()
    assert abs(slow - fast) <= 1e-9 * max(1.0, abs(slow)), (slow, fast)
    common.append_table(
        out, common.command("python benchmarks/bench_eval.py", argv),
        f"Music MSE of {n:,} samples against {len(task.test):,} test windows: the (c, m, T) "
        "difference tensor against one float64 GEMM per chunk (|a|² + |b|² − 2a·b); the two "
        "agree to 1e-9.",
        ["samples x windows", "difference tensor", "GEMM", "speed-up"],
        [[f"{n:,} x {len(task.test):,}", f"{t1 - t0:.2f} s", f"{t2 - t1:.3f} s",
          f"{(t1 - t0) / (t2 - t1):.0f}x"]],
    )  # fmt: skip


@torch.no_grad()
def nll_with_gradient_work(model: LSTMPolicy, seqs: torch.Tensor, batch_size: int = 1024) -> float:
    """``mean_nll`` as it ran before: the fused projection also built the gradients of the
    hidden states, weight and bias (two more GEMMs and a softmax pass per chunk), because
    its inputs require grad, and threw them away."""
    total = 0.0
    for chunk in seqs.split(batch_size):  # (c, T)
        hidden, _ = model.lstm(model.embedding(model.inputs_for(chunk)))  # (c, T, H)
        flat = hidden.reshape(-1, hidden.shape[-1])  # (c T, H)
        ones = torch.ones(flat.shape[0])
        out = model.output
        total += _LinearWeightedNLL.apply(
            flat, out.weight, out.bias, chunk.reshape(-1), ones, True
        ).item()
    return total / seqs.numel()


def nll_row(out: str, argv: list[str], overrides: list[str], repeats: int = 3) -> None:
    """NLL-test of the synthetic test set by the untrained generator, both ways, interleaved."""
    task, cfg = build_task(load_config(CONFIGS["synthetic-cpu"][0], overrides))
    model = Learner(cfg).generator.eval()
    times: dict[str, list[float]] = {"before": [], "after": []}
    values = {}
    for _ in range(repeats):
        for name, fn in (("before", nll_with_gradient_work), ("after", mean_nll)):
            t0 = time.perf_counter()
            values[name] = fn(model, task.test)
            times[name].append(time.perf_counter() - t0)
    assert values["before"] == values["after"], values
    before, after = min(times["before"]), min(times["after"])
    common.append_table(
        out, common.command("python benchmarks/bench_eval.py", argv),
        f"NLL-test of {len(task.test):,} x {cfg.generator.seq_len} test sequences (V = "
        f"{cfg.generator.vocab_size:,}) with the fused projection's gradient work (as "
        f"evaluation ran it before) and without; best of {repeats}, interleaved; the same "
        "value to the last bit.",
        ["sequences", "with gradient work", "without", "speed-up"],
        [[f"{len(task.test):,}", f"{before:.2f} s", f"{after:.2f} s", f"{before / after:.1f}x"]],
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
