"""The text task (paper Tables 2-3): any line-per-sample UTF-8 file, tokenized and split as
``data`` says; the vocabulary, and so ``generator.vocab_size``, comes from the data."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from ..config import Config
from ..data import text
from ..errors import ConfigError
from .base import Task, TaskKind
from .corpus import CorpusTask, check_corpus, corpus_path

CORPORA = ("obama", "chinese-poems")


def check(cfg: Config) -> None:
    d = cfg.data
    if (d.corpus is None) == (d.path is None):
        raise ConfigError("task text needs exactly one of data.corpus and data.path")
    check_corpus(cfg, CORPORA, " (or data.path for your own file)")
    for pattern in d.drop_patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"data.drop_patterns: bad regex {pattern!r}: {exc}") from None


def build(cfg: Config) -> tuple[Task, Config]:
    d = cfg.data
    path = corpus_path(cfg, CORPORA)
    spec = text.CorpusSpec(
        tokenizer=d.tokenizer, lowercase=d.lowercase, seq_len=cfg.generator.seq_len,
        long_lines=d.long_lines, drop_patterns=d.drop_patterns, max_lines=d.max_lines,
        min_count=d.min_count, max_vocab=d.max_vocab, test_fraction=d.test_fraction,
    )  # fmt: skip
    test_path = Path(d.test_path).expanduser() if d.test_path is not None else None
    corpus = text.encode_corpus(path, spec, cfg.seed, test_path)
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(corpus.dropped.items()))
    notes = f"; lines left out or cut: {dropped}" if dropped else ""
    if test_path is not None:
        share = corpus.test_unknown / max(corpus.test_tokens, 1)
        notes += (
            f"; test file {test_path.name}: {corpus.test_unknown} of {corpus.test_tokens} "
            f"tokens ({share:.2%}) outside the training vocabulary, encoded as <unk>"
        )
    task = CorpusTask(
        f"text {path.name}", corpus.train, corpus.test, corpus.references,
        corpus.vocab.decode_tokens, cfg.eval, vocab=corpus.vocab, notes=notes,
        test_unknown=corpus.test_unknown, seed=cfg.seed,
    )  # fmt: skip
    generator = dataclasses.replace(cfg.generator, vocab_size=len(corpus.vocab))
    return task, dataclasses.replace(cfg, generator=generator)


KIND = TaskKind(check, build, data_keys=("generator.vocab_size",))
