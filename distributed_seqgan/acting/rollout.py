"""Monte-Carlo rollout rewards (the paper's Eq. 4), batched: pure torch, no ray.

For a sample y_1..y_T the reward of token t < T is the mean over N rollouts of D(y_1..y_t
completed by the rollout policy); the reward of token T is D(y_1..y_T) itself.

How it is batched. Rows are (prefix length t, rollout r, sample i) for t = 1..T-1. All
rows advance together through absolute positions p = 1..T ("staircase"): at position p a
*teacher* row per sample feeds the true token y_{p-1}, which gives the state after the
prefix y_1..y_{p-1} once per sample (never once per rollout); the rows of prefix length
t = p-1 join at that point as copies of the teacher state, and every row with t < p draws
y_p. So each prefix is run once and reused by all N of its rollouts, each step is a
single LSTM call over all active rows, and the LSTM work is the minimum T(T-1)/2 row-steps
per (rollout, sample). D then scores all completions in large batches, and D(full
sequence) is computed once per sample, not N times.

Tokens are drawn by inverse CDF from given uniforms ``u[r, t-1, i, p-1]``, so the result
is a deterministic function of (weights, samples, uniforms); ``tests/reference_rollout.py``
is the plain loop this must agree with.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..models.discriminator import Discriminator
from ..models.lstm_policy import LSTMPolicy


def unique_rows(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct rows of an int64 matrix (M0, T) and each row's index among them.

    ``torch.unique(dim=0)`` is slow on CPU (row-wise copies); this takes the 1-D unique of
    a 64-bit polynomial hash of each row, then checks that every row equals its
    representative, falling back to ``unique(dim=0)`` on a collision, so it is exact.
    """
    mult = torch.tensor(
        [(0x9E3779B97F4A7C15 * (i + 1)) % (1 << 61) | 1 for i in range(rows.shape[1])],
        dtype=torch.int64, device=rows.device,
    )  # fmt: skip
    keys = (rows * mult).sum(dim=1)  # (M0,) wraps mod 2^64: a hash, not an order
    _, inverse = torch.unique(keys, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), len(rows), dtype=torch.long, device=rows.device)
    first.scatter_reduce_(0, inverse, torch.arange(len(rows), device=rows.device), "amin")
    uniq = rows[first]
    if not torch.equal(uniq[inverse], rows):  # a hash collision: exact but slower path
        return torch.unique(rows, dim=0, return_inverse=True)
    return uniq, inverse


def _with_new_group(s: torch.Tensor, b: int, n_roll: int) -> torch.Tensor:
    """[teacher, rows] (1, b + m, H) -> [teacher, rows, teacher x n_roll] (1, b + m + n_roll * b, H)."""
    return torch.cat([s, s[:, :b].repeat(1, n_roll, 1)], dim=1)


