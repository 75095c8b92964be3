"""How far two runs of one config are apart, event by event: the largest absolute and
relative difference of every logged number, pairing events by (phase, step, evaluation).

Used by benchmarks/gpu.sh to state the tolerance between the CUDA fast path
(``run.cuda_graphs=true``) and the eager path; timings (``*_s``) and worker counters are
left out. Usage:

    python benchmarks/compare_events.py RUN_A RUN_B [--out FILE.md]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from distributed_seqgan.infra.tracking import read_metrics

SKIP = {"worker_restarts", "retried_shards"}  # failures survived, not what was computed


def events(run: Path) -> dict[tuple, dict[str, float]]:
    out: dict[tuple, dict[str, float]] = {}
    for e in read_metrics(run):
        key = (
            e.get("phase"),
            e.get("step"),
            e.get("eval_phase"),
            "eval" if "eval_phase" in e else "",
        )
        nums = {
            k: float(v) for k, v in e.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
            and not k.endswith("_s") and k not in SKIP and k != "step"
        }  # fmt: skip
        if nums:
            out[key] = nums
    return out


def compare(a: Path, b: Path) -> tuple[list[list[str]], list[str]]:
    """Rows (metric, events compared, max |a - b|, max relative, where) and problems
    (events or metrics only one run has)."""
    ea, eb = events(a), events(b)
    problems = [f"only in {a.name}: {k}" for k in ea.keys() - eb.keys()]
    problems += [f"only in {b.name}: {k}" for k in eb.keys() - ea.keys()]
    worst: dict[str, tuple[int, float, float, tuple]] = {}
    for key in sorted(ea.keys() & eb.keys(), key=str):
        for metric, va in ea[key].items():
            if metric not in eb[key]:
                problems.append(f"{metric} missing in {b.name} at {key}")
                continue
            vb = eb[key][metric]
            d = abs(va - vb)
            rel = d / max(abs(va), abs(vb), 1e-12)
            n, d0, r0, at = worst.get(metric, (0, -1.0, 0.0, key))
            worst[metric] = (n + 1, max(d, d0), max(rel, r0), key if d > d0 else at)
    rows = [
        [m, str(n), f"{d:.3g}", f"{r:.3g}", " ".join(str(x) for x in at[:3] if x is not None)]
        for m, (n, d, r, at) in sorted(worst.items())
        if not math.isnan(d)
    ]
    return rows, problems


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_a", type=Path)
    ap.add_argument("run_b", type=Path)
    ap.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = ap.parse_args(argv)
    for run in (args.run_a, args.run_b):
        if not (run / "metrics.jsonl").is_file():
            print(
                f"compare_events: {run} has no metrics.jsonl (not a run directory)", file=sys.stderr
            )
            return 2
    rows, problems = compare(args.run_a, args.run_b)
    lines = [
        f"{args.run_a.name} vs {args.run_b.name}",
        "",
        "| metric | events | max abs. difference | max rel. difference | at (phase step) |",
        "|---|---|---|---|---|",
        *("| " + " | ".join(r) + " |" for r in rows),
        *(f"- {p}" for p in problems),
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
