"""PNG curves: one figure per metric, every run overlaid (runs of one label share a colour,
each seed its own line style), as the paper's Figure 2 draws them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import UserError
from .runs import RunRecord

STYLES = ("-", "--", ":", "-.")


def _pyplot():  # noqa: ANN202 - matplotlib is an optional extra
    try:
        import matplotlib
    except ImportError:
        raise UserError(
            "seqgan report draws with matplotlib, which is not installed: "
            "pip install 'distributed_seqgan[report]'"
        ) from None
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def plot_metric(runs: Sequence[RunRecord], metric: str, path: Path) -> bool:
    """The metric against its x (MLE epochs, then adversarial iterations) for every run that
    logs it; False when none does."""
    plt = _pyplot()
    labels = list(dict.fromkeys(r.label for r in runs if not r.reference))
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    drawn, seen = False, dict.fromkeys(labels, 0)
    pre = set()
    for run in runs:
        pts = run.series(metric)
        if not pts:
            continue
        xs, ys = zip(*pts, strict=True)
        if run.reference:  # a published curve: black, dashed
            ax.plot(xs, ys, "--", marker="x", ms=4, lw=1.0, color="black", label=run.label)
            drawn = True
            continue
        i = labels.index(run.label)
        style = STYLES[seen[run.label] % len(STYLES)]
        seen[run.label] += 1
        ours = [r for r in runs if not r.reference]
        ax.plot(xs, ys, style, marker=".", ms=3, lw=1.2, color=f"C{i % 10}",
                label=f"{run.label} (seed {run.seed})" if len(ours) > 1 else run.name)  # fmt: skip
        if run.mle_epochs and any(p.phase == "adversarial" for p in run.evals):
            pre.add(run.mle_epochs)
        drawn = True
    if not drawn:
        plt.close(fig)
        return False
    for x in sorted(pre):
        ax.axvline(x, color="gray", ls="--", lw=0.8)
    ax.set_xlabel("MLE epoch, then adversarial iteration (-1: before training)")
    ax.set_ylabel(metric)
    ax.set_title(metric if len(runs) > 1 else f"{runs[0].name}: {metric}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
