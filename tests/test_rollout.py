"""Rollout rewards: the fast batched engine against the plain reference, reward
properties, and independence from how the work is split across workers."""

from __future__ import annotations

import pytest
import torch
from reference_rollout import engine_rewards, reference_rewards

from distributed_seqgan.acting.messages import WorkerSpec
from distributed_seqgan.acting.pool import (
    LocalPool,
    plan_rollout_shards,
    plan_sample_calls,
    plan_sample_shards,
)
from distributed_seqgan.acting.worker import RolloutWorker, rollout_uniforms
from distributed_seqgan.config import load_config
from distributed_seqgan.learning.learner import Learner
from distributed_seqgan.models import Discriminator, LSTMPolicy, sample_from_logits


def _models(vocab: int, seq_len: int, dtype: torch.dtype, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    policy = LSTMPolicy(vocab, 8, 16, seq_len)
    policy.reset_parameters_normal(1.0, g)  # peaky policy: exercises the sampler
    disc = Discriminator(vocab, 8, (1, 2, 3), (4, 5, 6), dropout=0.25, l2_reg=0.2)
    disc.reset_parameters_official(g)
    return policy.to(dtype).eval(), disc.to(dtype).eval()


@pytest.mark.parametrize(
    ("vocab", "seq_len", "batch", "rollouts"),
    [(30, 4, 3, 2), (50, 9, 7, 4), (120, 12, 5, 3), (17, 20, 2, 5)],
)
def test_fast_rollout_equals_reference_float64(vocab, seq_len, batch, rollouts):
    policy, disc = _models(vocab, seq_len, torch.float64)
    g = torch.Generator().manual_seed(vocab)
    samples = torch.randint(0, vocab, (batch, seq_len), generator=g)
    u = torch.rand(rollouts, seq_len - 1, batch, seq_len, generator=g, dtype=torch.float64)
    fast = engine_rewards(policy, disc, samples, u)
    ref = reference_rewards(policy, disc, samples, u)
    assert fast.shape == (batch, seq_len)
    torch.testing.assert_close(fast.double(), ref, rtol=0, atol=1e-12)


def test_fast_rollout_equals_reference_float32():
    policy, disc = _models(200, 10, torch.float32, seed=3)
    g = torch.Generator().manual_seed(1)
    samples = torch.randint(0, 200, (6, 10), generator=g)
    u = torch.rand(3, 9, 6, 10, generator=g, dtype=torch.float64)
    torch.testing.assert_close(
        engine_rewards(policy, disc, samples, u).double(),
        reference_rewards(policy, disc, samples, u),
        rtol=0,
        atol=1e-5,
    )


def test_reward_properties():
    policy, disc = _models(60, 8, torch.float32)
    samples = torch.randint(0, 60, (9, 8))
    rewards = engine_rewards(policy, disc, samples, torch.rand(4, 7, 9, 8, dtype=torch.float64))
    assert rewards.shape == (9, 8)
    assert rewards.min() >= 0.0 and rewards.max() <= 1.0
    torch.testing.assert_close(rewards[:, -1], disc.prob_real(samples))  # t = T is D(sequence)
    assert rewards[:, :-1].std() > 0  # rollouts really vary


def test_rewards_ignore_dropout_mode():
    policy, disc = _models(60, 8, torch.float32)
    samples = torch.randint(0, 60, (5, 8))
    u = torch.rand(2, 7, 5, 8, dtype=torch.float64)
    a = engine_rewards(policy, disc, samples, u)
    disc.train()
    torch.testing.assert_close(engine_rewards(policy, disc, samples, u), a)


def test_inverse_cdf_sampler_has_the_right_distribution():
    logits = torch.tensor([[0.0, 1.0, 2.0, -1.0]]).repeat(40000, 1)
    draws = sample_from_logits(
        logits.clone(),
        torch.rand(40000, generator=torch.Generator().manual_seed(0), dtype=torch.float64),
    )
    freq = torch.bincount(draws, minlength=4).double() / 40000
    torch.testing.assert_close(freq, torch.softmax(logits[0].double(), 0), atol=0.01, rtol=0)
    edge = sample_from_logits(
        torch.zeros(3, 5), torch.tensor([0.0, 0.999999999, 0.5], dtype=torch.float64)
    )
    assert edge.tolist() == [0, 4, 2]


@pytest.mark.parametrize(
    ("b", "n", "k"), [(64, 16, 1), (64, 16, 3), (10, 2, 5), (3, 1, 4), (5, 4, 4)]
)
def test_shard_plan_covers_every_sample_and_rollout_once(b, n, k):
    cover = torch.zeros(b, n, dtype=torch.long)
    shards = plan_rollout_shards(b, n, k, step=0)
    for s in shards:
        cover[s.sample_start : s.sample_end, s.rollout_start : s.rollout_end] += 1
    assert torch.equal(cover, torch.ones_like(cover))
    assert len(shards) >= min(k, b * n)


@pytest.mark.parametrize(
    ("n", "parts", "chunk", "batch", "workers"),
    [(64, 1, 32, None, 2), (70, 3, 32, None, 2), (9984, 5, 1024, None, 1), (9984, 5, 1024, 1024, 4),
     (100, 4, 7, 20, 3), (5, 2, 32, None, 3), (70, 3, 32, 100, 1)],
)  # fmt: skip
def test_sample_calls_cover_the_shards_in_order_and_each_part_in_time(
    n, parts, chunk, batch, workers
):
    plan = plan_sample_calls(n, parts, chunk, batch, workers, "s", 3)
    flat = [s for call in plan.calls for s in call]
    assert flat == plan_sample_shards(n * parts, chunk, "s", 3)  # the keys do not change
    assert all(call for call in plan.calls)
    if batch is not None:
        assert all(len(c) == 1 or sum(s.n for s in c) <= batch for c in plan.calls)
    ends = torch.tensor([sum(s.n for s in c) for c in plan.calls]).cumsum(0).tolist()
    assert plan.needed == sorted(plan.needed) and plan.needed[-1] == len(plan.calls)
    for j, k in enumerate(plan.needed):  # part j waits for the first calls that cover it
        assert k == next(c + 1 for c, end in enumerate(ends) if end >= (j + 1) * n)


@pytest.mark.parametrize("workers", [1, 3])
def test_sampling_in_batches_and_parts_draws_the_same_tokens(workers):
    """One shard per call, whole parts per call, or any batch: the same keyed tokens."""
    cfg = load_config("configs/smoke.yaml")
    learner = Learner(cfg)
    draws = []
    for batch in (None, 32, 64, 1000):
        spec = WorkerSpec.of(cfg, "discriminator")
        pool = LocalPool([RolloutWorker(spec) for _ in range(workers)], 32, batch)
        pool.publish(learner.weights())
        parts = list(pool.sample_parts(70, 3, "negatives", 2))
        assert [p.shape for p in parts] == [(70, cfg.generator.seq_len)] * 3
        draws.append(torch.cat(parts))
    for d in draws[1:]:
        assert torch.equal(d, draws[0])
    assert not torch.equal(draws[0][:70], draws[0][70:140])


def test_pool_rewards_do_not_depend_on_worker_count():
    cfg = load_config("configs/smoke.yaml")
    learner = Learner(cfg)
    samples = torch.randint(0, cfg.generator.vocab_size, (13, cfg.generator.seq_len))
    results, draws = [], []
    for k in (1, 2, 3):
        pool = LocalPool(
            [RolloutWorker(WorkerSpec.of(cfg, "discriminator")) for _ in range(k)],
            cfg.pool.sample_chunk,
        )
        pool.publish(learner.weights())
        results.append(pool.rollout_rewards(samples, 5, step=4).rewards)
        draws.append(pool.sample(70, "eval", 1))  # 70 > sample_chunk: several shards
    for r, d in zip(results[1:], draws[1:], strict=True):
        torch.testing.assert_close(r, results[0], rtol=0, atol=1e-6)
        assert torch.equal(d, draws[0])  # fixed-size chunks: identical for every K
    assert not torch.equal(draws[0][:32], draws[0][32:64])
    # the pool equals one direct call with the same keyed uniforms
    u = torch.stack([rollout_uniforms(cfg.seed, 4, r, 13, cfg.generator.seq_len) for r in range(5)])
    torch.testing.assert_close(
        results[0],
        engine_rewards(learner.generator.eval(), learner.discriminator.eval(), samples, u),
    )


def test_reward_variance_is_the_monte_carlo_estimates_for_any_worker_count():
    """RolloutResult.mc_variance = mean over (sample, prefix) of var_r(D(completion_r)) / N,
    computed from each rollout's scores directly; the same for 1 and 3 workers."""
    from distributed_seqgan.acting.rollout import complete_prefixes
    from distributed_seqgan.acting.scoring import DiscriminatorScorer

    cfg = load_config("configs/smoke.yaml")
    learner = Learner(cfg)
    samples = torch.randint(0, cfg.generator.vocab_size, (13, cfg.generator.seq_len))
    got = []
    for k in (1, 3):
        pool = LocalPool(
            [RolloutWorker(WorkerSpec.of(cfg, "discriminator")) for _ in range(k)],
            cfg.pool.sample_chunk,
        )
        pool.publish(learner.weights())
        got.append(pool.rollout_rewards(samples, 6, step=2).mc_variance)
        assert pool.rollout_rewards(samples, 1, step=2).mc_variance is None  # no spread
    u = torch.stack([rollout_uniforms(cfg.seed, 2, r, 13, cfg.generator.seq_len) for r in range(6)])
    with torch.no_grad():
        completions = complete_prefixes(learner.generator.eval(), samples, u)  # (T-1, R, B, T)
        scores, _ = DiscriminatorScorer(learner.discriminator.eval())(
            samples, completions
        )  # (T-1, R, B)
    want = (scores.double().var(dim=1) / 6).mean().item()
    assert got[0] == pytest.approx(want, rel=1e-9) and got[1] == pytest.approx(want, rel=1e-9)
    assert want > 0


def test_worker_rejects_stale_versions():
    import dataclasses

    from distributed_seqgan.acting.messages import RolloutShard, StaleWeightsError

    cfg = load_config("configs/smoke.yaml")
    learner, worker = Learner(cfg), RolloutWorker(WorkerSpec.of(cfg, "discriminator"))
    weights = learner.weights()
    assert weights.version == learner.updates  # the learner's update count is the version
    worker.set_weights(dataclasses.replace(weights, version=3))
    samples = torch.zeros(2, cfg.generator.seq_len, dtype=torch.long)
    with pytest.raises(StaleWeightsError):
        worker.rollout_rewards(2, samples, 2, RolloutShard(0, 0, 2, 0, 1))
    with pytest.raises(StaleWeightsError):
        worker.set_weights(dataclasses.replace(weights, version=1))
    assert worker.rollout_rewards(3, samples, 2, RolloutShard(0, 0, 2, 0, 1)).version == 3


def test_delayed_rollout_policy_update():
    cfg = load_config(
        "configs/smoke.yaml",
        ["schedule.rollout_policy=delayed", "schedule.rollout_update_rate=0.8"],
    )
    learner = Learner(cfg)
    before = {k: v.clone() for k, v in learner.rollout_policy.state_dict().items()}
    samples = torch.randint(0, cfg.generator.vocab_size, (16, cfg.generator.seq_len))
    learner.pg_step(samples, torch.rand(16, cfg.generator.seq_len))
    g = learner.generator.state_dict()
    assert not torch.equal(g["output.weight"], before["output.weight"])
    learner.update_rollout_policy()
    for k, v in learner.rollout_policy.state_dict().items():
        torch.testing.assert_close(v, 0.8 * before[k] + 0.2 * g[k])
    same = Learner(load_config("configs/smoke.yaml"))
    assert same.rollout_policy is same.generator and same.weights().rollout is None


def test_delayed_rollout_policy_starts_as_the_pretrained_generator(tmp_path):
    """The official code builds its rollout copy after pretraining: at the first adversarial
    iteration the copy equals the MLE-pretrained G, not the random initialisation."""
    from distributed_seqgan.infra import checkpoint
    from distributed_seqgan.runner import train

    cfg = load_config(
        "configs/smoke.yaml",
        ["schedule.rollout_policy=delayed", "schedule.adv_iterations=1",
         f"run.out_dir={tmp_path}", "run.name=d"],
    )  # fmt: skip
    run = train(cfg, quiet=True)
    g0 = checkpoint.load(run / "checkpoints" / "pretrained.pt")["learner"]["generator"]
    end = checkpoint.load(run / "checkpoints" / "latest.pt")["learner"]
    init = Learner(cfg).generator.state_dict()
    for k, roll in end["rollout"].items():
        # one PG step, then theta_r <- 0.8 theta_r + 0.2 theta, from theta_r = G after MLE
        torch.testing.assert_close(roll, 0.8 * g0[k] + 0.2 * end["generator"][k])
        if k == "output.weight":
            assert not torch.allclose(roll, 0.8 * init[k] + 0.2 * end["generator"][k])
