"""BLEU speed: nltk's sentence_bleu against the fast reference tables
(distributed_seqgan.tasks.bleu), on the poems and Obama test splits of the CPU configs;
appends one table to docs/benchmark-log.md.

    SEQGAN_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_bleu.py [--out FILE]

Both score the same hypotheses (training samples) against the whole test split; the script
also checks that the numbers agree.
"""

from __future__ import annotations

import sys
import time

import nltk
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from distributed_seqgan.bench import common
from distributed_seqgan.config import load_config
from distributed_seqgan.tasks import build_task
from distributed_seqgan.tasks.bleu import BleuScorer, mean_bleu, self_bleu

HYPS_NLTK = 20  # nltk is slow: time it on a few hypotheses and scale per hypothesis
HYPS_FAST = 1000


def main(argv: list[str]) -> int:
    args = common.parser(__doc__, device=False).parse_args(argv)
    smooth = SmoothingFunction().method1
    rows = []
    for config in ("configs/poems-cpu.yaml", "configs/obama-cpu.yaml"):
        task, _ = build_task(load_config(config))
        refs = task.references  # the test split as tokens
        hyps = [task.to_tokens(r) for r in task.train[:HYPS_FAST].tolist()]
        t0 = time.perf_counter()
        scorer = BleuScorer(refs)
        t_tables = time.perf_counter() - t0
        t0 = time.perf_counter()
        fast = mean_bleu(hyps, scorer, (4,))[4]
        t_fast = (time.perf_counter() - t0) / len(hyps)
        t0 = time.perf_counter()
        slow = [
            sentence_bleu(refs, h, weights=(0.25,) * 4, smoothing_function=smooth)
            for h in hyps[:HYPS_NLTK]
        ]
        t_nltk = (time.perf_counter() - t0) / HYPS_NLTK
        check = mean_bleu(hyps[:HYPS_NLTK], scorer, (4,))[4]
        assert abs(check - sum(slow) / len(slow)) < 1e-12, (check, sum(slow) / len(slow))
        t0 = time.perf_counter()
        self_bleu(hyps[:500], (4,))
        t_self = time.perf_counter() - t0
        name = config.split("/")[-1]
        rows.append(
            [name, f"{len(refs):,}", f"{t_nltk * 1e3:.1f} ms", f"{t_fast * 1e6:.0f} µs",
             f"{t_nltk / t_fast:,.0f}x", f"{t_tables:.2f} s", f"{t_self:.2f} s", f"{fast:.4f}"]
        )  # fmt: skip
        print(rows[-1], flush=True)
    common.append_table(
        args.out,
        common.command("python benchmarks/bench_bleu.py", argv),
        f"nltk {nltk.__version__}. BLEU-4 per hypothesis against the whole test split: nltk's "
        f"`sentence_bleu` (on {HYPS_NLTK} hypotheses) vs the reference tables (on {HYPS_FAST}); "
        "the numbers agree to 1e-12. Tables: building them once per run. Self-BLEU: 500 "
        "samples against each other (tables included).",
        ["config", "references", "nltk per hypothesis", "fast per hypothesis", "speed-up",
         "tables", "self-BLEU-4 of 500", "BLEU-4 (train vs test)"],
        rows,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
