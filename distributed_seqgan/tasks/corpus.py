"""What the text and music tasks share: a corpus file found through the data registry (or
a user's own path), and BLEU-2..5 against the whole test set, self-BLEU-2..5 and NLL-test
(paper Tables 2-4), with MSE on music."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import torch

from ..config import Config, EvalConfig
from ..data import text
from ..data.registry import resolve
from ..errors import ConfigError
from ..models import LSTMPolicy
from ..seeding import generator as keyed_generator
from .base import Task
from .bleu import BleuReferences, mean_bleu, self_bleu
from .metrics import mean_nll, nearest_mse

BLEU_ORDERS = (2, 3, 4, 5)


class CorpusTask(Task):
    """A text or music corpus: BLEU against the whole test set, self-BLEU, NLL-test (+ MSE)."""

    def __init__(
        self, name: str, train: torch.Tensor, test: torch.Tensor,
        references: Sequence[Sequence[Hashable]], to_tokens: Callable[[list[int]], list[Hashable]],
        eval_cfg: EvalConfig, with_mse: bool = False, vocab: text.Vocab | None = None,
        notes: str = "", test_unknown: int = 0, seed: int = 0,
    ) -> None:  # fmt: skip
        self.name, self.train, self.test = name, train, test
        # NLL-test reads a fixed seeded subset (eval.nll_test_samples), the same every time
        keep = eval_cfg.nll_test_samples
        if keep is None or keep >= len(test):
            self.nll_test_set = test
        else:
            pick = torch.randperm(len(test), generator=keyed_generator(seed, "nll-test-subset"))
            self.nll_test_set = test[pick[:keep].sort().values]  # (keep, T)
        self.to_tokens, self.eval_cfg, self.with_mse = to_tokens, eval_cfg, with_mse
        self.vocab, self.notes = vocab, notes
        self.test_unknown = test_unknown  # test tokens encoded as <unk> (a fixed test file)
        self.references = references  # the test split as tokens
        self.scorer = BleuReferences(references, max(BLEU_ORDERS))

    def evaluate(self, samples: torch.Tensor, generator: LSTMPolicy | None) -> dict[str, float]:
        e = self.eval_cfg
        hyps = [self.to_tokens(row) for row in samples[: e.bleu_samples].tolist()]
        own = [self.to_tokens(row) for row in samples[: e.self_bleu_samples].tolist()]
        out = {f"bleu{n}": v for n, v in mean_bleu(hyps, self.scorer, BLEU_ORDERS).items()}
        if len(own) >= 2:
            out |= {f"self_bleu{n}": v for n, v in self_bleu(own, BLEU_ORDERS).items()}
        if generator is not None:
            out["nll_test"] = mean_nll(generator, self.nll_test_set)
        if self.with_mse:
            out["mse"] = nearest_mse(samples, self.test)  # all samples: rests make outliers
        return out

    def eval_samples(self, n_generated: int) -> int:
        """BLEU and self-BLEU score the first ``eval.bleu_samples`` and
        ``eval.self_bleu_samples`` samples; MSE (music) every one of ``n_generated``."""
        if self.with_mse:
            return n_generated
        return min(n_generated, max(self.eval_cfg.bleu_samples, self.eval_cfg.self_bleu_samples))

    def summary(self) -> str:
        vocab = f", vocabulary {len(self.vocab)}" if self.vocab is not None else ""
        nll = len(self.nll_test_set)
        subset = f" (NLL-test on a fixed {nll} of them)" if nll < len(self.test) else ""
        return (
            f"{self.name}: {len(self.train)} train, {len(self.test)} test samples{subset}"
            f"{vocab}{self.notes}"
        )

    def save(self, run_dir: Path) -> None:
        if self.vocab is not None:
            self.vocab.save(run_dir / "vocab.json")

    def matches_saved(self, run_dir: Path) -> bool:
        return self.vocab is None or text.Vocab.load(run_dir / "vocab.json") == self.vocab


def check_corpus(cfg: Config, known: tuple[str, ...], own_file_hint: str = "") -> None:
    """``data.corpus`` must be one of ``known`` (None: the first) unless ``data.path`` is set."""
    if cfg.data.path is None and cfg.data.corpus not in (None, *known):
        raise ConfigError(
            f"data.corpus: unknown corpus {cfg.data.corpus!r} for task {cfg.task}; "
            f"known: {', '.join(known)}{own_file_hint}"
        )


def corpus_path(cfg: Config, known: tuple[str, ...]) -> Path:
    """The file to read: ``data.path``, else the registry's copy of ``data.corpus``."""
    if cfg.data.path is not None:
        return Path(cfg.data.path).expanduser()
    return resolve(cfg.data.corpus or known[0], cfg.data.dir)
