"""Table 1's run-level statistics from the per-run finals in docs/table1-runs.csv.

Why a CSV: run directories do not outlive the machine that made them, so every run's
end, best and NLL-test values are kept here (and, where its record is kept, its
config.yaml and metrics.jsonl in docs/runs/, which `seqgan report --run` reads). The
statistics are the report's own (``report/run_level.py``): mean ± sample std, the 95%
t-interval of the mean, and each method against a reference by the difference of means
with Welch's interval, Welch's t-test and the exact permutation test over the runs.

    python docs/table1_finals.py [--csv docs/table1-runs.csv] [--reference SeqGAN] [--reference MLE]
    python docs/table1_finals.py --add SeqGAN runs/seqgan-long-s91   # a finished run's finals
    python docs/table1_finals.py --paper SeqGAN=8.736 --paper MLE=9.038  # against the paper

The rollout-count study in docs/results.md keeps its runs the same way:
``python docs/table1_finals.py --csv docs/rollout-runs.csv --reference N=16 --paired``
(each seed's runs share its pretraining, so they are also compared seed by seed). A cell may
be empty where a run's value was not kept (its seed-88/89 runs are kept as the end values
results.md published); the tables then say over how many runs each cell is.

The Random rows (``init-s<seed>``) are the evaluation before training of the runs of
each seed (every config draws the same initial generator from the seed): "end" is that
evaluation, and there is no best.

``--paper METHOD=VALUE`` (repeatable) tests each method's runs against the paper's figure:
the 95% interval of the mean (end and best) and the one-sample t-test.

``--add METHOD RUN_DIR`` (repeatable) reads a run directory with the report's own loader,
keeps its config.yaml, metrics.jsonl and versions.jsonl (the code that made it) in
docs/runs/<name>/ and appends its row: end = the last evaluation's NLL-oracle, best = the
lowest after initialisation and the step it came at, NLL-test at the end, wall = seconds of logged work over every process that wrote
to the run (``seqgan resume`` restarts the clock).
"""

from __future__ import annotations

import argparse
import csv
import math
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from distributed_seqgan.infra import provenance
from distributed_seqgan.report.run_level import against_value, compare, mean_ci, sign_flip_p
from distributed_seqgan.report.runs import load_run

VALUES = ("end", "best", "nll_test")


def load(path: Path) -> dict[str, list[dict[str, str]]]:
    by: dict[str, list[dict[str, str]]] = defaultdict(list)
    with path.open() as f:
        for row in csv.DictReader(f):
            by[row["method"]].append(row)
    return by


def seed_of(row: dict[str, str]) -> str:
    return row["run"].rsplit("-s", 1)[1]


def values(rows: list[dict[str, str]], v: str) -> list[float]:
    """The runs' values of column v; a run without one (an empty cell: a run kept only as
    a published figure) is left out, and the tables say how many runs a cell has."""
    return [float(r[v]) for r in rows if r[v] != ""]


def summary(by: dict[str, list[dict[str, str]]]) -> list[str]:
    lines = ["| method | runs (seeds) | end: mean ± std [95% CI] | best: mean ± std | NLL-test, end |",
             "|---|---|---|---|---|"]  # fmt: skip
    for method, rows in by.items():
        seeds = ", ".join(seed_of(r) for r in rows)
        cells = []
        for v in VALUES:
            x = np.array(values(rows, v))
            if len(x) < 2:
                cell = f"{x[0]:.4f}" if len(x) else "—"
            else:
                cell = f"{x.mean():.4f} ± {x.std(ddof=1):.4f}"
                if v == "end":
                    lo, hi = mean_ci(x)
                    cell += f" [{lo:.4f}, {hi:.4f}]"
            if 0 < len(x) < len(rows):
                cell += f" ({len(x)} of {len(rows)} runs)"
            cells.append(cell)
        lines.append(f"| {method} | {len(rows)} ({seeds}) | " + " | ".join(cells) + " |")
    return lines


def comparisons(by: dict[str, list[dict[str, str]]], reference: str) -> list[str]:
    lines = [f"| value | method − {reference} | difference [95% CI] | Welch t (df) | p, Welch | "
             "p, permutation (relabellings) |", "|---|---|---|---|---|---|"]  # fmt: skip
    ref = by[reference]
    for v in ("end", "best"):
        for method, rows in by.items():
            x, x_ref = values(rows, v), values(ref, v)
            if method == reference or len(x) < 2 or len(x_ref) < 2:
                continue
            c = compare(x, x_ref)
            ci = "" if math.isnan(c.ci_low) else f" [{c.ci_low:+.4f}, {c.ci_high:+.4f}]"
            kind = "exact" if c.exact else "sampled"
            lines.append(
                f"| {v} | {method} | {c.difference:+.4f}{ci} | {c.t:.2f} ({c.df:.1f}) | "
                f"{c.p_welch:.2g} | {c.p_permutation:.3g} ({c.permutations}, {kind}) |"
            )
    return lines


