"""The CUDA fast path against the eager path (skipped where torch sees no CUDA device, as
on CI). benchmarks/gpu.sh runs these on a GPU machine."""

from __future__ import annotations

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
    return max(float((p - q).abs().max()) for p, q in pairs)


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
