"""Turns a run's metrics.jsonl into the NLL-oracle table (markdown) and a PNG plot.

.venv/bin/python scripts/report_run.py runs/<name> --png docs/nll_oracle_cpu.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from distributed_seqgan.tracking import read_metrics


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("run", help="run directory")
    ap.add_argument("--png", help="write the NLL curve here")
    args = ap.parse_args()
    events = read_metrics(args.run)
    evals = [e for e in events if e["phase"] == "eval"]
    mle_epochs = sum(1 for e in events if e["phase"] == "mle")
    rows = []
    for e in evals:
        # x axis: MLE epochs, then adversarial iterations after them (as the paper's Fig. 2)
        x = e["step"] if e["eval_phase"] == "mle" else mle_epochs + e["step"]
        rows.append((x, e["eval_phase"], e["step"], e["nll_oracle"], e["nll_test"], e["time_s"]))
    print("| x | phase | step | NLL-oracle | NLL-test | wall time (s) |")
    print("|---|---|---|---|---|---|")
    for x, phase, step, nll_o, nll_t, t in rows:
        print(f"| {x} | {phase} | {step} | {nll_o:.4f} | {nll_t:.4f} | {t:.0f} |")
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for phase, color in (("mle", "tab:blue"), ("adversarial", "tab:orange")):
            name = "MLE pretraining" if phase == "mle" else "adversarial (SeqGAN)"
            xs = [r[0] for r in rows if r[1] == phase]
            nll_o = [r[3] for r in rows if r[1] == phase]
            nll_t = [r[4] for r in rows if r[1] == phase]
            if xs:
                ax.plot(xs, nll_o, "o-", color=color, label=f"NLL-oracle, {name}")
                ax.plot(xs, nll_t, "x--", color=color, alpha=0.6, label=f"NLL-test, {name}")
        ax.axvline(mle_epochs, color="gray", ls="--", lw=1)
        ax.set_xlabel("MLE epoch, then adversarial iteration")
        ax.set_ylabel("NLL (nats/token)")
        ax.set_title(f"{Path(args.run).name}")
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(args.png, dpi=110)
        print(f"\nwrote {args.png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
