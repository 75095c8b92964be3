"""Line-per-sample text corpora: tokenizers, vocabulary, seeded split, fixed-length encoding.

Any UTF-8 file with one sample per line becomes a SeqGAN task. Why fixed length with an end
token: the generator emits exactly ``seq_len`` tokens (as in the paper), so a shorter line
is encoded as its tokens, then the end token, then more end tokens (padding); decoding stops
at the first end token, which is how generated sequences turn back into text. The end token
is also the start token the generator is conditioned on.

The tokenizers need no downloaded data (no nltk ``punkt``):
- ``word``: words (with inner apostrophes) and single punctuation characters;
- ``char``: every character, spaces included;
- ``whitespace``: split on whitespace (for pre-segmented corpora such as the poems).
For each, ``tokenize(detokenize(tokens)) == tokens``, which is what makes decoded samples
comparable with the references token for token.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import DataError
from ..seeding import generator as keyed_generator

END, UNK = "<end>", "<unk>"
SPECIALS = (END, UNK)  # ids 0 and 1; END is also the start token and the padding
END_ID, UNK_ID = 0, 1
TOKENIZERS = ("word", "char", "whitespace")
_WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


def tokenize(line: str, kind: str, lowercase: bool = False) -> list[str]:
    if lowercase:
        line = line.lower()
    if kind == "word":
        return _WORD.findall(line)
    if kind == "char":
        return list(line)
    if kind == "whitespace":
        return line.split()
    raise DataError(f"unknown tokenizer {kind!r}; expected one of {', '.join(TOKENIZERS)}")


def detokenize(tokens: Sequence[str], kind: str) -> str:
    return "".join(tokens) if kind == "char" else " ".join(tokens)


@dataclass(frozen=True)
class Vocab:
    """Token <-> id. Ids 0 and 1 are ``<end>`` and ``<unk>``; then tokens by frequency."""

    tokens: tuple[str, ...]
    tokenizer: str
    lowercase: bool = False

    def __post_init__(self) -> None:
        # <end> is never looked up: a literal "<end>" in the text must not end a sample.
        index = {t: i for i, t in enumerate(self.tokens) if i != END_ID}
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def build(
        cls,
        lines: Sequence[Sequence[str]],
        tokenizer: str,
        lowercase: bool,
        min_count: int = 1,
        max_size: int | None = None,
    ) -> Vocab:
        """Most frequent tokens first, ties broken by the token itself (deterministic)."""
        counts = Counter(t for line in lines for t in line)
        for special in SPECIALS:
            counts.pop(special, None)
        kept = sorted(
            (t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t)
        )
        if len(kept) < 2:
            raise DataError(
                f"the vocabulary has {len(kept)} token(s) with min_count {min_count}; a text "
                "task needs at least 2 distinct tokens"
            )
        if max_size is not None:
            kept = kept[: max_size - len(SPECIALS)]
        return cls(SPECIALS + tuple(kept), tokenizer, lowercase)

    def encode(self, tokens: Sequence[str], seq_len: int) -> list[int]:
        """Token ids padded with ``<end>`` to seq_len; a line of exactly seq_len has no end."""
        if len(tokens) > seq_len:
            raise ValueError(f"{len(tokens)} tokens do not fit seq_len {seq_len}")
        ids = [self.id(t) for t in tokens]
        return ids + [END_ID] * (seq_len - len(ids))

    def id(self, token: str) -> int:
        """The token's id; ``<unk>``'s for a token outside the vocabulary."""
        return self._index.get(token, UNK_ID)  # type: ignore[attr-defined]

    def decode_tokens(self, ids: Sequence[int]) -> list[str]:
        """Tokens up to the first ``<end>``."""
        out: list[str] = []
        for i in ids:
            if i == END_ID:
                break
            out.append(self.tokens[i])
        return out

    def decode(self, ids: Sequence[int]) -> str:
        return detokenize(self.decode_tokens(ids), self.tokenizer)

    def save(self, path: Path) -> None:
        body = {"tokenizer": self.tokenizer, "lowercase": self.lowercase, "tokens": self.tokens}
        path.write_text(json.dumps(body, ensure_ascii=False, indent=0), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Vocab:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            return cls(tuple(body["tokens"]), body["tokenizer"], bool(body["lowercase"]))
        except FileNotFoundError:
            raise DataError(f"vocabulary not found: {path}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"malformed vocabulary {path}: {exc}") from None


def read_lines(path: Path) -> list[str]:
    """The file's lines (no line endings). One-line errors for missing or non-UTF-8 files."""
    if not path.is_file():
        raise DataError(f"text corpus not found: {path}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}:{line}: not UTF-8 text (byte {exc.start}); re-encode the file as UTF-8"
        ) from None
    return text.splitlines()


