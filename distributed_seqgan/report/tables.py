"""Markdown tables of a report: every evaluation of a run (what metrics.jsonl holds), and
the final and best values per run and per label (mean ± std over seeds)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from .runs import RunRecord


def fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def evaluations_table(run: RunRecord, metrics: Sequence[str]) -> list[str]:
    """One row per evaluation, in the order metrics.jsonl has them."""
    cols = [m for m in metrics if m in run.metric_names]
    lines = ["| x | phase | step | " + " | ".join(cols) + " | time (s) |",
             "|---|---|---|" + "---|" * len(cols) + "---|"]  # fmt: skip
    for p in run.evals:
        cells = " | ".join(fmt(p.metrics.get(m)) for m in cols)
        lines.append(f"| {p.x} | {p.phase} | {p.step} | {cells} | {p.time_s:.0f} |")
    return lines


def finals_table(runs: Sequence[RunRecord], metrics: Sequence[str]) -> list[str]:
    """Per run: the final value of each metric, the best NLL-oracle (where logged; the
    official baseline scripts report the best), the wall time and the code that made it
    (versions.jsonl); a run that has not finished says where it stands."""
    with_best = [m for m in metrics if any(r.best(m) for r in runs) and m == "nll_oracle"]
    head = ["run", "label", "seed", *metrics, *(f"best {m} (at)" for m in with_best), "wall (s)",
            "code"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        best = []
        for m in with_best:
            b = r.best(m)
            best.append("" if b is None else f"{b[0]:.4f} ({b[1].phase} {b[1].step})")
        name = f"{r.name} (unfinished: {r.unfinished})" if r.unfinished else r.name
        cells = [name, r.label, str(r.seed), *(fmt(r.final(m)) for m in metrics), *best]
        lines.append("| " + " | ".join([*cells, f"{r.wall_s:.0f}", _code(r)]) + " |")
    return lines


def _code(run: RunRecord) -> str:
    return run.code or "not recorded"


def mixed_code(runs: Sequence[RunRecord]) -> list[str]:
    """One line per label whose runs were made by different code (or where only some
    recorded theirs): seeds of one experiment should differ in nothing but the seed."""
    lines = []
    for label in dict.fromkeys(r.label for r in runs):
        codes: dict[str, list[str]] = {}
        for r in runs:
            if r.label == label:
                codes.setdefault(_code(r), []).append(f"`{r.name}`")
        if len(codes) > 1:
            parts = "; ".join(f"{code}: {', '.join(names)}" for code, names in codes.items())
            lines.append(f"- `{label}` mixes code versions: {parts}.")
    return lines


def _mean_std(values: list[float], digits: int = 4) -> str:
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def groups_table(runs: Sequence[RunRecord], metrics: Sequence[str]) -> list[str]:
    """Per label: mean ± sample std over its runs (seeds) of each final value, and of the
    best NLL-oracle (what the official baseline scripts report)."""
    labels = list(dict.fromkeys(r.label for r in runs))
    with_best = [m for m in metrics if m == "nll_oracle" and any(r.best(m) for r in runs)]
    head = ["label", "runs", *(f"final {m}" for m in metrics),
            *(f"best {m}" for m in with_best), "wall (s)"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label in labels:
        group = [r for r in runs if r.label == label]
        cells = [_mean_std([v for r in group if (v := r.final(m)) is not None]) for m in metrics]
        best = [_mean_std([b[0] for r in group if (b := r.best(m))]) for m in with_best]
        wall = _mean_std([r.wall_s for r in group], digits=0)
        unfinished = sum(1 for r in group if r.unfinished)
        n = f"{len(group)} ({unfinished} unfinished)" if unfinished else str(len(group))
        lines.append("| " + " | ".join([label, n, *cells, *best, wall]) + " |")
    return lines


ADVERSARIAL_COLUMNS = (("iterations", "iterations", ".0f"), ("mean_reward", "mean reward", ".4f"),
                       ("reward_mc_var", "reward MC variance", ".3e"),
                       ("g_s", "G step (s, median)", ".2f"), ("d_s", "D training (s, median)", ".2f"),
                       ("iteration_s", "iteration (s, median)", ".2f"))  # fmt: skip


def _spread(values: list[float], spec: str) -> str:
    """``mean ± std`` over seeds in ``spec``; one value (or equal ones) alone."""
    if not values:
        return ""
    if len(set(values)) == 1:
        return format(values[0], spec)
    return f"{format(statistics.mean(values), spec)} ± {format(statistics.stdev(values), spec)}"


def adversarial_table(runs: Sequence[RunRecord]) -> list[str]:
    """Per label (mean ± std over its seeds): what an adversarial iteration gave (mean
    reward, the variance of the Monte-Carlo reward estimate) and cost (G step with the
    rollouts, D training), from the runs' ``adversarial`` events."""
    stats = {r.name: r.adversarial_stats() for r in runs}
    cols = [c for c in ADVERSARIAL_COLUMNS if any(c[0] in s for s in stats.values())]
    head = ["label", "runs", *(title for _, title, _ in cols)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label in dict.fromkeys(r.label for r in runs):
        group = [stats[r.name] for r in runs if r.label == label and stats[r.name]]
        if not group:
            continue
        cells = [_spread([g[k] for g in group if k in g], spec) for k, _, spec in cols]
        lines.append("| " + " | ".join([label, str(len(group)), *cells]) + " |")
    return lines if len(lines) > 2 else []


def reference_table(ref: RunRecord, run: RunRecord, metric: str) -> list[str]:
    """Point by point: the reference's value, the run's at the same x, the difference."""
    ours = dict(run.series(metric))
    pairs = [(x, p, v) for p in ref.evals if (v := p.metrics.get(metric)) is not None
             if (x := p.x) in ours]  # fmt: skip
    if not pairs:
        return []
    lines = [f"| x | phase | step | {ref.label} | {run.name} | difference |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for x, p, v in pairs:
        lines.append(
            f"| {x} | {p.phase} | {p.step} | {v:.4f} | {ours[x]:.4f} | {ours[x] - v:+.4f} |"
        )
    diffs = [ours[x] - v for x, _, v in pairs]
    lines += ["", f"{len(pairs)} points; mean difference {sum(diffs) / len(diffs):+.4f}, "
              f"largest {max(diffs, key=abs):+.4f}."]  # fmt: skip
    return lines
