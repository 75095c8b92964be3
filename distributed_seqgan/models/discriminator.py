"""The CNN discriminator of the official code (``discriminator.py``, after Kim 2014).

embedding -> one convolution per filter size over whole embedding rows -> ReLU ->
max-pool over time -> concat -> one highway layer -> dropout -> linear to 2 classes
(index 1 = real). Rewards use the probability of "real" with no dropout, as the official
rollout feeds ``dropout_keep_prob: 1.0``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Discriminator(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        emb_dim: int,
        filter_sizes: tuple[int, ...],
        num_filters: tuple[int, ...],
        dropout: float,
        l2_reg: float,
    ) -> None:
        super().__init__()
        self.dropout = dropout
        self.l2_reg = l2_reg
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.convs = nn.ModuleList(
            nn.Conv1d(emb_dim, n, kernel_size=k)
            for k, n in zip(filter_sizes, num_filters, strict=True)
        )
        total = sum(num_filters)
        self.highway_lin = nn.Linear(total, total)
        self.highway_gate = nn.Linear(total, total)
        self.output = nn.Linear(total, 2)

    def reset_parameters_official(self, generator: torch.Generator | None = None) -> None:
        """The official initializers: U(-1, 1) embedding, truncated N(0, 0.1) convs and
        output with bias 0.1, and TF's default Glorot-uniform for the highway layer."""
        g = generator
        with torch.no_grad():
            self.embedding.weight.uniform_(-1.0, 1.0, generator=g)
            for conv in self.convs:
                nn.init.trunc_normal_(conv.weight, std=0.1, a=-0.2, b=0.2, generator=g)
                conv.bias.fill_(0.1)
            for lin in (self.highway_lin, self.highway_gate):
                n = lin.weight.shape[0]
                bound = math.sqrt(6.0 / (2 * n))
                lin.weight.uniform_(-bound, bound, generator=g)
                lin.bias.uniform_(-math.sqrt(3.0 / n), math.sqrt(3.0 / n), generator=g)
            nn.init.trunc_normal_(self.output.weight, std=0.1, a=-0.2, b=0.2, generator=g)
            self.output.bias.fill_(0.1)

    def features(self, seqs: torch.Tensor) -> torch.Tensor:
        """Max-pooled conv features after the highway layer: seqs (B, T) -> (B, F)."""
        emb = self.embedding(seqs).transpose(1, 2)  # (B, E, T)
        pooled = [F.relu(conv(emb)).amax(dim=2) for conv in self.convs]  # each (B, n_k)
        h = torch.cat(pooled, dim=1)  # (B, F)
        t = torch.sigmoid(self.highway_gate(h))  # (B, F)
        return t * F.relu(self.highway_lin(h)) + (1.0 - t) * h  # (B, F)

    def forward(self, seqs: torch.Tensor) -> torch.Tensor:
        """Class logits (B, 2), with dropout when the module is in training mode."""
        h = F.dropout(self.features(seqs), p=self.dropout, training=self.training)
        return self.output(h)  # (B, 2)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy + l2_reg * tf.nn.l2_loss of the output layer (sum(w^2) / 2)."""
        l2 = 0.5 * (self.output.weight.square().sum() + self.output.bias.square().sum())
        return F.cross_entropy(logits, labels) + self.l2_reg * l2

    @torch.no_grad()
    def prob_real(self, seqs: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """P(real) for seqs (B, T) -> (B,), never with dropout (the rewards' definition)."""
        outs = []
        for chunk in seqs.split(batch_size):
            logits = self.output(self.features(chunk))  # (b, 2)
            outs.append(torch.softmax(logits, dim=-1)[:, 1])
        return torch.cat(outs) if outs else seqs.new_zeros(0, dtype=torch.float32)
