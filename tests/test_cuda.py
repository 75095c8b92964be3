"""The CUDA fast path against the eager path (skipped where torch sees no CUDA device, as
on CI). benchmarks/gpu.sh runs these on a GPU machine."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from distributed_seqgan.config import load_config
from distributed_seqgan.learning.learner import Learner
from distributed_seqgan.seeding import uniforms

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA device"),
]

SMALL = [
    "generator.vocab_size=60", "generator.seq_len=20", "generator.emb_dim=16",
    "generator.hidden_dim=16", "discriminator.emb_dim=16", "schedule.batch_size=32",
    "run.device=cuda", "schedule.d_epochs=3",
]  # fmt: skip


def _rounds(graphs: bool, *sets: str, rounds: int = 4) -> tuple[Learner, list[dict]]:
    learner = Learner(load_config(None, [*SMALL, f"run.cuda_graphs={graphs}", *sets]))
    g = torch.Generator().manual_seed(0)
    pos = torch.randint(0, 30, (640, 20), generator=g)  # tokens < 30: "real"
    neg = learner.sample(uniforms((640, 20), 0, "neg"))
    stats = [learner.d_round(pos, neg, "t", r) for r in range(rounds)]
    return learner, stats


def _max_weight_diff(a: Learner, b: Learner) -> float:
    pairs = zip(a.discriminator.parameters(), b.discriminator.parameters(), strict=True)
    return max(float((p - q).detach().abs().max()) for p, q in pairs)


def test_graph_rounds_equal_eager_rounds_without_dropout():
    """Without dropout a replayed pass does the eager pass's arithmetic: the same kernels
    on the same addresses' values, so stats and weights agree to float rounding."""
    fast, fs = _rounds(True, "discriminator.dropout=0.0")
    slow, ss = _rounds(False, "discriminator.dropout=0.0")
    assert fast.d_rounds._graph is not None and slow.d_rounds._graph is None
    for f, s in zip(fs, ss, strict=True):
        assert f["d_acc"] == pytest.approx(s["d_acc"], abs=2 / (1280 * 3))
        assert f["d_loss"] == pytest.approx(s["d_loss"], rel=1e-5, abs=1e-6)
    diff = _max_weight_diff(fast, slow)
    print(f"max |weight difference| after 4 rounds, no dropout: {diff:.3g}")
    assert diff < 1e-4
    assert fast.updates == slow.updates


def test_graph_rounds_with_dropout_follow_the_keyed_seed():
    """With dropout, a replay draws its masks from the CUDA generator the round seeds: the
    same seed gives the same round again, and the eager path's stats stay close (their
    masks may differ; the measured difference is printed)."""
    a, sa = _rounds(True)
    b, sb = _rounds(True)
    assert sa == sb and _max_weight_diff(a, b) == 0.0  # keyed: replays repeat exactly
    eager, se = _rounds(False)
    gaps = [abs(f["d_loss"] - e["d_loss"]) for f, e in zip(sa, se, strict=True)]
    print(f"|d_loss graph - eager| per round, dropout 0.75: {gaps}")
    assert max(gaps) < 0.05


def test_gemm_formulation_under_graphs_trains_as_the_conv_one():
    """D as padded GEMMs (``discriminator.formulation=gemm``), replayed as graphs: equal to
    its own eager rounds to rounding, and to the conv formulation's within what Adam makes
    of rounding differences (its normalized steps turn sign noise in near-zero gradients
    into steps of up to lr; on CPU the same comparison gave 5.9e-4 after 4 rounds)."""
    fast, fs = _rounds(True, "discriminator.dropout=0.0", "discriminator.formulation=gemm")
    eager, es = _rounds(False, "discriminator.dropout=0.0", "discriminator.formulation=gemm")
    conv, cs = _rounds(False, "discriminator.dropout=0.0", "discriminator.formulation=conv")
    assert fast.d_rounds._graph is not None
    for f, e, c in zip(fs, es, cs, strict=True):
        assert f["d_loss"] == pytest.approx(e["d_loss"], rel=1e-5, abs=1e-6)
        assert f["d_loss"] == pytest.approx(c["d_loss"], rel=1e-4, abs=1e-5)
        assert f["d_acc"] == pytest.approx(c["d_acc"], abs=3 / (1280 * 3))
    own, other = _max_weight_diff(fast, eager), _max_weight_diff(fast, conv)
    print(
        f"max |weight difference| after 4 rounds: gemm graph vs eager {own:.3g}, vs conv {other:.3g}"
    )
    assert own < 1e-4 and other < 3e-3


