"""What the learner and the rollout workers exchange: weights by version, shard specs and
shard results.

Kept apart from the worker so that the learning side (which publishes weights) and the
pools (which plan shards and combine results) depend on this small interface, not on the
worker's implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ..config import Config, DiscriminatorConfig, GeneratorConfig

StateDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class WorkerSpec:
    """All of the config a rollout worker reads: the networks it rebuilds, the run seed
    its draws are keyed by, its device, and what scores the rollouts. Workers (and Ray
    actors) get this, never the whole config."""

    seed: int
    generator: GeneratorConfig
    discriminator: DiscriminatorConfig
    device: str  # run.device: cpu | cuda | auto
    reward: Literal["discriminator", "bleu"] = "discriminator"
    tf32: bool = False  # run.tf32
    cuda_graphs: bool = True  # run.cuda_graphs: sampling and D-scored rollouts as graph replays
    flush_denormal: bool = False  # run.flush_denormal

    @classmethod
    def of(cls, cfg: Config, reward: Literal["discriminator", "bleu"]) -> WorkerSpec:
        r = cfg.run
        return cls(cfg.seed, cfg.generator, cfg.discriminator, r.device, reward, r.tf32,
                   r.cuda_graphs, r.flush_denormal)  # fmt: skip


@dataclass(frozen=True)
class Weights:
    """One published version of what the workers compute with, all on CPU.

    ``version`` is the learner's update count when the weights were taken: the one
    counter of versions. Pools and workers hold the version of what they were last given,
    and a worker asked for another version than it holds refuses (``StaleWeightsError``).
    """

    version: int
    generator: StateDict
    discriminator: StateDict
    rollout: StateDict | None = None  # None: the rollout policy is the generator itself


@dataclass(frozen=True)
class RolloutResult:
    """What one ``rollout_rewards`` call gives back."""

    rewards: torch.Tensor  # (B, T): Q(b, t), the mean over N rollouts of D(completion)
    mc_variance: float | None  # the Monte-Carlo estimate's variance (None for N = 1)
    stats: dict[str, int]  # the pool's worker_restarts and retried_shards so far


class StaleWeightsError(RuntimeError):
    """A worker was asked to compute with a weights version it does not hold."""


@dataclass(frozen=True)
class RolloutShard:
    """Rewards work for samples [sample_start, sample_end) x rollouts [rollout_start, rollout_end)."""

    step: int
    sample_start: int
    sample_end: int
    rollout_start: int
    rollout_end: int

    @property
    def scores_final(self) -> bool:
        """The shard holding rollout 0 also scores the full sequences (once per sample)."""
        return self.rollout_start == 0


@dataclass(frozen=True)
class SampleShard:
    """``n`` sequences from the generator, drawn with the uniforms of (stream, step, chunk)."""

    stream: str
    step: int
    chunk: int
    n: int


@dataclass
class ShardResult:
    version: int
    shard: RolloutShard
    rollout_sums: torch.Tensor  # (b, T-1): sum over this shard's rollouts of D(completion)
    rollout_moments: torch.Tensor  # (2, b, T-1) float64: the same sum, and of the squares
    final: torch.Tensor | None  # (b,): D(full sequence), only when shard.scores_final
