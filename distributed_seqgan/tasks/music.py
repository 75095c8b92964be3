"""The music task (paper Table 4): Nottingham melodies as pitch tokens (0 = rest, 1..88 =
piano keys), in windows of ``generator.seq_len`` steps; the text metrics plus MSE."""

from __future__ import annotations

import dataclasses

from ..config import Config
from ..data import music
from .base import Task, TaskKind, check_no_test_path
from .corpus import CorpusTask, check_corpus, corpus_path

CORPORA = ("nottingham-mat",)


def check(cfg: Config) -> None:
    check_corpus(cfg, CORPORA)
    check_no_test_path(cfg, "uses the Nottingham file's own test split")


def build(cfg: Config) -> tuple[Task, Config]:
    path = corpus_path(cfg, CORPORA)
    splits = music.load_splits(path, cfg.generator.seq_len, cfg.data.max_lines)
    task = CorpusTask(
        f"music {path.name}", splits["train"], splits["test"], splits["test"].tolist(), list,
        cfg.eval, with_mse=True, notes=" (melody = highest key per step, 0 = rest)",
        seed=cfg.seed,
    )  # fmt: skip
    generator = dataclasses.replace(cfg.generator, vocab_size=music.VOCAB_SIZE)
    return task, dataclasses.replace(cfg, generator=generator)


KIND = TaskKind(check, build, data_keys=("generator.vocab_size",))
