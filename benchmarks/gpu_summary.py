"""One page from a gpu.sh result folder: every `seqgan bench` variant against the GPU
issue's targets, the paper schedule extrapolated from its measured phases, and the
seeds-sharing lines.

    python benchmarks/gpu_summary.py RESULTS_DIR      # writes RESULTS_DIR/summary.md too

Why: a lent GPU comes with minutes, not hours, so the next decision (e.g. which D
formulation ``auto`` should take on CUDA, ``AUTO_FORMULATION`` in
models/discriminator.py) has to be readable from one file. Reads what gpu.sh wrote:
``benchmark-log.md`` (the bench tables), ``paper-metrics.jsonl`` (the paper-schedule
slice) and ``gpu.log`` (including the steps its deadline cut, and a fall back to eager
after the fast path's run failed); a missing part is said, not an error.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

from distributed_seqgan.config import load_config

# phase name prefix at the paper config -> target seconds (issue 23: the paper's schedule in
# 10 min on an H200); other configs' phases are shown without a target
TARGETS = {
    "MLE epoch (9,984 sequences)": 0.15,
    "sample 9,984 sequences": 0.030,
    "rollout-reward batch (64 x 16)": 0.050,
    "D retraining round (9984 + 9984, 3 epochs)": 0.4,
    "adversarial iteration (paper schedule)": 2.5,
}
# gpu.sh's lines for a step it skipped (deadline near), stopped (its own limit) or ran
# eagerly because the fast path's run failed
CUT = re.compile(r"^== [0-9:]+ ((?:skipped for time|stopped at its limit|eager from here): .*)$")
PAPER_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "synthetic.yaml"


def schedule_phases() -> list[tuple[str, str, int, str]]:
    """(phase, key in its events, count in configs/synthetic.yaml's schedule, name)."""
    s = load_config(PAPER_CONFIG).schedule
    return [
        ("mle", "epoch_s", s.mle_epochs, "MLE epoch"),
        ("d_pretrain", "round_s", s.d_pretrain_rounds, "D pretraining round"),
        ("adversarial", "iteration_s", s.adv_iterations, "adversarial iteration"),
    ]


def bench_sections(log: str) -> list[tuple[str, dict[str, float]]]:
    """(variant, {phase: seconds}) for every `seqgan bench` table in a benchmark log; the
    variant is the command's options after ``bench``."""
    out = []
    for block in re.split(r"\n## ", log):
        head = re.match(r"[^`]*`seqgan bench([^`]*)`", block)
        if head is None:
            continue
        times = {}
        for row in re.finditer(r"^\| ([^|]+?) \| ([0-9.e+-]+) s \|", block, re.M):
            times[row.group(1)] = float(row.group(2))
        variant = head.group(1).replace("--device cuda", "").strip() or "(default)"
        out.append((variant, times))
    return out


def bench_table(sections: list[tuple[str, dict[str, float]]]) -> list[str]:
    if not sections:
        return ["No `seqgan bench` table in benchmark-log.md."]
    variants = [v for v, _ in sections]
    lines = [
        "| phase | target | " + " | ".join(f"`{v}`" for v in variants) + " |",
        "|---|---|" + "---|" * len(variants),
    ]
    phases = list(dict.fromkeys(p for _, times in sections for p in times))
    for phase in phases:
        target = next((t for k, t in TARGETS.items() if phase.startswith(k)), None)
        cells = []
        for _, times in sections:
            if phase not in times:
                cells.append("")
                continue
            mark = "" if target is None else (" ✓" if times[phase] <= target else " ✗")
            cells.append(f"{fmt(times[phase])}{mark}")
        goal = "" if target is None else f"≤ {fmt(target)}"
        lines.append(f"| {phase} | {goal} | " + " | ".join(cells) + " |")
    return lines


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def schedule_estimate(metrics: Path) -> list[str]:
    """The paper schedule's time from the phases the slice reached: median x count."""
    if not metrics.is_file():
        return [f"No {metrics.name}: the paper-schedule slice did not run."]
    events = [json.loads(line) for line in metrics.open() if line.strip()]
    lines, total, missing = [], 0.0, []
    for phase, key, count, name in schedule_phases():
        xs = [e[key] for e in events if e.get("phase") == phase and key in e]
        if not xs:
            missing.append(name)
            continue
        m = statistics.median(xs)
        total += m * count
        lines.append(
            f"- {name}: median {fmt(m)} over {len(xs)} -> x{count} = {m * count / 60:.1f} min"
        )
    verdict = "≤ 10 min ✓" if total <= 600 and not missing else "target ≤ 10 min"
    lines.append(
        f"- whole schedule from the phases measured: {total / 60:.1f} min ({verdict})"
        + (f"; not reached: {', '.join(missing)}" if missing else "")
    )
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    res = Path(argv[0])
    log = res / "benchmark-log.md"
    parts = ["# GPU results", ""]
    parts += ["## seqgan bench variants", ""]
    parts += bench_table(bench_sections(log.read_text() if log.is_file() else ""))
    parts += ["", "## Paper schedule (configs/synthetic.yaml), extrapolated", ""]
    parts += schedule_estimate(res / "paper-metrics.jsonl")
    gpu_log = res / "gpu.log"
    log_lines = gpu_log.read_text().splitlines() if gpu_log.is_file() else []
    shared = [
        line for line in log_lines if re.match(r"\d+ runs at once:|pool (ray|local):|device:", line)
    ]
    parts += ["", "## Device, Ray and seeds sharing the device (gpu.log)", ""]
    parts += [f"- {line}" for line in shared] or ["- none logged"]
    cut = [m.group(1) for m in map(CUT.search, log_lines) if m]
    if cut:
        parts += ["", "## Steps cut for time or run eagerly (gpu.sh's limits and fallback)", ""]
        parts += [f"- {line}" for line in cut]
    text = "\n".join(parts) + "\n"
    (res / "summary.md").write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
