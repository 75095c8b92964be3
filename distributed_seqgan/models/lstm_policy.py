"""The LSTM language model used as generator, rollout policy and synthetic oracle.

One class serves all three because the official code's generator (``generator.py``) and
target LSTM (``target_lstm.py``) are the same network: embedding -> LSTM with one bias per
gate -> linear output, start token fed first, no EOS. The official LSTM has a single bias
per gate; ``nn.LSTM`` has two (``bias_ih`` + ``bias_hh``), so ``bias_hh`` is held at zero
and frozen: two trainable copies of one bias would double its effective Adam step.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

from .linear_nll import linear_weighted_nll

State = tuple[torch.Tensor, torch.Tensor]  # (h, c), each (1, R, H)
# (256, 5000) fp32 = 5 MB of logits, cache-resident. Measured best of 128..2048 with the
# earlier exp-based sampler; with the softmax one, 256 and 512 tie (sampling 9,984: ~1.0 s).
DRAW_CHUNK_ROWS = 256


def sample_from_logits(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF categorical sampling: token = first index whose CDF exceeds ``u``.

    Given the uniforms it is deterministic, so any implementation fed the same uniforms
    draws the same tokens (what lets the fast rollout be tested against the reference).

    Two-level search instead of a full cumsum: one fused softmax gives the probabilities
    (row by row, in cache); with V split into ~sqrt(V) blocks, one pass sums them per
    block; the CDF is then searched over the block sums and inside one block only.
    At V = 5,000 and 256 rows, ``torch.multinomial`` is ~30x slower and a plain softmax +
    full cumsum ~1.5x (``benchmarks/bench_sampler.py``).
    logits: (R, V), left unchanged; u: (R,) in [0, 1). Returns (R,) int64.
    """
    r, v = logits.shape
    wide = logits.dtype in (torch.float32, torch.float64)
    p = torch.softmax(logits, dim=1, dtype=None if wide else torch.float32)  # (R, V)
    bs = _block_size(v)
    nb = -(-v // bs)
    if nb * bs != v:
        p = torch.nn.functional.pad(p, (0, nb * bs - v))  # zero mass
    blocks = p.view(r, nb, bs)  # (R, nb, bs)
    block_cdf = blocks.sum(dim=2).cumsum_(dim=1)  # (R, nb)
    total = block_cdf[:, -1]  # (R,)
    eps = 4 * torch.finfo(p.dtype).eps
    # u close to 1 can round to 1 in float32: keep the target strictly inside the mass.
    target = torch.minimum(u.to(p.device, p.dtype) * total, total * (1 - eps))  # (R,)
    b = torch.searchsorted(block_cdf, target.unsqueeze(1), right=True).clamp_(max=nb - 1)  # (R, 1)
    below = torch.where(b > 0, block_cdf.gather(1, (b - 1).clamp(min=0)), 0.0).squeeze(1)  # (R,)
    inner_cdf = (
        blocks.gather(1, b.unsqueeze(2).expand(r, 1, bs)).squeeze(1).cumsum_(dim=1)
    )  # (R, bs)
    # Rounding can put the residual at or past the block's own total: take its last token with mass.
    rest = torch.minimum(target - below, inner_cdf[:, -1] * (1 - eps))
    j = torch.searchsorted(inner_cdf, rest.unsqueeze(1), right=True).squeeze(1)  # (R,)
    return (b.squeeze(1) * bs + j).clamp_(max=v - 1)


@functools.lru_cache(maxsize=64)
def _block_size(v: int) -> int:
    """About sqrt(v) tokens per block: a divisor of v if one lies within 2x of sqrt(v), so
    that the blocks need no zero padding (a copy of the whole (R, V) block), else isqrt(v)."""
    root = math.sqrt(v)
    near = [d for d in range(1, 2 * math.isqrt(v) + 2) if v % d == 0 and root / 2 <= d <= 2 * root]
    if not near:
        return max(1, math.isqrt(v))
    return min(near, key=lambda d: (round(abs(math.log(d / root)), 9), d))


class LSTMPolicy(nn.Module):
    """Token-level stochastic policy pi(y_t | y_<t) over fixed-length sequences."""

    def __init__(
        self, vocab_size: int, emb_dim: int, hidden_dim: int, seq_len: int, start_token: int = 0
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.seq_len = seq_len
        self.start_token = start_token
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.lstm = nn.LSTM(emb_dim, hidden_dim, batch_first=True)
        self.output = nn.Linear(hidden_dim, vocab_size)
        self.lstm.bias_hh_l0.requires_grad_(False)

    def reset_parameters_normal(self, std: float, generator: torch.Generator | None = None) -> None:
        """N(0, std) for every weight and bias, as the official ``init_matrix``."""
        with torch.no_grad():
            for p in (
                self.embedding.weight,
                self.lstm.weight_ih_l0,
                self.lstm.weight_hh_l0,
                self.lstm.bias_ih_l0,
                self.output.weight,
                self.output.bias,
            ):
                p.copy_(torch.randn(p.shape, generator=generator) * std)
            self.lstm.bias_hh_l0.zero_()

    @property
    def device(self) -> torch.device:
        return self.output.weight.device

    def inputs_for(self, seqs: torch.Tensor) -> torch.Tensor:
        """Teacher-forcing inputs [start, y_1 .. y_{T-1}] for targets seqs (B, T)."""
        start = torch.full_like(seqs[:, :1], self.start_token)
        return torch.cat([start, seqs[:, :-1]], dim=1)  # (B, T)

    def forward(self, seqs: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits for every position of seqs (B, T) -> (B, T, V)."""
        hidden, _ = self.lstm(self.embedding(self.inputs_for(seqs)))  # (B, T, H)
        return self.output(hidden)  # (B, T, V)

    def token_log_probs(self, seqs: torch.Tensor) -> torch.Tensor:
        """log pi(y_t | y_<t) for each token of seqs (B, T) -> (B, T)."""
        logp = torch.log_softmax(self(seqs), dim=-1)  # (B, T, V)
        return logp.gather(-1, seqs.unsqueeze(-1)).squeeze(-1)  # (B, T)

    def weighted_nll(
        self, seqs: torch.Tensor, weights: torch.Tensor, inputs: torch.Tensor | None = None
    ) -> torch.Tensor:
        """sum_{b,t} weights[b, t] * -log pi(y_bt | y_b<t) for seqs, weights (B, T).

        The training loss of MLE (weights 1/(B T)), the policy gradient (weights = rewards)
        and scheduled sampling (``inputs`` other than teacher forcing's), through the fused
        chunked projection + NLL (see ``linear_nll.py``).
        """
        inputs = self.inputs_for(seqs) if inputs is None else inputs  # (B, T)
        hidden, _ = self.lstm(self.embedding(inputs))  # (B, T, H)
        flat = hidden.reshape(-1, hidden.shape[-1])  # (B T, H)
        return linear_weighted_nll(flat, self.output, seqs.reshape(-1), weights.reshape(-1))

    def step(self, tokens: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        """Feeds one token per row: tokens (R,) -> hidden (R, H) and the new state."""
        out, state = self.lstm(self.embedding(tokens).unsqueeze(1), state)  # (R, 1, H)
        return out[:, 0], state

    def _output_with_bias(self) -> torch.Tensor:
        """[W | b] (V, H+1): the output layer as one matrix, for :meth:`_logits`."""
        return torch.cat([self.output.weight, self.output.bias.unsqueeze(1)], dim=1)

    @staticmethod
    def _logits(hidden: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Output logits (R, V) for hidden (R, H) and w = [W | b] (V, H+1).

        ``addmm`` first copies the broadcast bias into the whole (R, V) output, a full extra
        pass over the largest tensor of sampling; a ones column on the input avoids it.
        """
        ones = hidden.new_ones(hidden.shape[0], 1)
        return torch.cat([hidden, ones], dim=1) @ w.T  # (R, V)

    @torch.no_grad()
    def draw(self, hidden: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Samples one token per row of hidden (R, H) with uniforms u (R,) -> (R,).

        On a CPU rows go in chunks so each (chunk, V) block of logits stays in cache from
        the GEMM through the sampler; a GPU takes all rows at once (a chunk is ~10 kernel
        launches whatever its size, and launches are what bound it). Rows are independent,
        so the chunking changes no token.
        """
        rows = hidden.shape[0]
        out = torch.empty(rows, dtype=torch.long, device=hidden.device)
        w = self._output_with_bias()  # (V, H+1), built once for all chunks
        chunk = DRAW_CHUNK_ROWS if hidden.device.type == "cpu" else max(rows, 1)
        for start in range(0, rows, chunk):
            sl = slice(start, start + chunk)
            out[sl] = sample_from_logits(self._logits(hidden[sl], w), u[sl])
        return out

    @torch.no_grad()
    def mixed_inputs(
        self, seqs: torch.Tensor, use_true: torch.Tensor, u: torch.Tensor
    ) -> torch.Tensor:
        """Scheduled sampling's inputs for targets seqs (B, T): after the start token, the
        input at t+1 is y_t where use_true[:, t], else a token drawn from this policy given
        the inputs so far, with uniform u[:, t]; use_true, u: (B, T-1) -> (B, T).

        With every use_true False this is :meth:`sample` (same steps, same draws)."""
        inputs = torch.empty_like(seqs)
        inputs[:, 0] = self.start_token
        tokens, state = inputs[:, 0], None
        for t in range(seqs.shape[1] - 1):
            hidden, state = self.step(tokens, state)  # (B, H)
            tokens = torch.where(use_true[:, t], seqs[:, t], self.draw(hidden, u[:, t]))
            inputs[:, t + 1] = tokens
        return inputs

    @torch.no_grad()
    def sample(self, u: torch.Tensor) -> torch.Tensor:
        """Samples len(u) sequences; u (n, T) are the uniforms of each draw -> (n, T)."""
        n = u.shape[0]
        tokens = torch.full((n,), self.start_token, dtype=torch.long, device=self.device)
        state: State | None = None
        out = torch.empty((n, self.seq_len), dtype=torch.long, device=self.device)
        u = u.to(self.device)
        for t in range(self.seq_len):
            hidden, state = self.step(tokens, state)  # (n, H)
            tokens = self.draw(hidden, u[:, t])
            out[:, t] = tokens
        return out
