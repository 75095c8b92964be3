"""Evaluation metrics for the synthetic task.

NLL-oracle (the paper's Eq. 13 as the official ``target_loss`` computes it): mean
per-token NLL, in nats, of the generator's samples under the oracle. NLL-test: the
generator's mean per-token NLL on held-out oracle samples. Logged together because
NLL-oracle alone rewards mode collapse (a generator that emits one likely sequence
scores well on it and terribly on NLL-test).
"""

from __future__ import annotations

import torch

from .models import LSTMPolicy


@torch.no_grad()
def mean_nll(model: LSTMPolicy, seqs: torch.Tensor, batch_size: int = 1024) -> float:
    """Mean per-token NLL (nats) of seqs (n, T) under ``model``."""
    was_training = model.training
    model.eval()
    total = 0.0
    for chunk in seqs.split(batch_size):
        chunk = chunk.to(model.device)
        total += model.weighted_nll(chunk, torch.ones(chunk.shape, device=model.device)).item()
    model.train(was_training)
    return total / seqs.numel()


@torch.no_grad()
def per_sequence_nll(model: LSTMPolicy, seqs: torch.Tensor) -> torch.Tensor:
    """Mean per-token NLL of each sequence (n, T) -> (n,)."""
    return -model.token_log_probs(seqs.to(model.device)).double().mean(dim=1).cpu()