@dataclass(frozen=True)
class CorpusSpec:
    """How to turn a file's lines into samples (the ``data`` config keys, gathered)."""

    tokenizer: str = "word"
    lowercase: bool = False
    seq_len: int = 20
    long_lines: str = "error"  # error | drop | truncate
    drop_patterns: tuple[str, ...] = ()
    max_lines: int | None = None
    min_count: int = 1
    max_vocab: int | None = None
    test_fraction: float = 0.1


@dataclass(frozen=True)
class EncodedCorpus:
    vocab: Vocab
    train: torch.Tensor  # (n_train, T) int64
    test: torch.Tensor  # (n_test, T) int64
    references: list[list[str]]  # test samples as tokens (BLEU references)
    dropped: dict[str, int]  # why lines were left out -> how many
    test_unknown: int = 0  # test tokens outside the (training) vocabulary, encoded as <unk>
    test_tokens: int = 0  # all test tokens


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """A seeded permutation: its first round(n * test_fraction) indices (at least 1, at most
    n - 1) are the test part; both parts sorted, so samples keep their file order."""
    if n < 2:
        raise DataError(f"need at least 2 samples to split into train and test, got {n}")
    n_test = min(n - 1, max(1, round(n * test_fraction)))
    perm = torch.randperm(n, generator=keyed_generator(seed, "data-split")).tolist()
    return sorted(perm[n_test:]), sorted(perm[:n_test])


def tokenize_lines(
    path: Path, lines: list[str], spec: CorpusSpec
) -> tuple[list[list[str]], dict[str, int]]:
    """Tokenized samples after dropping empty, boilerplate and (if asked) long lines."""
    patterns = [re.compile(p, re.IGNORECASE) for p in spec.drop_patterns]
    if spec.max_lines is not None:
        lines = lines[: spec.max_lines]
    samples: list[list[str]] = []
    dropped = Counter[str]()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            dropped["empty"] += 1
            continue
        if any(p.search(line) for p in patterns):
            dropped["drop_patterns"] += 1
            continue
        tokens = tokenize(line, spec.tokenizer, spec.lowercase)
        if len(tokens) > spec.seq_len:
            if spec.long_lines == "error":
                raise DataError(
                    f"{path}:{lineno}: {len(tokens)} tokens, longer than generator.seq_len "
                    f"{spec.seq_len}; raise seq_len or set data.long_lines to drop or truncate"
                )
            if spec.long_lines == "drop":
                dropped["long"] += 1
                continue
            tokens = tokens[: spec.seq_len]
            dropped["truncated (kept)"] += 1
        samples.append(tokens)
    if not samples:
        raise DataError(f"{path}: no samples (every line is empty or dropped)")
    return samples, dict(dropped)


def encode_corpus(
    path: Path, spec: CorpusSpec, seed: int, test_path: Path | None = None
) -> EncodedCorpus:
    """Reads, tokenizes, splits (seeded) and encodes; the vocabulary comes from train only.

    With ``test_path`` the test set is that file, not a split of ``path``: it goes through
    the same tokenizer and line rules (``max_lines`` aside, which limits the training file
    only), is encoded with the training vocabulary (unknown tokens become ``<unk>`` and are
    counted), and its own tokens are the BLEU references, so scores are against exactly
    that file, as published benchmark tables are.
    """
    samples, dropped = tokenize_lines(path, read_lines(path), spec)
    if test_path is None:
        train_idx, test_idx = split_indices(len(samples), spec.test_fraction, seed)
        train_tokens = [samples[i] for i in train_idx]
        test_tokens = [samples[i] for i in test_idx]
    else:
        train_tokens = samples
        test_spec = dataclasses.replace(spec, max_lines=None)
        test_tokens, test_dropped = tokenize_lines(test_path, read_lines(test_path), test_spec)
        dropped |= {f"test file {k}": v for k, v in test_dropped.items()}
    vocab = Vocab.build(
        train_tokens, spec.tokenizer, spec.lowercase, spec.min_count, spec.max_vocab
    )

    def encode(rows: list[list[str]]) -> torch.Tensor:
        return torch.tensor([vocab.encode(r, spec.seq_len) for r in rows], dtype=torch.long)

    train = encode(train_tokens)  # (n_train, T)
    test = encode(test_tokens)  # (n_test, T)
    if test_path is None:  # as the model could write them (rare tokens as <unk>)
        references = [vocab.decode_tokens(row) for row in test.tolist()]
    else:  # the file's own tokens
        references = test_tokens
    n_tokens = sum(len(r) for r in test_tokens)
    unknown = sum(1 for r in test_tokens for t in r if vocab.id(t) == UNK_ID)
    return EncodedCorpus(vocab, train, test, references, dropped, unknown, n_tokens)
