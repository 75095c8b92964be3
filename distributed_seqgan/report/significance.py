"""Significance as the paper's Table 1 reports it: the oracle NLL of each of many samples
(say 100,000) from every run's final generator, pooled over the runs of one label (its
seeds), and a Welch t-test of each label against the first run's label.

This is a within-run figure: its samples are not independent replications of an
experiment (seeds of one experiment differ far more than its standard error), so its
p-values say only that the two final generators differ. ``run_level.py`` is the test of
the methods."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import stats

from ..errors import UserError
from ..runs.evaluation import evaluate_checkpoint
from .runs import RunRecord


def per_sequence(run: RunRecord, n: int, seed: int, out: Path) -> np.ndarray:
    """Per-sample oracle NLLs of ``n`` samples of checkpoint ``latest``, kept in
    ``out/<run>.per-sequence.txt`` and reused while it is newer than the checkpoint."""
    if run.config.get("task") != "synthetic":
        raise UserError(f"--significance: run {run.name} is not synthetic (it needs the oracle)")
    path = out / f"{run.name}.per-sequence.txt"
    ckpt = run.path / "checkpoints" / "latest.pt"
    fresh = path.is_file() and ckpt.is_file() and path.stat().st_mtime > ckpt.stat().st_mtime
    if fresh:
        values = np.loadtxt(path, ndmin=1)
        if len(values) == n:
            return values
    evaluate_checkpoint(run.path, "latest", n, seed, per_sequence=path)
    return np.loadtxt(path, ndmin=1)


def significance_table(runs: Sequence[RunRecord], n: int, seed: int, out: Path) -> list[str]:
    """Markdown: per label, the pooled per-sample NLL-oracle (mean ± standard error) and
    Welch's t-test against the first run's label."""
    labels = list(dict.fromkeys(r.label for r in runs))
    pooled = {
        label: np.concatenate([per_sequence(r, n, seed, out) for r in runs if r.label == label])
        for label in labels
    }
    ref = labels[0]
    lines = [
        f"Per-sample NLL-oracle of {n:,} samples per run (checkpoint latest, sampling seed "
        f"{seed}), pooled over each label's runs; Welch's t-test against `{ref}`. The unit "
        "here is the sample, not the run: these p-values compare these runs' final "
        "generators, not the methods (see the run-level comparison).",
        "",
        "| label | samples | mean NLL-oracle ± s.e. | difference | Welch t | p-value |",
        "|---|---|---|---|---|---|",
    ]
    for label in labels:
        x = pooled[label]
        se = x.std(ddof=1) / math.sqrt(len(x)) if len(x) > 1 else float("nan")
        cells = [label, f"{len(x):,}", f"{x.mean():.4f} ± {se:.4f}"]
        if label == ref:
            cells += ["(reference)", "", ""]
        else:
            t, p = stats.ttest_ind(x, pooled[ref], equal_var=False)
            shown = f"{p:.3g}" if p > 0 else "< 1e-300"  # 0.0: below what a double holds
            cells += [f"{x.mean() - pooled[ref].mean():+.4f}", f"{t:.2f}", shown]
        lines.append("| " + " | ".join(cells) + " |")
    return lines
