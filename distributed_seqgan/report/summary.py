"""The report itself: ``summary.md`` (what ran, finals per run and per label, run-level
comparisons between labels, per-sample significance when asked, every evaluation per run), one ``<metric>.png`` per metric, and ``<run>.csv``
tables."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import UserError
from ..infra.files import write_atomic
from .plots import plot_metric, plot_versus
from .run_level import run_level_table
from .runs import RunRecord
from .tables import (
    adversarial_table,
    evaluations_table,
    finals_table,
    groups_table,
    mixed_code,
    reference_table,
)


def _write(path: Path, text: str) -> None:
    write_atomic(path, lambda f: f.write(text.encode("utf-8")))


def _csv(run: RunRecord, metrics: Sequence[str]) -> str:
    cols = [m for m in metrics if m in run.metric_names]
    rows = [",".join(["x", "phase", "step", *cols, "time_s"])]
    for p in run.evals:
        vals = [repr(p.metrics[m]) if m in p.metrics else "" for m in cols]
        rows.append(",".join([str(p.x), p.phase, str(p.step), *vals, repr(p.time_s)]))
    return "\n".join(rows) + "\n"


def chosen_metrics(runs: Sequence[RunRecord], metrics: Sequence[str] | None) -> list[str]:
    """``metrics``, each logged by some run, or every logged metric."""
    logged = list(dict.fromkeys(m for r in runs for m in r.metric_names))
    chosen = list(metrics) if metrics else logged
    unknown = [m for m in chosen if m not in logged]
    if unknown:
        raise UserError(f"--metrics: {unknown[0]!r} is not logged; logged: {', '.join(logged)}")
    return chosen


def make_out_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot create ({exc.strerror})") from None


def write_report(
    runs: Sequence[RunRecord],
    out: Path,
    metrics: Sequence[str] | None = None,
    checkpoint_sections: dict[str, list[str]] | None = None,
    significance: list[str] | None = None,
    references: Sequence[RunRecord] = (),
    versus: str | None = None,
) -> list[Path]:
    """Writes the report into ``out`` and returns the files written; ``references``
    (published curves) are drawn with the runs and compared with each point by point;
    ``versus`` (a config key the runs sweep) gets ``versus.png``, finals against it."""
    chosen = chosen_metrics(runs, metrics)
    make_out_dir(out)
    written: list[Path] = []
    lines = ["# Report", ""]
    lines += ["Runs: " + ", ".join(f"`{r.path}`" for r in runs) + ".", ""]
    unfinished = [f"`{r.name}` at {r.unfinished}" for r in runs if r.unfinished]
    if unfinished:  # still going, or stopped: their last values are no finals
        lines += ["Not finished (their values are the latest, not finals): "
                  + "; ".join(unfinished) + ".", ""]  # fmt: skip
    lines += ["## Final values", "", *finals_table(runs, chosen), ""]
    if len({r.label for r in runs}) < len(runs):
        lines += ["## Mean ± std over seeds", "", *groups_table(runs, chosen), ""]
        mixed = mixed_code(runs)
        if mixed:  # versions.jsonl: the seeds of a label were not all made by one code
            lines += ["Runs of one label made by different code (`versions.jsonl`):", "",
                      *mixed, ""]  # fmt: skip
    adversarial = adversarial_table(runs)
    if adversarial:
        lines += ["## Adversarial iterations", "", *adversarial, ""]
    if versus is not None:
        png = out / "versus.png"
        plot_versus(runs, versus, [m for m in chosen if any(r.final(m) for r in runs)], png)
        written.append(png)
        lines += [f"## Against {versus}", "", f"![{versus}]({png.name})", ""]
    run_level = run_level_table(runs, chosen)
    if run_level:
        lines += ["## Run-level comparison", "", *run_level, ""]
    if significance:
        lines += ["## Within-run significance (samples, not runs)", "", *significance, ""]
    for ref in references:
        for run in runs:
            for metric in chosen:
                table = reference_table(ref, run, metric)
                if table:
                    lines += [f"## {run.name} against {ref.label}: {metric}", "", *table, ""]
    lines += ["## Curves", ""]
    for metric in chosen:
        png = out / f"{metric}.png"
        if plot_metric([*runs, *references], metric, png):
            written.append(png)
            lines += [f"![{metric}]({png.name})", ""]
    for run in runs:
        code = f"; code {run.code}" if run.code else "; code not recorded"
        lines += [f"## {run.name}", "", f"Label: {run.label}; seed {run.seed}{code}.", ""]
        if checkpoint_sections and run.name in checkpoint_sections:
            lines += checkpoint_sections[run.name] + [""]
        lines += ["Every evaluation (metrics.jsonl):", "", *evaluations_table(run, chosen), ""]
        csv = out / f"{run.name}.csv"
        _write(csv, _csv(run, chosen))
        written.append(csv)
    summary = out / "summary.md"
    _write(summary, "\n".join(lines))
    return [summary, *written]
