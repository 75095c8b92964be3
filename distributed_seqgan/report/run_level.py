"""Comparisons whose unit of replication is the training run.

Why: seeds of one experiment differ by far more than the sampling noise of one run's
evaluation, so a test that counts samples (``significance.py``) finds every difference
"significant". Here each run contributes one number (its final, or its best NLL-oracle),
and each label is compared with the reference label by the difference of the means with
Welch's 95% confidence interval, Welch's t-test, and a permutation test over the runs
(exact where the relabellings are few enough to enumerate).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .runs import RunRecord

EXACT_LIMIT = 200_000  # relabellings enumerated; above it, this many random ones are drawn


@dataclass(frozen=True)
class Comparison:
    """``x`` (a label's per-run values) against ``ref`` (the reference label's)."""

    difference: float  # mean(x) - mean(ref)
    ci_low: float  # Welch 95% confidence interval of the difference (nan below 2 + 2 runs)
    ci_high: float
    t: float
    df: float
    p_welch: float
    p_permutation: float
    permutations: int  # relabellings counted
    exact: bool


def welch(x: Sequence[float], ref: Sequence[float]) -> tuple[float, float, float, float, float]:
    """(t, df, p, ci_low, ci_high) of mean(x) - mean(ref); nan where a side has < 2 runs."""
    a, b = np.asarray(x, dtype=float), np.asarray(ref, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return (math.nan,) * 5
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff, se = a.mean() - b.mean(), math.sqrt(va + vb)
    if se == 0.0:
        return (math.inf if diff else math.nan), math.nan, (0.0 if diff else 1.0), diff, diff
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = diff / se
    p = 2.0 * float(stats.t.sf(abs(t), df))
    half = float(stats.t.ppf(0.975, df)) * se
    return t, df, p, diff - half, diff + half


def permutation_p(
    x: Sequence[float], ref: Sequence[float], seed: int = 0
) -> tuple[float, int, bool]:
    """Two-sided permutation test of the difference of means: the share of relabellings of
    the pooled runs whose |difference| is at least the observed one (the observed
    labelling included, so p >= 1 / relabellings). Returns (p, relabellings, exact)."""
    pooled = np.asarray([*x, *ref], dtype=float)
    n, k = len(pooled), len(x)
    total = pooled.sum()
    observed = abs(np.mean(x) - np.mean(ref))
    tol = 1e-12 * max(1.0, abs(observed))  # ties up to rounding count as "as extreme"

    def diff(idx: np.ndarray) -> np.ndarray:  # idx: (P, k) indices of the "x" side
        s = pooled[idx].sum(axis=1)
        return np.abs(s / k - (total - s) / (n - k))

    count = math.comb(n, k)
    if count <= EXACT_LIMIT:
        idx = np.array(list(itertools.combinations(range(n), k)), dtype=np.int64)  # (P, k)
        return float(np.mean(diff(idx) >= observed - tol)), count, True
    rng = np.random.default_rng(seed)
    idx = np.argsort(rng.random((EXACT_LIMIT, n)), axis=1)[:, :k]  # (P, k)
    hits = int(np.sum(diff(idx) >= observed - tol))
    return (hits + 1) / (EXACT_LIMIT + 1), EXACT_LIMIT, False


def compare(x: Sequence[float], ref: Sequence[float], seed: int = 0) -> Comparison:
    t, df, p, low, high = welch(x, ref)
    p_perm, count, exact = permutation_p(x, ref, seed)
    return Comparison(float(np.mean(x) - np.mean(ref)), low, high, t, df, p, p_perm, count, exact)


def mean_ci(x: Sequence[float]) -> tuple[float, float]:
    """The t-interval (95%) of the mean of one label's runs; nan below 2 runs. A
    published value outside it is unlikely under this label's run-to-run spread."""
    a = np.asarray(x, dtype=float)
    if len(a) < 2:
        return math.nan, math.nan
    half = float(stats.t.ppf(0.975, len(a) - 1)) * a.std(ddof=1) / math.sqrt(len(a))
    return float(a.mean()) - half, float(a.mean()) + half


