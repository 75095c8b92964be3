"""Worker pools: how the learner hands out rollout and sampling work.

The trainer talks only to the :class:`WorkerPool` interface. ``LocalPool`` runs K
in-process workers one after another; ``RayPool`` (``ray_pool.py``, the only module that
imports ray) implements the same interface with actors. Shard planning and result
combination live here, shared by both, so both split and sum work identically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import torch

from .messages import (
    RolloutResult,
    RolloutShard,
    SampleShard,
    ShardResult,
    StaleWeightsError,
    Weights,
)
from .worker import RolloutWorker


class WorkerPool(Protocol):
    version: int  # of the weights published last (-1: none yet)
    stats: dict[str, int]  # worker_restarts, retried_shards, since the pool started

    def publish(self, weights: Weights) -> None:
        """Makes ``weights`` the current version on every worker."""
        ...

    def rollout_rewards(self, samples: torch.Tensor, num_rollouts: int, step: int) -> RolloutResult:
        """Monte-Carlo rewards (B, T) for samples (B, T) with the current version, with the
        estimate's variance and the pool's counters."""
        ...

    def sample(self, n: int, stream: str, step: int) -> torch.Tensor:
        """``n`` sequences (n, T) from the current generator."""
        ...

    def describe(self) -> list[dict[str, object]]:
        """Where each worker runs (process, threads, device, GPUs; node under Ray)."""
        ...

    def close(self) -> None: ...


def plan_rollout_shards(
    num_samples: int, num_rollouts: int, workers: int, step: int
) -> list[RolloutShard]:
    """Splits B x N rollouts into about ``workers`` shards: by rollout first, then by sample."""
    by_rollout = min(num_rollouts, workers)
    by_sample = min(num_samples, math.ceil(workers / by_rollout))
    r_edges = [round(i * num_rollouts / by_rollout) for i in range(by_rollout + 1)]
    s_edges = [round(i * num_samples / by_sample) for i in range(by_sample + 1)]
    return [
        RolloutShard(step, s_edges[j], s_edges[j + 1], r_edges[i], r_edges[i + 1])
        for i in range(by_rollout)
        for j in range(by_sample)
    ]


def plan_sample_shards(n: int, chunk: int, stream: str, step: int) -> list[SampleShard]:
    """Fixed-size chunks, so the draws do not depend on the number of workers."""
    return [
        SampleShard(stream, step, i, min(chunk, n - start))
        for i, start in enumerate(range(0, n, chunk))
    ]


def combine_rewards(
    results: Sequence[ShardResult], num_samples: int, num_rollouts: int, seq_len: int, version: int
) -> torch.Tensor:
    """Sums shard results in plan order into rewards (B, T); rejects other versions."""
    sums = torch.zeros(num_samples, seq_len - 1, dtype=torch.float32)  # (B, T-1)
    final = torch.full((num_samples,), float("nan"))  # (B,)
    for res in results:
        if res.version != version:
            raise StaleWeightsError(
                f"shard computed with version {res.version}, expected {version}"
            )
        s = res.shard
        sums[s.sample_start : s.sample_end] += res.rollout_sums.float()
        if res.final is not None:
            final[s.sample_start : s.sample_end] = res.final.float()
    if torch.isnan(final).any():  # a bug in planning, never user input
        raise RuntimeError("rollout plan left samples without a final-token score")
    return torch.cat([sums / num_rollouts, final.unsqueeze(1)], dim=1)  # (B, T)


def reward_variance(
    results: Sequence[ShardResult], num_samples: int, num_rollouts: int, seq_len: int
) -> float | None:
    """The variance of the Monte-Carlo reward estimate, averaged over samples and prefix
    lengths: the sample variance of D(completion) across the N rollouts, divided by N. What
    a larger ``schedule.rollout_num`` buys; None for N = 1 (no spread to measure)."""
    if num_rollouts < 2:
        return None
    moments = torch.zeros(2, num_samples, seq_len - 1, dtype=torch.float64)  # (2, B, T-1)
    for res in results:
        moments[:, res.shard.sample_start : res.shard.sample_end] += res.rollout_moments
    sums, squares = moments  # (B, T-1) each
    spread = (squares - sums.square() / num_rollouts).clamp_(min=0) / (num_rollouts - 1)
    return (spread / num_rollouts).mean().item()


def concat_samples(results: Sequence[tuple[int, torch.Tensor]], version: int) -> torch.Tensor:
    """Joins sample shards (version, (n_k, T)) in plan order; rejects other versions."""
    for got, _ in results:
        if got != version:
            raise StaleWeightsError(f"samples from version {got}, expected {version}")
    return torch.cat([seqs for _, seqs in results])


class LocalPool:
    """K in-process workers, run one after another: local mode, no ray."""

    def __init__(self, workers: list[RolloutWorker], sample_chunk: int) -> None:
        if not workers:
            raise ValueError("LocalPool needs at least one worker")
        self.workers = workers
        self.sample_chunk = sample_chunk
        self.version = -1
        self.stats = {"worker_restarts": 0, "retried_shards": 0}  # never fail in process

    def publish(self, weights: Weights) -> None:
        for w in self.workers:
            w.set_weights(weights)
        self.version = weights.version

    def rollout_rewards(self, samples: torch.Tensor, num_rollouts: int, step: int) -> RolloutResult:
        b, seq_len = samples.shape
        shards = plan_rollout_shards(b, num_rollouts, len(self.workers), step)
        results = [
            self.workers[k % len(self.workers)].rollout_rewards(
                self.version, samples[s.sample_start : s.sample_end], b, s
            )
            for k, s in enumerate(shards)
        ]
        return RolloutResult(
            combine_rewards(results, b, num_rollouts, seq_len, self.version),
            reward_variance(results, b, num_rollouts, seq_len),
            dict(self.stats),
        )

    def sample(self, n: int, stream: str, step: int) -> torch.Tensor:
        shards = plan_sample_shards(n, self.sample_chunk, stream, step)
        k = len(self.workers)
        results = [self.workers[i % k].sample(self.version, s) for i, s in enumerate(shards)]
        return concat_samples(results, self.version)

    def describe(self) -> list[dict[str, object]]:
        return [w.describe() for w in self.workers]

    def close(self) -> None:
        self.workers.clear()
