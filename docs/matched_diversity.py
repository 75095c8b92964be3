"""MLE against SeqGAN on a real-data task at matched diversity.

Why: on every real-data task SeqGAN's BLEU rises over its MLE checkpoint while its
self-BLEU rises too, so part of the gain may be diversity traded for precision, which
sampling the MLE generator at a lower temperature also buys. For each run (one seed),
this samples the run's ``mle`` checkpoint at the temperature where its self-BLEU (``--match``)
equals that of the run's ``latest`` (SeqGAN) checkpoint, found by bisection on T, and
compares the two at that point; across runs, the mean of the per-run differences with its
95% t-interval (the run is the unit).

    python docs/matched_diversity.py --run runs/poems-cpu-s88 --run runs/poems-cpu-s1 ... \\
        [--match self_bleu2] [-n 1000] [--seed 0]

Samples: ``-n`` per evaluation (default: what the task scores, eval.bleu_samples; BLEU on
the first eval.bleu_samples, self-BLEU on the first eval.self_bleu_samples).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from distributed_seqgan.config import load_run_config
from distributed_seqgan.report.run_level import mean_ci
from distributed_seqgan.runs.evaluation import generate, load_generator, temper
from distributed_seqgan.tasks import rebuild_task

LOW, HIGH, STEPS = 0.5, 1.0, 7  # bisection bracket on T; 7 halvings: T within 0.004


def scores(run: Path, checkpoint: str, temperature: float, n: int, seed: int, task) -> dict:
    _, gen = load_generator(run, checkpoint)
    gen = temper(gen, temperature)
    return {"temperature": temperature, **task.evaluate(generate(gen, n, seed, "matched"), gen)}


def matched(run: Path, key: str, n: int | None, seed: int) -> tuple[dict, dict, dict]:
    """(SeqGAN at T = 1, MLE at T = 1, MLE at the T whose ``key`` matches SeqGAN's)."""
    cfg = load_run_config(run)
    task = rebuild_task(run, cfg)
    n = n or cfg.eval.bleu_samples
    seqgan = scores(run, "latest", 1.0, n, seed, task)
    mle = scores(run, "mle", 1.0, n, seed, task)
    target = seqgan[key]
    if mle[key] >= target:  # already as repetitive at T = 1
        return seqgan, mle, mle
    lo, hi = LOW, HIGH  # self-BLEU falls as T rises: target lies between f(hi) and f(lo)
    best = mle
    for _ in range(STEPS):
        mid = (lo + hi) / 2
        r = scores(run, "mle", round(mid, 4), n, seed, task)
        if abs(r[key] - target) < abs(best[key] - target):
            best = r
        lo, hi = (lo, mid) if r[key] < target else (mid, hi)
    return seqgan, mle, best


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", action="append", required=True, type=Path, dest="runs")
    ap.add_argument("--match", default="self_bleu2", help="the diversity metric to match")
    ap.add_argument("-n", type=int, default=None, help="samples per evaluation")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rows, diffs = [], {}
    for run in args.runs:
        seqgan, mle, at = matched(run, args.match, args.n, args.seed)
        keys = [
            k for k in seqgan if k.startswith(("bleu", "self_bleu")) or k in ("nll_test", "mse")
        ]
        for name, r in (("SeqGAN (latest)", seqgan), ("MLE (mle)", mle), ("MLE, matched", at)):
            rows.append(f"| {run.name} | {name} | {r['temperature']:.4f} | "
                        + " | ".join(f"{r[k]:.4f}" for k in keys) + " |")  # fmt: skip
        for k in keys:
            diffs.setdefault(k, []).append(seqgan[k] - at[k])
    print(f"matched on {args.match}; samples per evaluation: {args.n or 'eval.bleu_samples'}\n")
    print("| run | generator | T | " + " | ".join(keys) + " |")
    print("|---|---|---|" + "---|" * len(keys))
    print("\n".join(rows))
    print("\n| metric | SeqGAN − matched MLE, per run | mean [95% CI] |\n|---|---|---|")
    for k, d in diffs.items():
        lo, hi = mean_ci(d)
        ci = f" [{lo:+.4f}, {hi:+.4f}]" if len(d) > 1 else ""
        print(f"| {k} | {' / '.join(f'{x:+.4f}' for x in d)} | {sum(d) / len(d):+.4f}{ci} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
