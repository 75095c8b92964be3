"""Every fast path against the plain formulation it replaces, on random inputs of
several shapes."""

from __future__ import annotations

import itertools

import pytest
import torch

from distributed_seqgan.models import LSTMPolicy
from distributed_seqgan.models.linear_nll import CHUNK_ROWS, linear_weighted_nll


def _plain_weighted_nll(
    model: LSTMPolicy, seqs: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    logp = torch.log_softmax(model(seqs), dim=-1).gather(-1, seqs.unsqueeze(-1)).squeeze(-1)
    return -(logp * weights).sum()


@pytest.mark.parametrize(
    ("vocab", "batch", "seq_len"),
    [(7, 3, 4), (300, 16, 20), (5000, 64, 20), (50, CHUNK_ROWS // 8 + 3, 8)],
)
def test_fused_weighted_nll_matches_autograd(vocab, batch, seq_len):
    g = torch.Generator().manual_seed(vocab + batch)
    model = LSTMPolicy(vocab, 8, 16, seq_len)
    model.reset_parameters_normal(0.5, g)
    seqs = torch.randint(0, vocab, (batch, seq_len), generator=g)
    weights = torch.randn(batch, seq_len, generator=g)  # rewards may have any sign
    params = [p for p in model.parameters() if p.requires_grad]

    fast = model.weighted_nll(seqs, weights)
    fast_grads = torch.autograd.grad(fast * 1.7, params)  # non-unit upstream gradient
    plain = _plain_weighted_nll(model, seqs, weights)
    plain_grads = torch.autograd.grad(plain * 1.7, params)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-4)
    for a, b in zip(fast_grads, plain_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_fused_weighted_nll_without_grad():
    lin = torch.nn.Linear(4, 9)
    h, t = torch.randn(5, 4), torch.randint(0, 9, (5,))
    with torch.no_grad():
        got = linear_weighted_nll(h, lin, t, torch.ones(5))
        want = torch.nn.functional.cross_entropy(lin(h), t, reduction="sum")
    torch.testing.assert_close(got, want)


def test_fused_weighted_nll_under_no_grad_skips_the_gradient_work():
    """Evaluation (NLL-test) calls it under torch.no_grad() on weights that require grad:
    one GEMM per chunk of rows, not three, and the training path's loss bit for bit."""
    g = torch.Generator().manual_seed(3)
    lin = torch.nn.Linear(8, 300)
    rows = 2 * CHUNK_ROWS + 5
    h, t = torch.randn(rows, 8, generator=g), torch.randint(0, 300, (rows,), generator=g)
    w = torch.rand(rows, generator=g)

    def gemms(grad: bool) -> tuple[torch.Tensor, int]:
        with torch.profiler.profile() as prof, torch.set_grad_enabled(grad):
            loss = linear_weighted_nll(h, lin, t, w)
        names = [e.name for e in prof.events()]
        return loss, sum(n in ("aten::addmm", "aten::addmm_", "aten::mm") for n in names)

    loss_eval, n_eval = gemms(False)
    loss_train, n_train = gemms(True)
    chunks = -(-rows // CHUNK_ROWS)
    assert n_eval == chunks
    assert n_train == 3 * chunks
    assert torch.equal(loss_eval, loss_train.detach())


# ----------------------------------------------------------------------------- sampler
def _plain_sampler(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The textbook inverse CDF: softmax, full cumsum, search."""
    cdf = torch.softmax(logits, dim=-1).cumsum(dim=-1)
    idx = torch.searchsorted(cdf, (u * cdf[:, -1]).unsqueeze(1), right=True).squeeze(1)
    return idx.clamp(max=logits.shape[1] - 1)


@pytest.mark.parametrize("vocab", [1, 2, 3, 10, 97, 5000])
def test_blocked_sampler_equals_plain_inverse_cdf(vocab):
    from distributed_seqgan.models import sample_from_logits

    g = torch.Generator().manual_seed(vocab)
    logits = torch.randn(3000, vocab, generator=g, dtype=torch.float64) * 3
    u = torch.rand(3000, generator=g, dtype=torch.float64)
    assert torch.equal(sample_from_logits(logits.clone(), u), _plain_sampler(logits, u))
    # float32: identical but for draws within rounding of a CDF boundary
    agree = (
        (sample_from_logits(logits.float(), u) == _plain_sampler(logits.float(), u)).double().mean()
    )
    assert agree > 0.999


def test_sampler_never_draws_zero_probability_tokens():
    from distributed_seqgan.models import sample_from_logits

    logits = torch.full((2000, 50), -1e4)
    logits[:, 7] = 0.0
    logits[:, 42] = 0.0
    u = torch.linspace(0, 1 - 1e-12, 2000, dtype=torch.float64)
    assert set(sample_from_logits(logits, u).tolist()) == {7, 42}


# ----------------------------------------------------------------------------- discriminator
def _plain_features(d, seqs: torch.Tensor) -> torch.Tensor:
    """Kim-2014 CNN as the official code writes it: conv -> ReLU -> max-pool -> highway."""
    emb = d.embedding(seqs).transpose(1, 2)
    h = torch.cat([torch.relu(conv(emb)).amax(dim=2) for conv in d.convs], dim=1)
    n = d.num_features
    lin = torch.nn.functional.linear(h, d.highway.weight[:n], d.highway.bias[:n])
    gate = torch.sigmoid(torch.nn.functional.linear(h, d.highway.weight[n:], d.highway.bias[n:]))
    return gate * torch.relu(lin) + (1 - gate) * h


FORMULATIONS = [("conv", 1), ("gemm", 1), ("gemm", 2), ("gemm", 3)]  # (formulation, groups)


def _disc(vocab: int, sizes: tuple[int, ...], seed: int, form: tuple[str, int] = ("auto", 3)):
    from distributed_seqgan.models import Discriminator

    counts = tuple(3 + 2 * i for i in range(len(sizes)))
    d = Discriminator(vocab, 8, sizes, counts, 0.25, 0.2, form[0], form[1])
    d.reset_parameters_official(torch.Generator().manual_seed(seed))
    return d.eval()


@pytest.mark.parametrize("form", FORMULATIONS)
@pytest.mark.parametrize(
    ("vocab", "seq_len", "sizes"),
    [(30, 5, (1, 2, 5)), (100, 12, (1, 3, 4, 12)), (50, 20, (2, 15, 20)), (40, 9, (4, 1, 9, 2))],
)
def test_discriminator_features_equal_plain_formulation(vocab, seq_len, sizes, form):
    d = _disc(vocab, sizes, seq_len, form)
    seqs = torch.randint(0, vocab, (37, seq_len), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(d.features(seqs), _plain_features(d, seqs), rtol=1e-5, atol=1e-5)
    plain = torch.softmax(d.output(_plain_features(d, seqs)), dim=-1)[:, 1]
    torch.testing.assert_close(d.prob_real(seqs), plain, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("form", FORMULATIONS)
@pytest.mark.parametrize(
    ("vocab", "seq_len", "sizes"),
    [(30, 5, (1, 2, 5)), (100, 12, (1, 3, 4, 12)), (50, 20, (2, 15, 20)), (3, 10, (1, 2, 3))],
)
def test_discriminator_gradients_equal_plain_formulation(vocab, seq_len, sizes, form):
    """D training differentiates the fast formulations (channels-last conv2d or padded
    GEMMs, max before ReLU, one highway GEMM): their gradients must be the plain network's.
    A 3-token vocabulary makes many windows identical, hence tied: max_pool2d and max give
    one of them the whole gradient where amax splits it, which must come to the same up to
    rounding."""
    d = _disc(vocab, sizes, seq_len + 1, form)
    seqs = torch.randint(0, vocab, (29, seq_len), generator=torch.Generator().manual_seed(2))
    upstream = torch.randn(29, d.num_features, generator=torch.Generator().manual_seed(3))
    params = [p for p in d.parameters()]
    fast = torch.autograd.grad((d.features(seqs) * upstream).sum(), params, allow_unused=True)
    plain = torch.autograd.grad(
        (_plain_features(d, seqs) * upstream).sum(), params, allow_unused=True
    )
    for name, f, p in zip([n for n, _ in d.named_parameters()], fast, plain, strict=True):
        if p is None:  # the output layer is not part of the features
            assert f is None, name
            continue
        torch.testing.assert_close(f, p, rtol=1e-4, atol=1e-5, msg=name)


def test_auto_formulation_is_the_conv_one_on_cpu():
    """configs leave ``discriminator.formulation: auto``; on CPU that must stay exactly the
    measured CPU choice, so CPU numbers do not move."""
    auto, conv = _disc(50, (1, 3, 20), 4, ("auto", 3)), _disc(50, (1, 3, 20), 4, ("conv", 3))
    seqs = torch.randint(0, 50, (16, 20), generator=torch.Generator().manual_seed(5))
    assert torch.equal(auto.features(seqs), conv.features(seqs))


def _padded_cost(runs, widths, counts, seq_len) -> int:
    """Multiply-adds per embedding dim of padded GEMM runs, written out independently."""
    return sum(
        sum(counts[a:b]) * max(widths[a:b]) * (seq_len - min(widths[a:b]) + 1) for a, b in runs
    )


def _least_cost_by_brute_force(widths, counts, seq_len, groups) -> int:
    n = len(widths)
    return min(
        _padded_cost(list(itertools.pairwise((0, *cuts, n))), widths, counts, seq_len)
        for g in range(1, min(groups, n) + 1)
        for cuts in itertools.combinations(range(1, n), g - 1)
    )


@pytest.mark.parametrize("groups", [1, 2, 3, 5])
def test_gemm_runs_cover_the_filters_in_order_at_least_cost(groups):
    from distributed_seqgan.models.discriminator import gemm_runs

    widths = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20]  # the paper's D
    counts = [100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160]
    runs = gemm_runs(widths, counts, 20, groups)
    assert runs[0][0] == 0 and runs[-1][1] == len(widths) and len(runs) <= groups
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(runs))  # contiguous, in order
    want = _least_cost_by_brute_force(widths, counts, 20, groups)
    assert _padded_cost(runs, widths, counts, 20) == want


@pytest.mark.parametrize(("seq_len", "sizes"), [(6, (1, 2, 6)), (20, (1, 2, 3, 5, 10, 15, 20))])
def test_known_prefix_scoring_equals_full_scoring(seq_len, sizes):
    g = torch.Generator().manual_seed(seq_len)
    d = _disc(40, sizes, 0)
    samples = torch.randint(0, 40, (9, seq_len), generator=g)
    m = 200
    source = torch.randint(0, 9, (m,), generator=g)
    prefix_len = torch.randint(0, seq_len + 1, (m,), generator=g)
    seqs = torch.randint(0, 40, (m, seq_len), generator=g)
    keep = torch.arange(seq_len).unsqueeze(0) < prefix_len.unsqueeze(1)  # (m, T)
    seqs = torch.where(keep, samples[source], seqs)
    fast = d.score_with_known_prefix(seqs, prefix_len, source, samples)
    torch.testing.assert_close(fast, d.prob_real(seqs), rtol=1e-5, atol=1e-6)


def test_bf16_rewards_within_001_of_fp32():
    """bf16 autocast scoring on a random model and on one D trained to separate data."""
    from reference_rollout import engine_rewards

    from distributed_seqgan.config import load_config
    from distributed_seqgan.learning.learner import Learner

    cfg = load_config(None, ["generator.vocab_size=300", "generator.seq_len=12", "oracle.kind=random",
                             "discriminator.filter_sizes=[1,2,3,5,12]", "discriminator.num_filters=[40,60,60,40,40]",
                             "discriminator.lr=0.001", "schedule.batch_size=32"])  # fmt: skip
    learner = Learner(cfg)
    g = torch.Generator().manual_seed(0)
    samples = torch.randint(0, 300, (16, 12), generator=g)
    u = torch.rand(8, 11, 16, 12, generator=g, dtype=torch.float64)
    for trained in (False, True):
        if trained:
            real = torch.randint(0, 150, (512, 12), generator=g)  # "real" = low ids
            learner.d_round(real, torch.randint(150, 300, (512, 12), generator=g), "t", 0)
        gen, disc = learner.generator.eval(), learner.discriminator.eval()
        fp32 = engine_rewards(gen, disc, samples, u)
        bf16 = engine_rewards(gen, disc, samples, u, bf16=True)
        assert (fp32 - bf16).abs().max() < 0.01, trained
        assert fp32.std() > 0.01  # the rewards carry signal worth being accurate about


def test_unique_rows_equals_torch_unique():
    from distributed_seqgan.acting.rollout import unique_rows

    g = torch.Generator().manual_seed(0)
    rows = torch.randint(0, 4, (3000, 6), generator=g)  # many duplicates
    uniq, inverse = unique_rows(rows)
    assert torch.equal(uniq[inverse], rows)
    assert len(uniq) == len(torch.unique(rows, dim=0)) and len(uniq) == len(
        {tuple(r) for r in rows.tolist()}
    )


@pytest.mark.parametrize("bf16", [False, True])
def test_dense_scoring_equals_dedup_and_prefix_reuse(bf16):
    """The GPU's scorer (every completion as it is, static shapes) against the CPU's
    (distinct completions once, prefix windows reused): the same rewards up to rounding,
    on a peaky generator whose completions repeat often (what dedup exploits)."""
    from distributed_seqgan.acting.rollout import complete_prefixes
    from distributed_seqgan.acting.scoring import DiscriminatorScorer

    g = torch.Generator().manual_seed(5)
    policy = LSTMPolicy(12, 8, 8, 10).eval()
    with torch.no_grad():
        policy.output.bias[3] = 8.0  # peaky: token 3 most of the time, completions repeat
    d = _disc(12, (1, 2, 3, 10), 0)
    samples = torch.randint(0, 12, (7, 10), generator=g)
    u = torch.rand(5, 9, 7, 10, generator=g, dtype=torch.float64)
    completions = complete_prefixes(policy, samples, u)  # (T-1, R, B, T)
    assert len(torch.unique(completions.reshape(-1, 10), dim=0)) < completions[..., 0].numel() / 2
    dense = DiscriminatorScorer(d, bf16, dense=True)(samples, completions)
    reuse = DiscriminatorScorer(d, bf16, dense=False)(samples, completions)
    assert DiscriminatorScorer(d, bf16)(samples, completions)[0].equal(reuse[0])  # CPU: reuse
    for a, b in zip(dense, reuse, strict=True):
        tol = 2e-2 if bf16 else 1e-6
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)
