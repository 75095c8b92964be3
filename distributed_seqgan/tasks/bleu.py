"""BLEU as nltk's ``sentence_bleu`` computes it, fast against thousands of references.

The paper and Texygen score each generated sample with ``sentence_bleu(references=<the
whole test set>, hypothesis, weights=(1/n,)*n, smoothing_function=method1)`` and average
over samples. nltk recounts every reference's n-grams for every hypothesis: O(hyps x refs).
Here the references are counted once, keeping per n-gram its maximum count over the
references (all modified precision needs), so one hypothesis costs O(its own length).
tests/test_bleu.py checks equality with nltk on random subsets.

Self-BLEU scores each sample against all *other* samples (the hypothesis itself excluded,
as in Texygen's fast path; including it would make every score 1). For that, per n-gram
the table also keeps which reference holds the maximum and the runner-up count.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Hashable, Sequence

Tokens = Sequence[Hashable]
EPSILON = 0.1  # nltk SmoothingFunction().method1 default


def ngrams(tokens: Tokens, n: int) -> Counter[tuple[Hashable, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


class BleuReferences:
    """Sentence BLEU of hypotheses against one fixed set of references."""

    def __init__(self, references: Sequence[Tokens], max_order: int = 5) -> None:
        if not references:
            raise ValueError("BLEU needs at least one reference")
        self.max_order = max_order
        # Per order: ngram -> (max count, index of a reference holding it, runner-up count).
        self.tables: list[dict[tuple[Hashable, ...], tuple[int, int, int]]] = []
        for n in range(1, max_order + 1):
            table: dict[tuple[Hashable, ...], tuple[int, int, int]] = {}
            for j, ref in enumerate(references):
                for gram, c in ngrams(ref, n).items():
                    best, arg, second = table.get(gram, (0, -1, 0))
                    if c > best:
                        table[gram] = (c, j, best)
                    elif c > second:
                        table[gram] = (best, arg, c)
            self.tables.append(table)
        self.lengths = Counter(len(r) for r in references)
        self.ref_lengths = [len(r) for r in references]

    def _closest_length(self, hyp_len: int, exclude: int | None) -> int:
        """nltk's closest_ref_length: nearest length, the shorter one on a tie."""
        own = self.ref_lengths[exclude] if exclude is not None else None
        candidates = (
            length for length, count in self.lengths.items() if count > (1 if length == own else 0)
        )
        return min(candidates, key=lambda length: (abs(length - hyp_len), length))

    def scores(
        self, hypothesis: Tokens, orders: Sequence[int], exclude: int | None = None,
        smoothing: bool = True,
    ) -> dict[int, float]:  # fmt: skip
        """BLEU-n for each n in ``orders`` (uniform weights 1/n); smoothing method1, or
        none (nltk's method0: a zero precision counts as the smallest float).

        ``exclude``: index of a reference to leave out (self-BLEU).
        """
        top = max(orders)
        nums, dens = [], []
        for n in range(1, top + 1):
            table = self.tables[n - 1]
            counts = ngrams(hypothesis, n)
            matched = 0
            for gram, c in counts.items():
                best, arg, second = table.get(gram, (0, -1, 0))
                limit = second if arg == exclude and exclude is not None else best
                matched += min(c, limit)
            nums.append(matched)
            dens.append(max(1, sum(counts.values())))
        if nums[0] == 0:
            return dict.fromkeys(orders, 0.0)
        hyp_len = len(hypothesis)
        ref_len = self._closest_length(hyp_len, exclude)
        bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
        zero = (lambda d: EPSILON / d) if smoothing else (lambda d: sys.float_info.min)
        p = [zero(d) if m == 0 else m / d for m, d in zip(nums, dens, strict=True)]
        out: dict[int, float] = {}
        for n in orders:
            w = 1.0 / n
            out[n] = bp * math.exp(math.fsum(w * math.log(p_i) for p_i in p[:n]))
        return out


def mean_bleu(
    hypotheses: Sequence[Tokens], scorer: BleuReferences, orders: Sequence[int] = (2, 3, 4, 5)
) -> dict[int, float]:
    """Mean sentence BLEU-n of the hypotheses against the scorer's references."""
    if not hypotheses:
        raise ValueError("BLEU needs at least one hypothesis")
    totals = dict.fromkeys(orders, 0.0)
    for hyp in hypotheses:
        for n, s in scorer.scores(hyp, orders).items():
            totals[n] += s
    return {n: t / len(hypotheses) for n, t in totals.items()}


def self_bleu(samples: Sequence[Tokens], orders: Sequence[int] = (2, 3, 4, 5)) -> dict[int, float]:
    """Mean BLEU-n of each sample against all the others (diversity: lower is more diverse)."""
    if len(samples) < 2:
        raise ValueError("self-BLEU needs at least two samples")
    scorer = BleuReferences(samples, max(orders))
    totals = dict.fromkeys(orders, 0.0)
    for i, hyp in enumerate(samples):
        for n, s in scorer.scores(hyp, orders, exclude=i).items():
            totals[n] += s
    return {n: t / len(samples) for n, t in totals.items()}