def test_loading_a_checkpoint_recaptures():
    """Loading a state replaces Adam's state tensors; the graph that held their addresses
    is dropped and the next rounds (eager, then captured again) train as a fresh learner
    from that state does."""
    a, _ = _rounds(True, "discriminator.dropout=0.0", rounds=3)
    state = a.state_dict()
    b, _ = _rounds(True, "discriminator.dropout=0.0", rounds=2)
    assert b.d_rounds._graph is not None
    _rounds_from(b, state)
    assert b.d_rounds._graph is not None  # captured again
    c = Learner(load_config(None, [*SMALL, "run.cuda_graphs=false", "discriminator.dropout=0.0"]))
    _rounds_from(c, state)
    assert _max_weight_diff(b, c) < 1e-4


def _rounds_from(learner: Learner, state: dict) -> None:
    learner.load_state_dict(state)
    assert learner.d_rounds._graph is None
    g = torch.Generator().manual_seed(1)
    pos, neg = (
        torch.randint(0, 30, (640, 20), generator=g),
        torch.randint(0, 60, (640, 20), generator=g),
    )
    for r in range(3):
        learner.d_round(pos, neg, "u", r)


def test_gpu_sampling_in_one_batch_draws_the_cpus_tokens():
    """Whole-batch GEMM + sampler on the GPU against 256-row chunks on the CPU, the same
    keyed uniforms: a token differs only where GEMM rounding moves a CDF boundary past its
    uniform (and the rest of that row follows); the measured share is printed."""
    cfg = load_config(None, [*SMALL, "run.device=cpu"])
    cpu = Learner(cfg).generator.eval()
    gpu = Learner(cfg).generator.eval()
    gpu.load_state_dict(cpu.state_dict())
    gpu.cuda()
    u = uniforms((4096, 20), 0, "s")
    a, b = cpu.sample(u), gpu.sample(u).cpu()
    same_rows = (a == b).all(dim=1).float().mean().item()
    print(f"rows identical CPU vs GPU: {same_rows:.4%}")
    assert same_rows > 0.99


def test_gpu_rewards_close_to_the_cpus():
    """A worker on the GPU (whole-batch rollouts, every completion scored densely) against
    one on the CPU (chunks, dedup, prefix reuse): the rewards of one batch."""
    from distributed_seqgan.acting.messages import RolloutShard, WorkerSpec
    from distributed_seqgan.acting.worker import RolloutWorker

    cfg = load_config(None, [*SMALL, "run.device=cpu"])
    weights = Learner(cfg).weights()
    samples = torch.randint(0, 60, (32, 20), generator=torch.Generator().manual_seed(4))
    shard = RolloutShard(0, 0, 32, 0, 8)
    rewards = []
    for device in ("cpu", "cuda"):
        w = RolloutWorker(
            WorkerSpec.of(load_config(None, [*SMALL, f"run.device={device}"]), "discriminator")
        )
        w.set_weights(weights)
        rewards.append(w.rollout_rewards(weights.version, samples, 32, shard).rollout_sums / 8)
    diff = (rewards[0] - rewards[1]).abs()
    print(f"|reward CPU - GPU|: mean {diff.mean():.3g}, max {diff.max():.3g}")
    assert diff.mean() < 1e-3


def test_gpu_mle_epoch_equals_the_cpus():
    """One MLE epoch (one host sync, data moved once) from the same start on both devices."""
    losses = []
    for device in ("cpu", "cuda"):
        learner = Learner(load_config(None, [*SMALL, f"run.device={device}"]))
        data = torch.randint(0, 60, (640, 20), generator=torch.Generator().manual_seed(6))
        losses.append([learner.mle_epoch(data) for _ in range(2)])
    print(f"MLE epoch losses CPU {losses[0]}, GPU {losses[1]}")
    assert losses[1] == pytest.approx(losses[0], rel=1e-4)


def _worker(graphs: bool):
    from distributed_seqgan.acting.messages import WorkerSpec
    from distributed_seqgan.acting.worker import RolloutWorker

    cfg = load_config(None, [*SMALL, f"run.cuda_graphs={graphs}"])
    return RolloutWorker(WorkerSpec.of(cfg, "discriminator"))


