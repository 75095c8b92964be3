"""The plain, obviously-correct Monte-Carlo rollout, as the official ``rollout.py`` loops:
for each rollout r and prefix length t, rerun the policy over the prefix from scratch,
sample the rest token by token, score the completion with D; D(sequence) at t = T.
It uses the same uniforms u[r, t-1, i, p-1] as the fast version, so they must agree.
``engine_rewards`` is the fast version's answer for one shard holding every rollout."""

from __future__ import annotations

import torch

from distributed_seqgan.acting.rollout import rollout_reward_sums
from distributed_seqgan.acting.scoring import DiscriminatorScorer
from distributed_seqgan.models import Discriminator, LSTMPolicy, sample_from_logits


@torch.no_grad()
def reference_rewards(
    policy: LSTMPolicy, disc: Discriminator, samples: torch.Tensor, u: torch.Tensor
) -> torch.Tensor:
    b, seq_len = samples.shape
    n_roll = u.shape[0]
    rewards = torch.zeros(b, seq_len, dtype=torch.float64)
    for r in range(n_roll):
        for t in range(1, seq_len):
            seq = samples.clone()
            token = torch.full((b,), policy.start_token, dtype=torch.long)
            state = None
            for p in range(1, seq_len + 1):  # produce y_p
                hidden, state = policy.step(token, state)
                if p <= t:
                    token = samples[:, p - 1]  # teacher forcing through the prefix
                else:
                    logits = policy.output(hidden)  # (B, V)
                    token = sample_from_logits(logits, u[r, t - 1, :, p - 1])
                    seq[:, p - 1] = token
            rewards[:, t - 1] += disc.prob_real(seq).double()
    rewards[:, : seq_len - 1] /= n_roll
    rewards[:, seq_len - 1] = disc.prob_real(samples).double()
    return rewards


@torch.no_grad()
def engine_rewards(
    policy: LSTMPolicy, disc: Discriminator, samples: torch.Tensor, u: torch.Tensor,
    bf16: bool = False,
) -> torch.Tensor:  # fmt: skip
    """The batched engine's rewards (B, T) from all N = u.shape[0] rollouts as one shard."""
    score = DiscriminatorScorer(disc, bf16)
    sums, _, final = rollout_reward_sums(policy, score, samples, u)  # (B, T-1), (B,)
    return torch.cat([sums / u.shape[0], final.unsqueeze(1)], dim=1)  # (B, T)
