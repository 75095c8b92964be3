"""What a task is: a training set, a test set, and the metrics of generated samples.

The adversarial loop is the same for every task; a task only supplies data and metrics.
Each task module registers a :class:`TaskKind` in ``tasks/__init__.py``: its own config
rules and how to build it, so adding a task touches that module and one registry line.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import Config
from ..errors import ConfigError
from ..models import LSTMPolicy


def whole_batches(n: int, batch_size: int) -> int:
    """The official ``int(n / batch_size) * batch_size`` (10,000 -> 9,984 at batch 64)."""
    return (n // batch_size) * batch_size


def check_no_test_path(cfg: Config, why: str) -> None:
    """Tasks whose test set is fixed by their data refuse ``data.test_path``."""
    if cfg.data.test_path is not None:
        raise ConfigError(f"data.test_path: task {cfg.task} {why}; only task text takes one")


class Task(ABC):
    train: torch.Tensor  # (n_train, T) int64: the positives
    test: torch.Tensor  # (n_test, T) int64: held out, for NLL-test (and BLEU references)

    @abstractmethod
    def evaluate(self, samples: torch.Tensor, generator: LSTMPolicy | None) -> dict[str, float]:
        """Metrics of samples (n, T) and, when given, of the generator itself (NLL-test)."""

    def eval_samples(self, n_generated: int) -> int:
        """How many generated samples an evaluation needs (drawing costs time): by default
        ``schedule.generated_num`` in whole batches, as the official NLL-oracle."""
        return n_generated

    @abstractmethod
    def summary(self) -> str:
        """One line for the run log: what the data is."""

    def save(self, run_dir: Path) -> None:  # noqa: B027 - an optional hook, no-op by default
        """Writes what ``seqgan sample`` needs besides the checkpoint (e.g. the vocabulary)."""

    def matches_saved(self, run_dir: Path) -> bool:
        """Whether this task, rebuilt from a run's config, still is the run's task (e.g. the
        data gives the saved vocabulary again)."""
        return True


@dataclass(frozen=True)
class TaskKind:
    """A registered task."""

    check: Callable[[Config], None]
    """The task's own config rules; raises ConfigError. Runs before any data is read."""
    build: Callable[[Config], tuple[Task, Config]]
    """The task, and the config with what the data decides filled in (``generator.vocab_size``
    for corpora)."""
    data_keys: tuple[str, ...] = ()
    """The flattened config keys ``build`` fills in from the data: they change with the
    seeded split, so runs that differ only in them are seeds of one experiment."""
