"""Scoring a finished run: a checkpoint's generator, or the real data as a reference row.

Used by ``seqgan eval`` and ``scripts/report_tasks.py`` (docs/results.md). The task is
rebuilt from the run's config: the split and vocabulary are seeded, so it is the same data,
and a vocabulary that no longer matches the saved one is an error, not a silent mismatch.
"""

from __future__ import annotations

from pathlib import Path

import torch

from . import checkpoint
from .config import Config, load_config
from .data.text import Vocab
from .errors import UserError
from .factory import build_generator
from .models import LSTMPolicy
from .seeding import generator as keyed_generator
from .seeding import uniforms
from .tasks import Task, build_task


def load_generator(run: Path, name: str) -> tuple[Config, LSTMPolicy]:
    """The run's config and the generator of checkpoint ``name`` (latest | pretrained | mle)."""
    cfg = load_config(run / "config.yaml")
    state = checkpoint.load(run / "checkpoints" / f"{name}.pt")
    gen = build_generator(cfg)
    gen.load_state_dict(state["learner"]["generator"])
    return cfg, gen.eval()


def load_task(run: Path, cfg: Config) -> Task:
    task, rebuilt = build_task(cfg)
    same_vocab = rebuilt.generator.vocab_size == cfg.generator.vocab_size
    if cfg.task == "text":
        same_vocab = same_vocab and Vocab.load(run / "vocab.json") == getattr(task, "vocab", None)
    if not same_vocab:
        raise UserError(f"{run}: the data no longer gives the run's vocabulary; was it changed?")
    return task


@torch.no_grad()
def generate(gen: LSTMPolicy, n: int, seed: int, stream: str = "cli-sample") -> torch.Tensor:
    return gen.sample(uniforms((n, gen.seq_len), seed, stream))  # (n, T)


def render(run: Path, cfg: Config, seqs: torch.Tensor, ids: bool = False) -> list[str]:
    """Samples (n, T) as lines: decoded text on text tasks (unless ``ids``), else token ids."""
    if cfg.task == "text" and not ids:
        vocab = Vocab.load(run / "vocab.json")
        return [vocab.decode(row) for row in seqs.tolist()]
    return [" ".join(map(str, row)) for row in seqs.tolist()]


def evaluate_checkpoint(run: Path, name: str, n: int | None, seed: int) -> dict[str, float]:
    """The task's metrics of ``n`` fresh samples (default schedule.generated_num)."""
    cfg, gen = load_generator(run, name)
    n = cfg.schedule.generated_num if n is None else n
    if n < 2:
        raise UserError("-n must be >= 2")
    task = load_task(run, cfg)
    return {"samples": n, **task.evaluate(generate(gen, n, seed, "cli-eval"), gen)}


def evaluate_real_data(task: Task, n: int, seed: int) -> dict[str, float]:
    """The same metrics for ``n`` training samples (no generator: no NLL-test): the level a
    perfect generator would reach, the paper's "real data" row."""
    pick = torch.randperm(len(task.train), generator=keyed_generator(seed, "real-data"))[:n]
    return {"samples": len(pick), **task.evaluate(task.train[pick], None)}
