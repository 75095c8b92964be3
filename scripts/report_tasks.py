"""MLE vs SeqGAN on text and music runs, as markdown for docs/results.md.

For each run directory: the task's metrics of the ``mle`` checkpoint (end of MLE
pretraining) and the ``latest`` checkpoint (end of adversarial training), each on the same
number of fresh samples with the same seed, next to the real-data row (training samples
scored the same way), plus a few decoded samples.

.venv/bin/python scripts/report_tasks.py runs/poems-cpu-1 runs/obama-cpu-1 runs/music-cpu-1
"""

from __future__ import annotations

import argparse
from pathlib import Path

from distributed_seqgan.infra.tracking import read_metrics
from distributed_seqgan.tasks import rebuild_task
from distributed_seqgan.tasks.evaluation import (
    evaluate_checkpoint,
    evaluate_real_data,
    generate,
    load_generator,
    render,
)

COLUMNS = ["bleu2", "bleu3", "bleu4", "bleu5", "self_bleu3", "self_bleu4", "nll_test", "mse"]


def fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.4f}"


def report(run: Path, n: int | None, seed: int, show: int) -> None:
    cfg, gen = load_generator(run, "latest")
    task = rebuild_task(run, cfg)
    events = read_metrics(run)
    train_s = max(e["time_s"] for e in events)
    rows = {
        "MLE (checkpoint mle)": evaluate_checkpoint(run, "mle", n, seed),
        "SeqGAN (checkpoint latest)": evaluate_checkpoint(run, "latest", n, seed),
    }
    rows["real data (train samples)"] = evaluate_real_data(
        task, rows["MLE (checkpoint mle)"]["samples"], seed
    )
    cols = [c for c in COLUMNS if any(c in r for r in rows.values())]
    print(f"### {run.name}: {task.summary()}\n")
    print(f"Run `{run}` (task {cfg.task}, seed {cfg.seed}): {train_s:.0f} s of training.\n")
    print("| | samples | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for name, r in rows.items():
        print(f"| {name} | {r['samples']} | " + " | ".join(fmt(r.get(c)) for c in cols) + " |")
    lines = render(run, generate(gen, show, seed + 1))
    print("\nSamples (checkpoint latest):\n")
    for line in lines:
        print(f"- `{line}`")
    print()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("runs", nargs="+", help="run directories")
    ap.add_argument(
        "-n", type=int, default=None, help="samples per row (default schedule.generated_num)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", type=int, default=5, help="decoded samples to print per run")
    args = ap.parse_args()
    for run in args.runs:
        report(Path(run), args.n, args.seed, args.show)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
