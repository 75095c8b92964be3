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


def plot_versus(runs: Sequence[RunRecord], key: str, metrics: Sequence[str], path: Path) -> None:
    """A sweep at a glance: each metric's final value against config ``key`` (one dot per
    seed, the line through their means), and the median seconds of an adversarial
    iteration split into the G step (rollouts) and D training. A log x axis when the
    values span 8x or more (rollout counts 4 ... 256)."""
    plt = _pyplot()
    values = sorted({float(r.config[key]) for r in runs})
    panels = [*metrics, "seconds per iteration"]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        if panel == "seconds per iteration":
            for part, name, colour in (("g_s", "G step (rollouts)", "C0"),
                                       ("d_s", "D training", "C1")):  # fmt: skip
                means = []
                for v in values:
                    got = [st[part] for r in runs if float(r.config[key]) == v
                           if part in (st := r.adversarial_stats())]  # fmt: skip
                    means.append(sum(got) / len(got) if got else float("nan"))
                ax.plot(values, means, "-o", ms=4, color=colour, label=name)
            ax.legend(fontsize=7)
        else:
            means = []
            for v in values:
                got = [f for r in runs if float(r.config[key]) == v
                       if (f := r.final(panel)) is not None]  # fmt: skip
                ax.plot([v] * len(got), got, ".", color="gray", ms=5)
                means.append(sum(got) / len(got) if got else float("nan"))
            ax.plot(values, means, "-o", ms=4, color="C0")
            panel = f"final {panel}"
        if min(values) > 0 and max(values) / min(values) >= 8:
            ax.set_xscale("log", base=2)
        ax.set_xticks(values, [f"{v:g}" for v in values])
        ax.set_xlabel(key)
        ax.set_title(panel, fontsize=9)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
