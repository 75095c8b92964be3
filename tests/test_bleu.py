"""Fast BLEU and self-BLEU equal nltk's sentence_bleu (smoothing method1); the music MSE
equals its brute-force definition."""

from __future__ import annotations

import random

import pytest
import torch
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from distributed_seqgan.data import text
from distributed_seqgan.tasks.bleu import BleuReferences, mean_bleu, self_bleu
from distributed_seqgan.tasks.metrics import nearest_mse

SMOOTH = SmoothingFunction().method1
ORDERS = (1, 2, 3, 4, 5)


def nltk_bleu(refs, hyp, n: int) -> float:
    return sentence_bleu(refs, hyp, weights=(1.0 / n,) * n, smoothing_function=SMOOTH)


def _random_rows(rng: random.Random, count: int, vocab: int, max_len: int) -> list[list[int]]:
    return [[rng.randrange(vocab) for _ in range(rng.randint(0, max_len))] for _ in range(count)]


@pytest.mark.parametrize("vocab", [2, 4, 30])
def test_equals_nltk_on_random_token_lists(vocab):
    rng = random.Random(vocab)
    for _ in range(5):
        refs = _random_rows(rng, rng.randint(1, 40), vocab, 12)  # incl. empty and short rows
        scorer = BleuReferences(refs)
        for hyp in _random_rows(rng, 20, vocab, 12):
            got = scorer.scores(hyp, ORDERS)
            for n in ORDERS:
                assert got[n] == pytest.approx(nltk_bleu(refs, hyp, n), abs=1e-12)


@pytest.mark.parametrize(
    ("path", "tokenizer"),
    [("chinese_poems/shi.txt", "whitespace"), ("obama/obama_speeches.txt", "word")],
)
def test_equals_nltk_on_real_corpus_subsets(data_dir, path, tokenizer):
    lines = [x for x in (data_dir / path).read_text(encoding="utf-8").splitlines() if x.strip()]
    rng = random.Random(1)
    rows = [text.tokenize(x, tokenizer, True)[:32] for x in rng.sample(lines, 260)]
    refs, hyps = rows[:200], rows[200:]
    hyps += [rng.sample(h, len(h)) for h in hyps[:20]]  # shuffled: few higher-order matches
    got = mean_bleu(hyps, BleuReferences(refs), (2, 3, 4, 5))
    for n in (2, 3, 4, 5):
        want = sum(nltk_bleu(refs, h, n) for h in hyps) / len(hyps)
        assert got[n] == pytest.approx(want, abs=1e-12)
    assert got[2] > got[5] > 0


def test_self_bleu_equals_nltk_against_the_others():
    rng = random.Random(3)
    rows = _random_rows(rng, 40, 6, 10) + [[1, 2, 3, 4]] * 3  # duplicates: ties for the max
    got = self_bleu(rows, (2, 3, 4))
    for n in (2, 3, 4):
        want = [nltk_bleu(rows[:i] + rows[i + 1 :], rows[i], n) for i in range(len(rows))]
        assert got[n] == pytest.approx(sum(want) / len(rows), abs=1e-12)
    identical = self_bleu([[5, 6, 7, 8]] * 4, (2, 4))
    assert identical == pytest.approx({2: 1.0, 4: 1.0})


def test_bad_arguments():
    with pytest.raises(ValueError, match="reference"):
        BleuReferences([])
    with pytest.raises(ValueError, match="two samples"):
        self_bleu([[1, 2]])


def test_nearest_mse_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    samples = torch.randint(0, 89, (37, 8), generator=g)
    refs = torch.randint(0, 89, (50, 8), generator=g)
    want = sum(min(((s - r).double() ** 2).mean().item() for r in refs) for s in samples) / len(
        samples
    )
    assert nearest_mse(samples, refs, chunk=5) == pytest.approx(want, rel=1e-12)
    assert nearest_mse(refs[:3], refs) == 0.0


def test_pg_bleu_reward_equals_nltk_without_smoothing():
    """The PG-BLEU reward of every rollout completion (and of each sample itself) is nltk's
    sentence_bleu, weights 1/3 each and no smoothing, against the references."""
    import warnings

    import torch
    from nltk.translate.bleu_score import sentence_bleu

    from distributed_seqgan.acting.rollout import complete_prefixes
    from distributed_seqgan.acting.scoring import BleuReward as RewardScorer
    from distributed_seqgan.models import LSTMPolicy

    g = torch.Generator().manual_seed(5)
    policy = LSTMPolicy(12, 8, 8, 7)
    policy.reset_parameters_normal(1.0, g)
    refs = torch.randint(0, 12, (40, 7), generator=g).tolist()
    samples = torch.randint(0, 12, (5, 7), generator=g)  # (B, T)
    u = torch.rand(3, 6, 5, 7, generator=g, dtype=torch.float64)  # (R, T-1, B, T)
    done = complete_prefixes(policy, samples, u)  # (T-1, R, B, T)
    scores, final = RewardScorer(refs)(samples, done)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nltk warns about zero-count n-grams
        want = [sentence_bleu(refs, h, weights=(1 / 3,) * 3) for h in done.reshape(-1, 7).tolist()]
        want_final = [sentence_bleu(refs, h, weights=(1 / 3,) * 3) for h in samples.tolist()]
    assert max(abs(a - b) for a, b in zip(scores.flatten().tolist(), want, strict=True)) < 1e-6
    assert max(abs(a - b) for a, b in zip(final.tolist(), want_final, strict=True)) < 1e-6
    assert any(w > 0 for w in want) and any(w < 1e-100 for w in want)  # both kinds occur
    tables = RewardScorer(refs).tables
    for h, w in zip(done.reshape(-1, 7).tolist(), want, strict=True):
        assert abs(tables.scores(h, (3,), smoothing=False)[3] - w) < 1e-12
