"""Worker pools: how the learner hands out rollout and sampling work.

The trainer talks only to the :class:`WorkerPool` interface. ``LocalPool`` runs K
in-process workers one after another; ``RayPool`` (``ray_pool.py``, the only module that
imports ray) implements the same interface with actors. Shard planning and result
combination live here, shared by both, so both split and sum work identically.

Sampling keys its randomness by fixed-size shards (``pool.sample_chunk`` rows each) and
computes them in calls of one or more consecutive shards (``pool.sample_batch`` rows): a
GPU draws a whole part in one batch, a CPU one cache-sized shard at a time, and the
tokens are the same. Work asked for in parts (the negatives of several D rounds) comes
back part by part, so the learner trains D on one part while the workers draw the next.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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

    def sample_parts(self, n: int, parts: int, stream: str, step: int) -> Iterator[torch.Tensor]:
        """``sample(n * parts, stream, step)`` in ``parts`` consecutive pieces of (n, T), each
        yielded as soon as its shards are in; the work is started by this call."""
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


@dataclass(frozen=True)
class SamplePlan:
    """Who draws what for ``parts`` x ``n`` samples: ``calls[c]`` is a run of consecutive
    shards for one worker call, and part ``j`` can be cut once calls ``< needed[j]`` are in."""

    n: int
    parts: int
    calls: list[list[SampleShard]]
    needed: list[int]


def plan_sample_calls(
    n: int, parts: int, chunk: int, batch: int | None, workers: int, stream: str, step: int
) -> SamplePlan:
    """The shards of ``plan_sample_shards(n * parts, ...)`` grouped into worker calls, part
    by part, in order. ``batch``: at most that many rows per call (at least one shard);
    None: each part's shards split evenly into ``workers`` calls (a GPU's whole batch)."""
    shards = plan_sample_shards(n * parts, chunk, stream, step)
    calls: list[list[SampleShard]] = []
    needed: list[int] = []
    i = start = 0  # next shard, and the first row it draws
    for j in range(parts):
        mine: list[SampleShard] = []  # the shards part j is the first to need
        while i < len(shards) and start < (j + 1) * n:
            mine.append(shards[i])
            start += shards[i].n
            i += 1
        if batch is None:
            k = min(workers, len(mine))
            edges = [round(w * len(mine) / k) for w in range(k + 1)] if k else [0]
            calls += [mine[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]
        else:
            first = len(calls)  # a call never mixes two parts' shards
            for shard in mine:
                if len(calls) > first and sum(s.n for s in calls[-1]) + shard.n <= batch:
                    calls[-1].append(shard)
                else:
                    calls.append([shard])
        needed.append(len(calls))
    return SamplePlan(n, parts, calls, needed)


def sampling_batch(sample_batch: int | None, sample_chunk: int, on_gpu: bool) -> int | None:
    """Rows per sampling call: ``pool.sample_batch`` when set; else one cache-sized shard
    per call on CPU workers, and None (each part split evenly over the workers) on GPUs."""
    return sample_batch or (None if on_gpu else sample_chunk)


def cut_parts(
    plan: SamplePlan, results: Iterator[tuple[int, torch.Tensor]], version: int
) -> Iterator[torch.Tensor]:
    """The parts (n, T) of a plan from its calls' results (version, (rows, T)) in call
    order, each part as soon as the calls it needs are in; rejects other versions."""
    pending: list[torch.Tensor] = []
    have = 0  # calls consumed
    for j in range(plan.parts):
        while have < plan.needed[j]:
            got, seqs = next(results)
            if got != version:
                raise StaleWeightsError(f"samples from version {got}, expected {version}")
            pending.append(seqs)
            have += 1
        rows = torch.cat(pending)  # (>= n, T): what is in and not yet handed out
        yield rows[: plan.n]
        pending = [rows[plan.n :]]


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


def gather_rollouts(
    results: Sequence[ShardResult],
    num_samples: int,
    num_rollouts: int,
    seq_len: int,
    version: int,
    stats: dict[str, int],
) -> RolloutResult:
    """A rollout call's shard results -> its rewards (B, T), their Monte-Carlo variance and
    a copy of the pool's counters: what every backend returns."""
    return RolloutResult(
        combine_rewards(results, num_samples, num_rollouts, seq_len, version),
        reward_variance(results, num_samples, num_rollouts, seq_len),
        dict(stats),
    )


class LocalPool:
    """K in-process workers, run one after another: local mode, no ray."""

    def __init__(
        self, workers: list[RolloutWorker], sample_chunk: int, sample_batch: int | None = None
    ) -> None:
        """``sample_batch``: rows per sampling call (``pool.sample_batch``); None: one shard
        per call on a CPU, each part in one call on a GPU."""
        if not workers:
            raise ValueError("LocalPool needs at least one worker")
        self.workers = workers
        self.sample_chunk = sample_chunk
        self.sample_batch = sampling_batch(
            sample_batch, sample_chunk, on_gpu=workers[0].device.type != "cpu"
        )
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
        return gather_rollouts(results, b, num_rollouts, seq_len, self.version, self.stats)

    def sample(self, n: int, stream: str, step: int) -> torch.Tensor:
        return next(self.sample_parts(n, 1, stream, step))

    def sample_parts(self, n: int, parts: int, stream: str, step: int) -> Iterator[torch.Tensor]:
        """In process there is nothing to overlap: each call runs when its part is asked for."""
        k = len(self.workers)
        plan = plan_sample_calls(n, parts, self.sample_chunk, self.sample_batch, k, stream, step)
        results = (self.workers[i % k].sample(self.version, c) for i, c in enumerate(plan.calls))
        return cut_parts(plan, results, self.version)

    def describe(self) -> list[dict[str, object]]:
        return [w.describe() for w in self.workers]

    def close(self) -> None:
        self.workers.clear()
