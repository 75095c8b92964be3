"""Every fast path against the plain formulation it replaces, on random inputs of
several shapes."""

from __future__ import annotations

import pytest
import torch

from distributed_seqgan.models import LSTMPolicy
from distributed_seqgan.models.linear_nll import CHUNK_ROWS, linear_weighted_nll


def _plain_weighted_nll(
    model: LSTMPolicy, seqs: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    logp = torch.log_softmax(model(seqs), dim=-1).gather(-1, seqs.unsqueeze(-1)).squeeze(-1)
    return -(logp * weights).sum()


@pytest.mark.parametrize(
    ("vocab", "batch", "seq_len"),
    [(7, 3, 4), (300, 16, 20), (5000, 64, 20), (50, CHUNK_ROWS // 8 + 3, 8)],
)
def test_fused_weighted_nll_matches_autograd(vocab, batch, seq_len):
    g = torch.Generator().manual_seed(vocab + batch)
    model = LSTMPolicy(vocab, 8, 16, seq_len)
    model.reset_parameters_normal(0.5, g)
    seqs = torch.randint(0, vocab, (batch, seq_len), generator=g)
    weights = torch.randn(batch, seq_len, generator=g)  # rewards may have any sign
    params = [p for p in model.parameters() if p.requires_grad]

    fast = model.weighted_nll(seqs, weights)
    fast_grads = torch.autograd.grad(fast * 1.7, params)  # non-unit upstream gradient
    plain = _plain_weighted_nll(model, seqs, weights)
    plain_grads = torch.autograd.grad(plain * 1.7, params)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-4)
    for a, b in zip(fast_grads, plain_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_fused_weighted_nll_without_grad():
    lin = torch.nn.Linear(4, 9)
    h, t = torch.randn(5, 4), torch.randint(0, 9, (5,))
    with torch.no_grad():
        got = linear_weighted_nll(h, lin, t, torch.ones(5))
        want = torch.nn.functional.cross_entropy(lin(h), t, reduction="sum")
    torch.testing.assert_close(got, want)