@torch.no_grad()
def complete_prefixes(policy: LSTMPolicy, samples: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """All rollout completions of all proper prefixes of ``samples``.

    samples: (B, T) int64; u: (R, T-1, B, T) uniforms for rollout r, prefix t, sample i,
    position p. Returns (T-1, R, B, T): row [t-1, r, i] is prefix y_i[:t] completed.
    """
    b, seq_len = samples.shape
    n_roll = u.shape[0]
    device = samples.device
    u = u.to(device)
    group = n_roll * b  # rows per prefix length
    total = (seq_len - 1) * group
    # Every row starts as its sample; positions after the prefix get overwritten below.
    completions = samples.expand(seq_len - 1, n_roll, b, seq_len).reshape(total, seq_len).clone()

    teacher_in = torch.full((b,), policy.start_token, dtype=torch.long, device=device)
    rows_in = samples.new_empty(0)  # last drawn token of each active rollout row
    state: tuple[torch.Tensor, torch.Tensor] | None = None  # (1, b + active, H)
    for p in range(1, seq_len + 1):
        active = (p - 1) * group  # rows with t < p draw y_p
        emb = policy.embedding(torch.cat([teacher_in, rows_in])).unsqueeze(1)  # (b + prev, 1, E)
        out, (h, c) = policy.lstm(emb, state)  # out: (b + prev, 1, H)
        hidden = out[:, 0]  # (b + prev, H)
        if active == 0:  # p = 1: only the teacher moves; no prefix is complete yet
            teacher_in = samples[:, 0]
            state = (h, c)
            continue
        # Rows of the new prefix length t = p-1 join as n_roll copies of the teacher.
        join_h = hidden[:b].repeat(n_roll, 1)  # (group, H)
        all_hidden = torch.cat([hidden[b:], join_h])  # (active, H)
        step_u = u[:, : p - 1, :, p - 1].transpose(0, 1).reshape(active)  # (active,) in (t, r, i)
        drawn = policy.draw(all_hidden, step_u)  # (active,)
        completions[:active, p - 1] = drawn
        if p == seq_len:
            break
        # Next state: teacher first, then rollout rows in (t, r, i) order, new group last.
        state = (_with_new_group(h, b, n_roll), _with_new_group(c, b, n_roll))  # (1, b + active, H)
        teacher_in = samples[:, p - 1]
        rows_in = drawn
    return completions.view(seq_len - 1, n_roll, b, seq_len)


@torch.no_grad()
def score_rollouts(
    disc: Discriminator, samples: torch.Tensor, completions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """D's P(real) for every completion and for the samples themselves.

    samples (B, T); completions (T-1, R, B, T) from :func:`complete_prefixes`. Each distinct
    sequence is scored once (a peaky generator repeats many completions, and a completion
    can equal its sample), and conv windows inside a row's known prefix come from the
    sample's. Returns (scores (T-1, R, B), final (B,)).
    """
    b, seq_len = samples.shape
    n_roll = completions.shape[1]
    device = samples.device
    rows = torch.cat(
        [completions.reshape(-1, seq_len), samples]
    )  # (M0, T); samples = prefix length T
    prefix_len = torch.cat(
        [
            torch.arange(1, seq_len, device=device).repeat_interleave(n_roll * b),
            torch.full((b,), seq_len, device=device),
        ]
    )  # (M0,)
    source = torch.arange(b, device=device).repeat((seq_len - 1) * n_roll + 1)  # (M0,) sample index
    uniq, inverse = unique_rows(rows)  # (M, T), (M0,)
    # Representative of each distinct row: the occurrence with the longest known prefix.
    key = prefix_len * len(rows) + torch.arange(len(rows), device=device)
    best = torch.full((len(uniq),), -1, dtype=key.dtype, device=device)
    rep = best.scatter_reduce_(0, inverse, key, "amax") % len(rows)  # (M,) row index
    probs = disc.score_with_known_prefix(uniq, prefix_len[rep], source[rep], samples)[inverse]
    return probs[:-b].view(seq_len - 1, n_roll, b), probs[-b:]


@torch.no_grad()
def score_all(
    disc: Discriminator, samples: torch.Tensor, completions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`score_rollouts` without dedup or prefix reuse: every completion and sample
    scored as it is, in static shapes (no host sync; on a GPU, one large batch). Equal to
    it up to float rounding. Returns (scores (T-1, R, B), final (B,))."""
    b, seq_len = samples.shape
    probs = disc.prob_real(torch.cat([completions.reshape(-1, seq_len), samples]))  # (M0,)
    return probs[:-b].view(completions.shape[:3]), probs[-b:]


@torch.no_grad()
def rollout_reward_sums(
    policy: LSTMPolicy,
    score: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    samples: torch.Tensor,
    u: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sum over the given rollouts of the reward of each completion, per sample and prefix
    length, its float64 sum and sum of squares (for the Monte-Carlo estimate's variance,
    what the rollout count N buys), and the reward of the samples themselves; ``score`` is a scorer
    (``scoring.py``: D, or BLEU).

    samples (B, T); u (R, T-1, B, T) -> (sums (B, T-1), float64 sums and sums of squares
    (2, B, T-1), final (B,)).
    Divide the sums by the total rollout count N (over all shards) to get the rewards of
    positions 1..T-1.
    """
    completions = complete_prefixes(policy, samples, u)  # (T-1, R, B, T)
    scores, final = score(samples, completions)  # (T-1, R, B), (B,)
    wide = scores.double()  # (T-1, R, B): float64 moments, the variance subtracts them
    moments = torch.stack([wide.sum(dim=1).T, wide.square().sum(dim=1).T])  # (2, B, T-1)
    return scores.sum(dim=1).T.contiguous(), moments, final  # (B, T-1), (2, B, T-1), (B,)
