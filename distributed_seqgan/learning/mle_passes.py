"""G's teacher-forced MLE step and epoch, with one host sync per epoch and, on CUDA, one
graph replay per epoch (``captured.py``). No random draw happens in a step, so a replayed
epoch does the eager epoch's arithmetic."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..models import LSTMPolicy
from .captured import CapturedPasses


class MLEPasses(CapturedPasses):
    """MLE steps for one learner; :attr:`sums` is (loss sum,). ``update`` applies one
    optimizer step for a loss (backward, clipping, Adam: ``Learner._g_update``)."""

    def __init__(
        self, generator: LSTMPolicy, update: Callable[[torch.Tensor], None], graphs: bool
    ) -> None:
        device = generator.device
        super().__init__(device, graphs, (torch.zeros((), dtype=torch.float64, device=device),))
        self.generator, self.update = generator, update

    def step(self, batch: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """One MLE update on batch (B, T): every token weighted 1 / (B T)."""
        weights = torch.full(batch.shape, 1.0 / batch.numel(), device=batch.device)  # (B, T)
        loss = self.generator.weighted_nll(batch, weights)
        self.update(loss)
        self.sums[0].add_(loss.detach().double())
        return loss.detach()