def test_graphed_sampling_and_rollouts_equal_eager_and_follow_new_weights():
    """A worker with CUDA graphs (first call of a shape eager + capture, later calls
    replays) against one without, over three calls and a weights update: replays run the
    eager call's kernels on the same inputs and read the weights where they are updated in
    place, so tokens and rewards agree."""
    from distributed_seqgan.acting.messages import RolloutShard, SampleShard

    fast, slow = _worker(True), _worker(False)
    learner = Learner(load_config(None, SMALL))
    g = torch.Generator().manual_seed(7)
    shard = RolloutShard(0, 0, 32, 0, 8)
    for version in range(2):
        weights = learner.weights()
        for w in (fast, slow):
            w.set_weights(weights)
        for call in range(3):
            shards = [SampleShard(n=640, stream="t", step=10 * version + call, chunk=0)]
            a, b = fast.sample(weights.version, shards)[1], slow.sample(weights.version, shards)[1]
            assert torch.equal(a, b), (version, call)
            samples = torch.randint(0, 60, (32, 20), generator=g)
            ra = fast.rollout_rewards(weights.version, samples, 32, shard).rollout_sums
            rb = slow.rollout_rewards(weights.version, samples, 32, shard).rollout_sums
            assert (ra - rb).abs().max() < 1e-5, (version, call)
        learner.mle_epoch(torch.randint(0, 60, (640, 20), generator=g))  # new G for version 1
    assert fast._sample._graphs and fast._reward_sums._graphs
    assert not slow._sample._graphs


def test_graphed_learner_sampling_equals_eager():
    """The learner's own sampling (evaluations) with and without graphs, same seed."""
    fast, slow = (
        Learner(load_config(None, [*SMALL, f"run.cuda_graphs={g}"])) for g in (True, False)
    )
    for call in range(3):
        u = uniforms((640, 20), 0, "eval", call)
        assert torch.equal(fast.sample(u), slow.sample(u)), call
    assert fast._sample._graphs and not slow._sample._graphs


def test_graph_mle_epochs_equal_eager_epochs():
    """MLE epochs with graphs (first eager, then one replay per epoch) against eager
    epochs from the same start: no random draw in a step, so the same arithmetic."""
    data = torch.randint(0, 60, (640, 20), generator=torch.Generator().manual_seed(8))
    fast, slow = (
        Learner(load_config(None, [*SMALL, f"run.cuda_graphs={g}"])) for g in (True, False)
    )
    lf = [fast.mle_epoch(data) for _ in range(3)]
    ls = [slow.mle_epoch(data) for _ in range(3)]
    assert fast.mle_passes._graph is not None and slow.mle_passes._graph is None
    print(f"MLE epoch losses, graphs {lf}, eager {ls}")
    assert lf == pytest.approx(ls, rel=1e-5)
    pairs = zip(fast.generator.parameters(), slow.generator.parameters(), strict=True)
    diff = max(float((p - q).abs().max()) for p, q in pairs)
    print(f"max |G weight difference| after 3 epochs: {diff:.3g}")
    assert diff < 1e-4
    assert fast.updates == slow.updates


# a CapturedPasses step that reads a value back on the host: fine eagerly, not capturable
SYNCING_PASS = """
import sys
import torch
from distributed_seqgan.learning.captured import CapturedPasses

class Syncing(CapturedPasses):
    def step(self, x):
        loss = x.float().mean()
        self.sums[0].add_(loss.item())  # a host read
        return loss

dev = torch.device(sys.argv[1])
passes = Syncing(dev, True, [torch.zeros((), dtype=torch.float64, device=dev)])
data = torch.ones(64, 4, device=dev)
print("eager sum", passes.run([(data,)], 32)[0])
print("captured", passes.capture_if_ready((data,), 32))
"""


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_a_failed_capture_names_the_pass_and_the_key_that_turns_graphs_off(device):
    """An op that cannot be captured fails with a message naming the captured pass and
    run.cuda_graphs, not a bare CUDA error; on CPU the same pass runs eagerly and nothing
    is captured. In a child process, so the failed capture leaves nothing in this one's
    CUDA context."""
    r = subprocess.run(
        [sys.executable, "-c", SYNCING_PASS, device],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if device == "cpu":
        assert r.returncode == 0, r.stderr
        assert r.stdout.split("\n")[:2] == ["eager sum 2.0", "captured False"]
        return
    assert r.returncode != 0 and "eager sum 2.0" in r.stdout, r.stdout + r.stderr
    assert "capturing a pass of Syncing steps as a CUDA graph failed" in r.stderr, r.stderr
    assert "run.cuda_graphs=false runs every kernel eagerly" in r.stderr
