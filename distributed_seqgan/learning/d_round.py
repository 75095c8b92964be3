"""D's update step and its retraining round (``d_epochs`` passes over positives +
negatives in whole batches, the official ``dis_dataloader``), with one host sync per
round and, on CUDA, one graph replay per pass (``captured.py``).

Dropout under capture draws from the CUDA generator's Philox stream, which a replay reads
at replay time, so the round's keyed ``torch.manual_seed`` still decides the masks.
"""

from __future__ import annotations

import torch

from ..models import Discriminator
from .captured import CapturedPasses


class DRound(CapturedPasses):
    """D's steps for one learner; :attr:`sums` are (loss sum, correct predictions)."""

    def __init__(
        self, discriminator: Discriminator, opt: torch.optim.Optimizer, bf16: bool, graphs: bool
    ) -> None:
        device = next(discriminator.parameters()).device
        sums = (
            torch.zeros((), dtype=torch.float64, device=device),
            torch.zeros((), dtype=torch.int64, device=device),
        )
        super().__init__(device, graphs, sums)
        self.discriminator, self.opt, self.bf16 = discriminator, opt, bf16

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """One D update on a batch x (B, T), labels y (B,); adds the loss and the number of
        correct predictions to :attr:`sums` and returns the loss (a device scalar: no sync).

        Under bf16 autocast when asked (weights and Adam stay fp32); autocast's weight-cast
        cache is off, as graph capture needs, which changes no values.
        """
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16,
                            cache_enabled=False):  # fmt: skip
            logits = self.discriminator(x)  # (B, 2)
        loss = self.discriminator.loss(logits, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        loss_sum, correct = self.sums
        loss_sum.add_(loss.detach().double())
        correct.add_((logits.detach().argmax(1) == y).sum())
        return loss.detach()