def against_value(x: Sequence[float], value: float) -> tuple[float, float, float]:
    """One label's runs against a published figure: (mean(x) - value, t, p) of the
    one-sample t-test (n - 1 df; nan below 2 runs). The figure is a number without its own
    spread, so only this side's run-to-run variation enters."""
    a = np.asarray(x, dtype=float)
    diff = float(a.mean()) - value
    if len(a) < 2:
        return diff, math.nan, math.nan
    se = a.std(ddof=1) / math.sqrt(len(a))
    if se == 0.0:
        return diff, (math.inf if diff else math.nan), (0.0 if diff else 1.0)
    t = diff / se
    return diff, t, 2.0 * float(stats.t.sf(abs(t), len(a) - 1))


def sign_flip_p(differences: Sequence[float]) -> tuple[float, int]:
    """Two-sided exact test of paired runs (two settings sharing each seed's pretraining):
    under no effect each seed's difference is as likely negative as positive, so p is the
    share of the 2^n sign flips whose |mean| is at least the observed one (observed
    included: p >= 2 / 2^n). Returns (p, flips); n <= 20."""
    d = np.asarray(differences, dtype=float)
    if len(d) > 20:
        raise ValueError(f"sign_flip_p enumerates 2^n flips; n = {len(d)} is over 20")
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))  # (2^n, n)
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, observed)
    return float(np.mean(np.abs(signs @ d) / len(d) >= observed - tol)), len(signs)


def _num(v: float, spec: str) -> str:
    return "" if math.isnan(v) else format(v, spec)


def _p(p: float) -> str:
    if math.isnan(p):
        return ""
    return f"{p:.3g}" if p > 0 else "< 1e-300"


def _values(runs: Sequence[RunRecord], label: str, metric: str, best: bool) -> list[float]:
    out = []
    for r in runs:
        if r.label != label:
            continue
        if best:
            b = r.best(metric)
            if b is not None:
                out.append(b[0])
        elif (v := r.final(metric)) is not None:
            out.append(v)
    return out


def run_level_table(runs: Sequence[RunRecord], metrics: Sequence[str], seed: int = 0) -> list[str]:
    """Markdown: per metric (final value, and best where lower is better), each label
    against the first run's label; empty when the runs have one label."""
    labels = list(dict.fromkeys(r.label for r in runs))
    if len(labels) < 2:
        return []
    ref = labels[0]
    lines = [
        f"One value per run; each label against `{ref}`. Difference of the means with "
        "Welch's 95% confidence interval, Welch's t-test (two-sided), and a two-sided "
        "permutation test over the runs (exact: every relabelling; else "
        f"{EXACT_LIMIT:,} random ones). With n and m runs an exact test cannot go below "
        "2 / C(n + m, n) when the sides are of equal size, 1 / C(n + m, n) otherwise.",
        "",
        "| value | label | runs | mean ± std | mean, 95% CI | difference (95% CI) "
        "| Welch t (df) | p, Welch | p, permutation |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    kinds = [(m, False) for m in metrics]
    kinds += [(m, True) for m in metrics if any(r.best(m) for r in runs)]
    for metric, best in kinds:
        ref_values = _values(runs, ref, metric, best)
        if not ref_values:
            continue
        name = f"{'best' if best else 'final'} {metric}"
        for label in labels:
            x = _values(runs, label, metric, best)
            if not x:
                continue
            spread = f"{np.mean(x):.4f}" + (f" ± {np.std(x, ddof=1):.4f}" if len(x) > 1 else "")
            low, high = mean_ci(x)
            interval = "" if math.isnan(low) else f"[{low:.4f}, {high:.4f}]"
            cells = [name, label, str(len(x)), spread, interval]
            if label == ref:
                cells += ["(reference)", "", "", ""]
            else:
                c = compare(x, ref_values, seed)
                ci = f" [{c.ci_low:+.4f}, {c.ci_high:+.4f}]" if not math.isnan(c.ci_low) else ""
                t = f"{_num(c.t, '.2f')} ({_num(c.df, '.1f')})" if not math.isnan(c.t) else ""
                kind = "exact" if c.exact else "sampled"
                perm = f"{_p(c.p_permutation)} ({kind}, {c.permutations:,})"
                cells += [f"{c.difference:+.4f}{ci}", t, _p(c.p_welch), perm]
            lines.append("| " + " | ".join(cells) + " |")
    return lines
