"""Tasks and their evaluation: where the positives and the test set come from, and how
generated samples score.

- ``synthetic``: the oracle LSTM makes the data; NLL-oracle and NLL-test (paper Table 1).
- ``text``: any line-per-sample file (Obama speeches, Chinese poems, your own corpus);
  BLEU-2..5 against the whole test set, self-BLEU-2..5, NLL-test (paper Tables 2-3).
- ``music``: Nottingham melodies as pitch tokens; the same plus MSE (paper Table 4).

A task is registered in :data:`TASKS` (one line) and owns its config rules and defaults in
its module.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from ..config import Config
from ..errors import ConfigError, DataError, UserError
from . import music, synthetic, text
from .base import Task, TaskKind, whole_batches

TASKS: dict[str, TaskKind] = {
    "synthetic": synthetic.KIND,
    "text": text.KIND,
    "music": music.KIND,
}

__all__ = ["TASKS", "Task", "TaskKind", "build_task", "check_task", "rebuild_task", "whole_batches"]


def check_task(cfg: Config) -> TaskKind:
    """The registered task ``cfg.task`` names, after its own config rules have passed."""
    kind = TASKS.get(cfg.task)
    if kind is None:
        close = difflib.get_close_matches(cfg.task, list(TASKS), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"task: unknown task {cfg.task!r} (known: {', '.join(TASKS)}){hint}")
    kind.check(cfg)
    return kind


def build_task(cfg: Config) -> tuple[Task, Config]:
    """The task a config names, and the config with what the data decides filled in
    (``generator.vocab_size`` for text and music), validated again."""
    task, cfg = check_task(cfg).build(cfg)
    cfg = cfg.validate()
    if len(task.train) < cfg.schedule.batch_size:
        raise DataError(
            f"{len(task.train)} training samples, fewer than one batch "
            f"(schedule.batch_size {cfg.schedule.batch_size})"
        )
    return task, cfg


def rebuild_task(run_dir: Path, cfg: Config) -> Task:
    """The task of an existing run, from its config: the split and vocabulary are seeded, so
    it is the same data, and data that no longer gives the run's vocabulary is an error,
    not a silent mismatch."""
    task, rebuilt = build_task(cfg)
    if rebuilt.generator.vocab_size != cfg.generator.vocab_size or not task.matches_saved(run_dir):
        raise UserError(
            f"{run_dir}: the data no longer gives the run's vocabulary; was it changed?"
        )
    return task
