"""Evaluation metrics: NLLs (every task) and the music MSE; BLEU lives in bleu.py.

NLL-oracle (the paper's Eq. 13 as the official ``target_loss`` computes it): mean
per-token NLL, in nats, of the generator's samples under the oracle. NLL-test: the
generator's mean per-token NLL on held-out oracle samples. Logged together because
NLL-oracle alone rewards mode collapse (a generator that emits one likely sequence
scores well on it and terribly on NLL-test).
"""

from __future__ import annotations

import torch

from ..models import LSTMPolicy


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
def per_sequence_nll(model: LSTMPolicy, seqs: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Mean per-token NLL of each sequence (n, T) -> (n,), in chunks: the (B, T, V)
    log-probabilities of 100,000 samples at V = 5,000 would need 40 GB at once."""
    parts = [
        -model.token_log_probs(chunk.to(model.device)).double().mean(dim=1).cpu()
        for chunk in seqs.split(batch_size)
    ]
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64)


@torch.no_grad()
def nearest_mse(samples: torch.Tensor, references: torch.Tensor, chunk: int = 1024) -> float:
    """Music MSE: for each sample (n, T), the mean squared pitch difference to its closest
    reference (m, T), averaged over samples.

    The paper reports an MSE between generated and human music without its formula; this
    nearest-neighbour form is ours (docs/results.md). Pitches are token values (semitones
    1..88, rest 0). Computed as |a|^2 + |b|^2 - 2 a.b with one float64 GEMM per chunk of
    samples (exact in float64 for integer pitches), not an (n, m, T) difference tensor.
    """
    refs = references.double()  # (m, T)
    ref_sq = refs.square().sum(dim=1)  # (m,)
    best = []
    for part in samples.double().split(chunk):  # (c, T)
        d = part.square().sum(dim=1, keepdim=True) + ref_sq - 2.0 * (part @ refs.T)  # (c, m)
        best.append(d.min(dim=1).values / samples.shape[1])
    return torch.cat(best).mean().item()
