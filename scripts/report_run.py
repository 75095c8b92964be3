"""Turns a run's metrics.jsonl into a table of its evaluations (markdown) and a PNG plot.

.venv/bin/python scripts/report_run.py runs/<name> --png docs/nll_oracle_cpu.png
.venv/bin/python scripts/report_run.py runs/poems-cpu-1 --metrics bleu2,bleu3,self_bleu3

Columns: every metric the task logs (synthetic: NLL-oracle, NLL-test; text and music:
BLEU, self-BLEU, NLL-test, MSE), or those named by --metrics. The x axis counts MLE
epochs, then adversarial iterations after them, as the paper's Figure 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from distributed_seqgan.infra.tracking import read_metrics

NOT_METRICS = {"phase", "step", "eval_phase", "time_s"}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("run", help="run directory")
    ap.add_argument("--metrics", help="comma-separated metric names (default: all logged)")
    ap.add_argument("--png", help="write the curves here")
    args = ap.parse_args()
    events = read_metrics(args.run)
    evals = [e for e in events if e["phase"] == "eval"]
    if not evals:
        print(f"{args.run}: no evaluations in metrics.jsonl", file=sys.stderr)
        return 2
    logged = [k for k in evals[0] if k not in NOT_METRICS]
    metrics = args.metrics.split(",") if args.metrics else logged
    unknown = [m for m in metrics if m not in logged]
    if unknown:
        print(f"unknown metric {unknown[0]!r}; logged: {', '.join(logged)}", file=sys.stderr)
        return 2
    mle_epochs = sum(1 for e in events if e["phase"] == "mle")
    rows = []
    for e in evals:
        # x axis: MLE (or SS) epochs, then adversarial iterations after them (as the paper's
        # Fig. 2); the untrained generator ("init") at -1, before the first update
        own = {"init": -1, "mle": e["step"], "ss": e["step"]}
        x = own.get(e["eval_phase"], mle_epochs + e["step"])
        rows.append((x, e["eval_phase"], e["step"], [e[m] for m in metrics], e["time_s"]))
    print("| x | phase | step | " + " | ".join(metrics) + " | wall time (s) |")
    print("|---|---|---|" + "---|" * len(metrics) + "---|")
    for x, phase, step, values, t in rows:
        cells = " | ".join(f"{v:.4f}" for v in values)
        print(f"| {x} | {phase} | {step} | {cells} | {t:.0f} |")
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for i, metric in enumerate(metrics):
            for phase, style in (("mle", "o-"), ("adversarial", "x--")):
                pts = [(r[0], r[3][i]) for r in rows if r[1] == phase]
                if pts:
                    label = f"{metric}, {'MLE' if phase == 'mle' else 'adversarial'}"
                    ax.plot(*zip(*pts, strict=True), style, color=f"C{i}", label=label)
        ax.axvline(mle_epochs, color="gray", ls="--", lw=1)
        ax.set_xlabel("MLE epoch, then adversarial iteration")
        ax.set_title(f"{Path(args.run).name}")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(args.png, dpi=110)
        print(f"\nwrote {args.png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
