"""Scoring a finished run: a checkpoint's generator, or the real data as a reference row.

Used by ``seqgan sample`` and ``seqgan eval``. The task is rebuilt from the run's config
(:func:`~distributed_seqgan.tasks.rebuild_task`), so it is the same data.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import Config, load_config
from ..data.text import Vocab
from ..errors import UserError
from ..infra import checkpoint
from ..infra.memory import check_samples
from ..models import LSTMPolicy
from ..models.build import build_generator
from ..seeding import generator as keyed_generator
from ..seeding import uniforms
from . import rebuild_task
from .base import Task


def load_generator(run: Path, name: str) -> tuple[Config, LSTMPolicy]:
    """The run's config and the generator of checkpoint ``name`` (latest | pretrained | mle)."""
    cfg = load_config(run / "config.yaml")
    state = checkpoint.load(run / "checkpoints" / f"{name}.pt")
    gen = build_generator(cfg)
    checkpoint.restore(gen, state["learner"].get("generator"), f"{name}.pt's generator")
    return cfg, gen.eval()


@torch.no_grad()
def generate(gen: LSTMPolicy, n: int, seed: int, stream: str = "cli-sample") -> torch.Tensor:
    return gen.sample(uniforms((n, gen.seq_len), seed, stream))  # (n, T)


def render(run: Path, seqs: torch.Tensor, ids: bool = False) -> list[str]:
    """Samples (n, T) as lines: decoded text where the run has a vocabulary (unless
    ``ids``), else token ids."""
    vocab_file = run / "vocab.json"
    if vocab_file.is_file() and not ids:
        vocab = Vocab.load(vocab_file)
        return [vocab.decode(row) for row in seqs.tolist()]
    return [" ".join(map(str, row)) for row in seqs.tolist()]


def evaluate_checkpoint(run: Path, name: str, n: int | None, seed: int) -> dict[str, float]:
    """The task's metrics of ``n`` fresh samples (default schedule.generated_num)."""
    cfg, gen = load_generator(run, name)
    n = cfg.schedule.generated_num if n is None else n
    if n < 2:
        raise UserError("-n must be >= 2")
    check_samples(n, gen.seq_len)
    task = rebuild_task(run, cfg)
    return {"samples": n, **task.evaluate(generate(gen, n, seed, "cli-eval"), gen)}


def evaluate_real_data(task: Task, n: int, seed: int) -> dict[str, float]:
    """The same metrics for ``n`` training samples (no generator: no NLL-test): the level a
    perfect generator would reach, the paper's "real data" row."""
    pick = torch.randperm(len(task.train), generator=keyed_generator(seed, "real-data"))[:n]
    return {"samples": len(pick), **task.evaluate(task.train[pick], None)}
