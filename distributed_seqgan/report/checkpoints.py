"""Checkpoints scored again on fresh samples (text and music runs): the end of MLE
pretraining against the end of adversarial training, beside the real data scored the same
way (the paper's Tables 2-4), and a few decoded samples."""

from __future__ import annotations

from pathlib import Path

from ..runs.evaluation import (
    evaluate_checkpoint,
    evaluate_real_data,
    generate,
    load_generator,
    render,
)
from ..tasks import rebuild_task
from .tables import fmt

COLUMNS = ["bleu2", "bleu3", "bleu4", "bleu5", "self_bleu3", "self_bleu4", "nll_test", "mse"]


def checkpoint_section(run: Path, n: int | None, seed: int, show: int) -> list[str]:
    """Markdown: rows for checkpoints ``mle`` and ``latest`` and the real data, on the same
    number of samples with the same seed; then ``show`` samples of ``latest``."""
    cfg, gen = load_generator(run, "latest")
    task = rebuild_task(run, cfg)
    rows = {
        "MLE (checkpoint mle)": evaluate_checkpoint(run, "mle", n, seed),
        "after training (checkpoint latest)": evaluate_checkpoint(run, "latest", n, seed),
    }
    rows["real data (train samples)"] = evaluate_real_data(
        task, int(rows["MLE (checkpoint mle)"]["samples"]), seed
    )
    cols = [c for c in COLUMNS if any(c in r for r in rows.values())]
    # what each score reads: BLEU and self-BLEU score the first eval.bleu_samples and
    # eval.self_bleu_samples of the drawn samples, MSE (music) every one
    head = "| | samples drawn | BLEU on | self-BLEU on | "
    lines = [f"{task.summary()}", "", head + " | ".join(cols) + " |",
             "|---|---|---|---|" + "---|" * len(cols)]  # fmt: skip
    for name, r in rows.items():
        drawn = int(r["samples"])
        bleu_n, self_n = min(drawn, cfg.eval.bleu_samples), min(drawn, cfg.eval.self_bleu_samples)
        scores = " | ".join(fmt(r.get(c)) for c in cols)
        lines.append(f"| {name} | {drawn} | {bleu_n} | {self_n} | {scores} |")
    lines += ["", "Samples (checkpoint latest):", ""]
    lines += [f"- `{line}`" for line in render(run, generate(gen, show, seed + 1))]
    return lines
