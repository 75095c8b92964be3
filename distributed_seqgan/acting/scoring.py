"""Scorers of completed sequences: the reward seam of the rollout engine.

The rollout engine (``rollout.complete_prefixes``) completes every prefix of a batch; a
scorer turns the completions into rewards in [0, 1]. Rollouts, sharding, keyed randomness
and local == Ray do not know which scorer they feed:
- ``DiscriminatorScorer``: D's P(real), SeqGAN's reward (with prefix-window reuse and
  dedup, ``rollout.score_rollouts``);
- ``BleuReward``: BLEU of each completion against fixed references, the PG-BLEU
  baseline's reward (BLEU-3 without smoothing, as the official ``pg_bleu/``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch

from ..models.discriminator import Discriminator
from ..seeding import generator as keyed_generator
from ..tasks.bleu import BleuReferences
from .rollout import score_all, score_rollouts, unique_rows


class Scorer(Protocol):
    def __call__(
        self, samples: torch.Tensor, completions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """samples (B, T), completions (T-1, R, B, T) -> (scores (T-1, R, B), final (B,))."""
        ...


class DiscriminatorScorer:
    """D's P(real). On a CPU each distinct completion is scored once, with the conv windows
    inside its known prefix reused (``score_rollouts``, measured fastest there); on a GPU
    every completion is scored in one batch (``score_all``): dedup and reuse need
    data-dependent shapes, so host syncs, which cost a GPU more than the FLOPs they save.
    ``dense`` forces one or the other (None: by device)."""

    def __init__(self, disc: Discriminator, bf16: bool = False, dense: bool | None = None) -> None:
        self.disc, self.bf16, self.dense = disc, bf16, dense

    @torch.no_grad()
    def __call__(
        self, samples: torch.Tensor, completions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        dense = samples.device.type != "cpu" if self.dense is None else self.dense
        score = score_all if dense else score_rollouts
        # no weight-cast cache on a GPU: a CUDA graph may capture this call (graphed.py)
        with torch.autocast(samples.device.type, dtype=torch.bfloat16, enabled=self.bf16,
                            cache_enabled=not dense):  # fmt: skip
            return score(self.disc, samples, completions)  # (T-1, R, B), (B,)


class BleuReward:
    """BLEU-``order`` (weights 1/order, no smoothing) against ``references``, whose n-gram
    tables are built once (a worker builds them once per run)."""

    def __init__(self, references: Sequence[Sequence[int]], order: int = 3) -> None:
        self.tables, self.order = BleuReferences(references, order), order

    def __call__(
        self, samples: torch.Tensor, completions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b, seq_len = samples.shape
        rows = torch.cat([completions.reshape(-1, seq_len), samples]).cpu()  # (M0, T)
        uniq, inverse = unique_rows(rows)  # each distinct sequence scored once
        scores = torch.tensor(
            [
                self.tables.scores(r, (self.order,), smoothing=False)[self.order]
                for r in uniq.tolist()
            ],
            dtype=torch.float32,
        )[inverse]  # (M0,)
        return scores[:-b].view(completions.shape[:3]), scores[-b:]  # (T-1, R, B), (B,)


def reference_subset(train: torch.Tensor, seed: int, fraction: float = 0.4) -> list[list[int]]:
    """The PG-BLEU baseline's references: a fixed, seeded ``fraction`` of the positives
    (n, T), as token lists."""
    order = torch.randperm(len(train), generator=keyed_generator(seed, "pg-bleu-references"))
    return train[order[: max(1, int(fraction * len(train)))]].tolist()
