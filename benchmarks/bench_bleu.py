"""BLEU speed: nltk's sentence_bleu against the fast reference tables
(distributed_seqgan.tasks.bleu), on the poems and Obama test splits of the CPU configs, and
the PG-BLEU baseline's reward of one rollout batch; appends two tables to
docs/benchmark-log.md.

    SEQGAN_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_bleu.py [--out FILE]

Both score the same hypotheses (training samples) against the whole test split; the script
also checks that the numbers agree.
"""

from __future__ import annotations

import sys
import time
import warnings

import nltk
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from distributed_seqgan.acting.rollout import complete_prefixes
from distributed_seqgan.acting.scoring import BleuReward as RewardScorer
from distributed_seqgan.acting.scoring import reference_subset
from distributed_seqgan.bench import common
from distributed_seqgan.config import load_config
from distributed_seqgan.learning.learner import Learner
from distributed_seqgan.seeding import uniforms
from distributed_seqgan.tasks import build_task
from distributed_seqgan.tasks.bleu import BleuReferences, mean_bleu, self_bleu

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
        scorer = BleuReferences(refs)
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
    pg_bleu_reward_batch(args.out, argv)
    return 0


def pg_bleu_reward_batch(out: str, argv: list[str]) -> None:
    """The PG-BLEU baseline's reward of one rollout batch (configs/baselines/pg_bleu.yaml):
    BLEU-3 without smoothing of every completion against 40% of the positives, by the
    engine's scorer (tables built once) and by nltk per completion (as the official code)."""
    cfg = load_config("configs/baselines/pg_bleu.yaml")
    task, cfg = build_task(cfg)
    refs = reference_subset(task.train, cfg.seed)
    learner = Learner(cfg)
    s, t = cfg.schedule, cfg.generator.seq_len
    samples = learner.sample(uniforms((s.batch_size, t), cfg.seed, "bench-samples"))  # (B, T)
    u = uniforms((s.rollout_num, t - 1, s.batch_size, t), cfg.seed, "bench-rollouts")
    done = complete_prefixes(learner.generator, samples, u)  # (T-1, R, B, T)
    t0 = time.perf_counter()
    scorer = RewardScorer(refs)
    t_tables = time.perf_counter() - t0
    t_batch = common.median_time(lambda: scorer(samples, done), 3)
    rows_all = done.reshape(-1, t).tolist() + samples.tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nltk warns on every zero n-gram count
        t0 = time.perf_counter()
        slow = [sentence_bleu(refs, h, weights=(1 / 3,) * 3) for h in rows_all[:HYPS_NLTK]]
        t_nltk = (time.perf_counter() - t0) / HYPS_NLTK
    fast = [scorer.tables.scores(h, (3,), smoothing=False)[3] for h in rows_all[:HYPS_NLTK]]
    assert max(abs(a - b) for a, b in zip(fast, slow, strict=True)) < 1e-12
    n = len(rows_all)
    row = [f"{n:,} sequences, {len(refs):,} references", f"{t_nltk * 1e3:.1f} ms",
           f"{t_nltk * n:.1f} s", f"{t_batch:.3f} s", f"{t_nltk * n / t_batch:,.0f}x",
           f"{t_tables:.2f} s"]  # fmt: skip
    print(row, flush=True)
    common.append_table(
        out,
        common.command("python benchmarks/bench_bleu.py", argv),
        f"PG-BLEU reward of one rollout batch ({s.batch_size} samples x {s.rollout_num} "
        f"rollout, `configs/baselines/pg_bleu.yaml`): BLEU-3 without smoothing of every "
        f"completion and sample against 40% of the positives. nltk timed on {HYPS_NLTK} "
        "sequences and scaled; the two agree to 1e-12. Tables: built once per run (per worker).",
        ["batch", "nltk per sequence", "nltk per batch", "engine per batch", "speed-up", "tables"],
        [row],
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