def paired(by: dict[str, list[dict[str, str]]], reference: str) -> list[str]:
    """Each method against the reference seed by seed, for designs whose settings share
    each seed's pretraining (the rollout study's --init-from runs): the mean of the
    per-seed differences with its 95% t-interval, the paired t-test and the exact
    sign-flip test over the seeds both have."""
    lines = [f"| value | method − {reference}, paired by seed | seeds | mean difference [95% CI] | "
             "t (df) | p, paired t | p, sign flip (flips) |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    ref = {seed_of(r): r for r in by[reference]}
    for v in ("end", "best"):
        for method, rows in by.items():
            pairs = [(r, ref[seed_of(r)]) for r in rows if seed_of(r) in ref]
            d = [float(a[v]) - float(b[v]) for a, b in pairs if a[v] != "" and b[v] != ""]
            if method == reference or len(d) < 2:
                continue
            lo, hi = mean_ci(d)
            diff, t, p = against_value(d, 0.0)
            p_flip, flips = sign_flip_p(d)
            lines.append(
                f"| {v} | {method} | {len(d)} | {diff:+.4f} [{lo:+.4f}, {hi:+.4f}] | "
                f"{t:.2f} ({len(d) - 1}) | {p:.2g} | {p_flip:.3g} ({flips}) |"
            )
    return lines


def against_paper(by: dict[str, list[dict[str, str]]], paper: dict[str, float]) -> list[str]:
    lines = ["| value | method | runs | mean [95% CI] | paper | mean − paper | t (df) | p |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for v in ("end", "best"):
        for method, value in paper.items():
            x = values(by[method], v)
            if len(x) < 2:  # e.g. Random has no best value
                continue
            lo, hi = mean_ci(x)
            diff, t, p = against_value(x, value)
            lines.append(
                f"| {v} | {method} | {len(x)} | {np.mean(x):.4f} [{lo:.4f}, {hi:.4f}] | "
                f"{value} | {diff:+.4f} | {t:.2f} ({len(x) - 1}) | {p:.2g} |"
            )
    return lines


def finals_row(method: str, run_dir: Path, record: Path) -> dict[str, str]:
    """One run's CSV row, from its evaluations (initialisation left out)."""
    run = load_run(run_dir)
    evals = [e for e in run.evals if e.phase != "init"]
    end, best = evals[-1], min(evals, key=lambda e: e.metrics["nll_oracle"])
    return {
        "method": method, "run": run_dir.name, "end": f"{end.metrics['nll_oracle']:.4f}",
        "best": f"{best.metrics['nll_oracle']:.4f}", "best_at": str(best.step),
        "nll_test": f"{end.metrics['nll_test']:.4f}", "wall_s": f"{run.wall_s:.0f}",
        "record": str(record),
    }  # fmt: skip


def add_run(csv_path: Path, method: str, run_dir: Path) -> dict[str, str]:
    """Keeps the run's record beside the CSV (docs/runs/<name>/) and appends its row;
    a run already in the CSV, or one that has not finished, is an error, not a row."""
    if any(r["run"] == run_dir.name for rows in load(csv_path).values() for r in rows):
        raise SystemExit(f"table1_finals: {run_dir.name} is already in {csv_path}")
    unfinished = load_run(run_dir).unfinished
    if unfinished:
        raise SystemExit(f"table1_finals: {run_dir.name} has not finished (it stands at "
                         f"{unfinished}): its last values are no finals")  # fmt: skip
    record = csv_path.parent / "runs" / run_dir.name
    record.mkdir(parents=True, exist_ok=True)
    names = ["config.yaml", "metrics.jsonl"]
    if (run_dir / provenance.VERSIONS).is_file():  # the code that made it, where recorded
        names.append(provenance.VERSIONS)
    for name in names:
        shutil.copyfile(run_dir / name, record / name)
    row = finals_row(method, run_dir, record.relative_to(csv_path.parent.parent))
    with csv_path.open() as f:
        fields = next(csv.reader(f))
    with csv_path.open("a", newline="") as f:
        csv.DictWriter(f, fields, lineterminator="\n").writerow(row)
    return row


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", type=Path, default=Path(__file__).with_name("table1-runs.csv"))
    ap.add_argument("--reference", action="append", help="method to compare against (repeatable)")
    ap.add_argument("--add", nargs=2, action="append", default=[], metavar=("METHOD", "RUN_DIR"),
                    help="append a finished run's finals first (repeatable)")  # fmt: skip
    ap.add_argument("--paired", action="store_true",
                    help="also compare with each reference seed by seed (shared pretraining)")  # fmt: skip
    ap.add_argument("--paper", action="append", default=[], metavar="METHOD=VALUE",
                    help="test a method's runs against the paper's figure (repeatable)")  # fmt: skip
    args = ap.parse_args(argv)
    paper = {}
    for item in args.paper:
        method, _, value = item.rpartition("=")
        try:
            paper[method] = float(value)
        except ValueError:
            ap.error(f"--paper wants METHOD=VALUE (a number), got {item!r}")
    for method, run_dir in args.add:
        print(f"added {add_run(args.csv, method, Path(run_dir))}")
    by = load(args.csv)
    refs = args.reference or ["SeqGAN"]
    unknown = [r for r in [*refs, *paper] if r not in by]
    if unknown:
        print(
            f"table1_finals: no runs of {unknown} in {args.csv} (methods: {list(by)})",
            file=sys.stderr,
        )
        return 2
    print("\n".join(summary(by)))
    for ref in refs:
        print()
        print("\n".join(comparisons(by, ref)))
        if args.paired:
            print()
            print("\n".join(paired(by, ref)))
    if paper:
        print()
        print("\n".join(against_paper(by, paper)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
