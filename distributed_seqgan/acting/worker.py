"""The rollout worker: a plain class that turns (weights version, work spec) into results.

It holds its own copies of the generator, the rollout policy and the discriminator and
swaps their weights only when the learner publishes a new version. The same class runs in
process (``LocalPool``) and, wrapped with ``ray.remote`` at run time, as a Ray actor: the
worker code is identical in both modes.

A shard's result is a pure function of (weights version, samples, shard spec): all its
randomness is keyed by (seed, step, rollout or chunk index), so a retried shard, or the
same shard on another worker, gives the same answer.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch

from ..infra.denormals import flush_denormals, kept_denormals
from ..infra.malloc import keep_freed_memory
from ..infra.provenance import cpu_model
from ..models.build import build_discriminator, build_generator, resolve_device
from ..models.graphed import GraphedFunction
from ..seeding import uniforms
from .messages import (
    RolloutShard,
    SampleShard,
    ShardResult,
    StaleWeightsError,
    Weights,
    WorkerSpec,
)
from .rollout import rollout_reward_sums
from .scoring import BleuReward, DiscriminatorScorer, Scorer


def rollout_uniforms(
    seed: int, step: int, rollout: int, num_samples: int, seq_len: int
) -> torch.Tensor:
    """Uniforms of one rollout for the whole batch -> (T-1, B, T), keyed by (seed, step, rollout).

    Keyed per rollout over the whole batch, so any split of samples or rollouts into shards
    draws exactly the same tokens.
    """
    return uniforms((seq_len - 1, num_samples, seq_len), seed, "rollout", step, rollout)


def sample_uniforms(seed: int, shard: SampleShard, seq_len: int) -> torch.Tensor:
    return uniforms((shard.n, seq_len), seed, f"sample/{shard.stream}", shard.step, shard.chunk)


class RolloutWorker:
    """Computes rollout rewards and samples for the learner; see the module docstring."""

    def __init__(
        self, spec: WorkerSpec, threads: int | None = None,
        references: Sequence[Sequence[int]] | None = None,
    ) -> None:  # fmt: skip
        """``references``: the BLEU reward's references (``spec.reward == "bleu"``; sent
        once, with the worker's construction; Ray sends them again only to a restarted
        actor)."""
        keep_freed_memory()  # scoring reallocates the same large buffers chunk after chunk
        if threads is not None:
            torch.set_num_threads(threads)
        if spec.flush_denormal:  # before any torch work here: every thread gets the flags
            flush_denormals()
        self.spec = spec
        self.device = resolve_device(spec.device, spec.tf32)
        g, d = spec.generator, spec.discriminator
        self.generator = build_generator(g, spec.seed).to(self.device).eval()
        self.rollout_policy = build_generator(g, spec.seed).to(self.device).eval()
        self.discriminator = build_discriminator(d, g.vocab_size, spec.seed).to(self.device).eval()
        self.score: Scorer = DiscriminatorScorer(self.discriminator, d.bf16_rewards)
        if spec.reward == "bleu":
            if not references:
                raise ValueError("BLEU rewards: the workers need the BLEU references")
            self.score = BleuReward(references)
        # on CUDA, graph replays (BLEU scores on the host, so its rollouts stay eager)
        self._sample = GraphedFunction(self.generator.sample, self.device, spec.cuda_graphs)
        self._reward_sums = GraphedFunction(
            self._rollout_reward_sums, self.device, spec.cuda_graphs and spec.reward != "bleu"
        )
        self.version = -1

    def describe(self) -> dict[str, Any]:
        """Where this worker runs: process, torch threads, device, GPUs it was given, its
        CPU model (whose kernels round its sums), and whether its threads flush denormals
        (``denormals_kept`` 0: every one does)."""
        return {
            "pid": os.getpid(),
            "cpu": cpu_model(),
            "threads": torch.get_num_threads(),
            "denormals_kept": kept_denormals()[0],
            "device": str(self.device),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "version": self.version,
        }

    def set_weights(self, weights: Weights) -> int:
        """Loads a published version (no-op if already held); returns the version held."""
        if weights.version == self.version:
            return self.version
        if weights.version < self.version:
            raise StaleWeightsError(
                f"weights version {weights.version} is older than held {self.version}"
            )
        self.generator.load_state_dict(weights.generator)
        self.rollout_policy.load_state_dict(weights.rollout or weights.generator)
        self.discriminator.load_state_dict(weights.discriminator)
        self.version = weights.version
        return self.version

    def _check(self, version: int) -> None:
        if version != self.version:
            raise StaleWeightsError(f"asked for weights version {version}, holding {self.version}")

    def rollout_rewards(
        self, version: int, samples: torch.Tensor, num_samples: int, shard: RolloutShard
    ) -> ShardResult:
        """Reward sums for one shard. ``samples`` are the shard's rows (b, T) of a batch of
        ``num_samples``; the uniforms are sliced from the whole batch's, keyed per rollout."""
        self._check(version)
        seq_len = samples.shape[1]
        rows = slice(shard.sample_start, shard.sample_end)
        u = torch.stack(
            [
                rollout_uniforms(self.spec.seed, shard.step, r, num_samples, seq_len)[:, rows]
                for r in range(shard.rollout_start, shard.rollout_end)
            ]
        )  # (R, T-1, b, T)
        sums, moments, final = self._reward_sums(samples.to(self.device), u)
        final_cpu = final.cpu() if shard.scores_final else None
        return ShardResult(version, shard, sums.cpu(), moments.cpu(), final_cpu)

    def _rollout_reward_sums(
        self, samples: torch.Tensor, u: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """samples (b, T), u (R, T-1, b, T) -> reward sums, moments, final (rollout.py)."""
        return rollout_reward_sums(self.rollout_policy, self.score, samples, u)

    def sample(self, version: int, shards: Sequence[SampleShard]) -> tuple[int, torch.Tensor]:
        """Draws the sequences of consecutive shards as one batch -> (version, (n, T) on CPU).

        Each shard keeps its own keyed uniforms and rows do not interact, so one batch of
        several shards draws the tokens of the shards drawn one by one."""
        self._check(version)
        seq_len = self.spec.generator.seq_len
        u = torch.cat([sample_uniforms(self.spec.seed, s, seq_len) for s in shards])  # (n, T)
        return version, self._sample(u).cpu()
