"""Tasks: where the positives and the test set come from, and how generated samples score.

The adversarial loop is the same for every task; a task only supplies data and metrics:
- ``synthetic``: the oracle LSTM makes the data; NLL-oracle and NLL-test (paper Table 1).
- ``text``: any line-per-sample file (Obama speeches, Chinese poems, your own corpus);
  BLEU-2..5 against the whole test set, self-BLEU-2..5, NLL-test (paper Tables 2-3).
- ``music``: Nottingham melodies as pitch tokens; the same plus MSE (paper Table 4).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import torch

from .bleu import BleuScorer, mean_bleu, self_bleu
from .config import Config, EvalConfig
from .data import music, text
from .data.registry import REGISTRY, resolve
from .data.synthetic import build_oracle
from .errors import ConfigError, DataError
from .factory import resolve_device
from .metrics import mean_nll, nearest_mse
from .models import LSTMPolicy
from .seeding import uniforms

BLEU_ORDERS = (2, 3, 4, 5)
TEXT_CORPORA = ("obama", "chinese-poems")
MUSIC_CORPORA = ("nottingham-mat",)


def whole_batches(n: int, batch_size: int) -> int:
    """The official ``int(n / batch_size) * batch_size`` (10,000 -> 9,984 at batch 64)."""
    return (n // batch_size) * batch_size


class Task(ABC):
    train: torch.Tensor  # (n_train, T) int64: the positives
    test: torch.Tensor  # (n_test, T) int64: held out, for NLL-test (and BLEU references)

    @abstractmethod
    def evaluate(self, samples: torch.Tensor, generator: LSTMPolicy | None) -> dict[str, float]:
        """Metrics of samples (n, T) and, when given, of the generator itself (NLL-test)."""

    @abstractmethod
    def summary(self) -> str:
        """One line for the run log: what the data is."""

    def save(self, run_dir: Path) -> None:  # noqa: B027 - an optional hook, no-op by default
        """Writes what ``seqgan sample`` needs besides the checkpoint (e.g. the vocabulary)."""


class SyntheticTask(Task):
    def __init__(self, cfg: Config, oracle: LSTMPolicy) -> None:
        self.cfg, self.oracle = cfg, oracle
        bs = cfg.schedule.batch_size
        self.train = self._oracle_samples(whole_batches(cfg.data.num_positive, bs), "positives")
        self.test = self._oracle_samples(whole_batches(cfg.data.num_test, bs), "test")

    def _oracle_samples(self, n: int, stream: str) -> torch.Tensor:
        u = uniforms((n, self.cfg.generator.seq_len), self.cfg.seed, f"oracle/{stream}")
        return self.oracle.sample(u).cpu()  # (n, T)

    def evaluate(self, samples: torch.Tensor, generator: LSTMPolicy | None) -> dict[str, float]:
        out = {"nll_oracle": mean_nll(self.oracle, samples)}
        if generator is not None:
            out["nll_test"] = mean_nll(generator, self.test)
        return out

    def summary(self) -> str:
        return (
            f"oracle: {len(self.train)} positives, {len(self.test)} test sequences; oracle NLL "
            f"on its own test samples {mean_nll(self.oracle, self.test):.4f}"
        )


class CorpusTask(Task):
    """A text or music corpus: BLEU against the whole test set, self-BLEU, NLL-test (+ MSE)."""

    def __init__(
        self,
        name: str,
        train: torch.Tensor,
        test: torch.Tensor,
        references: Sequence[Sequence[Hashable]],
        to_tokens: Callable[[list[int]], list[Hashable]],
        eval_cfg: EvalConfig,
        with_mse: bool = False,
        vocab: text.Vocab | None = None,
        notes: str = "",
    ) -> None:
        self.name, self.train, self.test = name, train, test
        self.to_tokens, self.eval_cfg, self.with_mse = to_tokens, eval_cfg, with_mse
        self.vocab, self.notes = vocab, notes
        self.references = references  # the test split as tokens
        self.scorer = BleuScorer(references, max(BLEU_ORDERS))

    def evaluate(self, samples: torch.Tensor, generator: LSTMPolicy | None) -> dict[str, float]:
        e = self.eval_cfg
        hyps = [self.to_tokens(row) for row in samples[: e.bleu_samples].tolist()]
        own = [self.to_tokens(row) for row in samples[: e.self_bleu_samples].tolist()]
        out = {f"bleu{n}": v for n, v in mean_bleu(hyps, self.scorer, BLEU_ORDERS).items()}
        if len(own) >= 2:
            out |= {f"self_bleu{n}": v for n, v in self_bleu(own, BLEU_ORDERS).items()}
        if generator is not None:
            out["nll_test"] = mean_nll(generator, self.test)
        if self.with_mse:
            out["mse"] = nearest_mse(samples, self.test)  # all samples: rests make outliers
        return out

    def summary(self) -> str:
        vocab = f", vocabulary {len(self.vocab)}" if self.vocab is not None else ""
        return f"{self.name}: {len(self.train)} train, {len(self.test)} test samples{vocab}{self.notes}"

    def save(self, run_dir: Path) -> None:
        if self.vocab is not None:
            self.vocab.save(run_dir / "vocab.json")


def _corpus_path(cfg: Config, allowed: tuple[str, ...]) -> Path:
    d = cfg.data
    if d.path is not None:
        return Path(d.path).expanduser()
    name = d.corpus or allowed[0]
    if name not in allowed:
        known = ", ".join(allowed)
        hint = " (or data.path for your own file)" if cfg.task == "text" else ""
        raise ConfigError(
            f"data.corpus: unknown corpus {name!r} for task {cfg.task}; known: {known}{hint}"
        )
    assert name in REGISTRY
    return resolve(name, d.dir)


def _text_task(cfg: Config) -> tuple[CorpusTask, int]:
    d = cfg.data
    path = _corpus_path(cfg, TEXT_CORPORA)
    spec = text.CorpusSpec(
        tokenizer=d.tokenizer, lowercase=d.lowercase, seq_len=cfg.generator.seq_len,
        long_lines=d.long_lines, drop_patterns=d.drop_patterns, max_lines=d.max_lines,
        min_count=d.min_count, max_vocab=d.max_vocab, test_fraction=d.test_fraction,
    )  # fmt: skip
    corpus = text.encode_corpus(path, spec, cfg.seed)
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(corpus.dropped.items()))
    task = CorpusTask(
        f"text {path.name}", corpus.train, corpus.test, corpus.references,
        corpus.vocab.decode_tokens, cfg.eval, vocab=corpus.vocab,
        notes=f"; lines left out or cut: {dropped}" if dropped else "",
    )  # fmt: skip
    return task, len(corpus.vocab)


def _music_task(cfg: Config) -> tuple[CorpusTask, int]:
    path = _corpus_path(cfg, MUSIC_CORPORA)
    splits = music.load_splits(path, cfg.generator.seq_len, cfg.data.max_lines)
    refs = splits["test"].tolist()
    task = CorpusTask(
        f"music {path.name}", splits["train"], splits["test"], refs, list, cfg.eval,
        with_mse=True, notes=" (melody = highest key per step, 0 = rest)",
    )  # fmt: skip
    return task, music.VOCAB_SIZE


def build_task(cfg: Config) -> tuple[Task, Config]:
    """The task a config names, and the config with what the data decides filled in
    (``generator.vocab_size`` for text and music)."""
    if cfg.task == "synthetic":
        g, o = cfg.generator, cfg.oracle
        oracle = build_oracle(
            o.kind, g.vocab_size, o.emb_dim, o.hidden_dim, g.seq_len, o.seed, g.start_token,
            cfg.data.dir,
        ).to(resolve_device(cfg.run.device))  # fmt: skip
        return SyntheticTask(cfg, oracle), cfg
    task, vocab_size = _text_task(cfg) if cfg.task == "text" else _music_task(cfg)
    cfg = dataclasses.replace(
        cfg, generator=dataclasses.replace(cfg.generator, vocab_size=vocab_size)
    ).validate()
    if len(task.train) < cfg.schedule.batch_size:
        raise DataError(
            f"{len(task.train)} training samples, fewer than one batch "
            f"(schedule.batch_size {cfg.schedule.batch_size})"
        )
    return task, cfg
