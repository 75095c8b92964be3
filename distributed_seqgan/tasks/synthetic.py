"""The synthetic task (paper Table 1): an oracle LSTM makes the data; NLL-oracle and NLL-test.

The official oracle (``oracle.kind: official``) has fixed sizes, so the generator must
match them; ``oracle.kind: tf`` is the official ``TARGET_LSTM`` as TF draws it at any op seed
(2126: the official arrays; other op seeds: the oracles other official scripts draw), and
``oracle.kind: random`` a seeded N(0, 1) LSTM of any size, for tests and experiments
without the data file.
"""

from __future__ import annotations

import torch

from ..config import Config
from ..data.synthetic import build_oracle
from ..errors import ConfigError
from ..models import LSTMPolicy
from ..models.build import resolve_device
from ..models.oracle import OFFICIAL_SHAPE
from ..seeding import uniforms
from .base import Task, TaskKind, check_no_test_path, whole_batches
from .metrics import mean_nll


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


def check(cfg: Config) -> None:
    check_no_test_path(cfg, "draws its test set from the oracle")
    if cfg.oracle.kind != "official":
        return
    g, o = cfg.generator, cfg.oracle
    for key in ("vocab_size", "seq_len"):
        want = getattr(OFFICIAL_SHAPE, key)
        if getattr(g, key) != want:
            raise ConfigError(
                f"generator.{key}={getattr(g, key)} does not fit the official oracle "
                f"({key}={want}); use oracle.kind=random for other sizes"
            )
    if (o.emb_dim, o.hidden_dim) != (OFFICIAL_SHAPE.emb_dim, OFFICIAL_SHAPE.hidden_dim):
        raise ConfigError(
            f"oracle.emb_dim/hidden_dim must be {OFFICIAL_SHAPE.emb_dim}/"
            f"{OFFICIAL_SHAPE.hidden_dim} for the official oracle"
        )


def build(cfg: Config) -> tuple[Task, Config]:
    g, o = cfg.generator, cfg.oracle
    oracle = build_oracle(
        o.kind, g.vocab_size, o.emb_dim, o.hidden_dim, g.seq_len, o.seed, g.start_token,
        cfg.data.dir,
    ).to(resolve_device(cfg.run.device, cfg.run.tf32))  # fmt: skip
    return SyntheticTask(cfg, oracle), cfg


KIND = TaskKind(check, build)
