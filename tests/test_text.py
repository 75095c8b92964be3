"""Text corpora: tokenizers, vocabulary, seeded split, fixed-length encoding, bad input."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from distributed_seqgan.data import text
from distributed_seqgan.data.text import END_ID, UNK_ID, CorpusSpec, Vocab
from distributed_seqgan.errors import DataError

LINES = [
    "The economy is growing -- but not fast enough.",
    "We can't wait; we won't wait.",
    "Thank you, God bless you, and God bless the United States of America.",
    "It’s 3.5 percent, up from 2% in 2008!",
    "Ça va? Naïve café — déjà vu.",
]


@pytest.mark.parametrize("kind", text.TOKENIZERS)
@pytest.mark.parametrize("lowercase", [False, True])
def test_tokenize_detokenize_round_trip(kind, lowercase):
    for line in LINES:
        tokens = text.tokenize(line, kind, lowercase)
        assert tokens and text.tokenize(text.detokenize(tokens, kind), kind, lowercase) == tokens
    assert text.detokenize(text.tokenize(LINES[0], "char"), "char") == LINES[0]  # exact text
    assert text.tokenize("We can't wait.", "word") == ["We", "can't", "wait", "."]


@pytest.mark.parametrize("kind", text.TOKENIZERS)
def test_encode_decode_round_trip(kind):
    rows = [text.tokenize(line, kind) for line in LINES]
    vocab = Vocab.build(rows, kind, False)
    seq_len = max(map(len, rows)) + 1
    for line, row in zip(LINES, rows, strict=True):
        ids = vocab.encode(row, seq_len)
        assert len(ids) == seq_len and ids[len(row)] == END_ID  # end token, then padding
        assert vocab.decode_tokens(ids) == row
        if kind != "word":
            assert vocab.decode(ids) == (line if kind == "char" else " ".join(line.split()))
    full = vocab.encode(rows[0], len(rows[0]))  # exactly seq_len tokens: no end token
    assert END_ID not in full and vocab.decode_tokens(full) == rows[0]


def test_vocab_specials_unknowns_and_literal_end():
    vocab = Vocab.build([["a", "b", "b", "<end>", "<unk>"], ["c", "b"]], "whitespace", False)
    assert vocab.tokens[:2] == ("<end>", "<unk>") and vocab.tokens[2] == "b"  # by frequency
    ids = vocab.encode(["a", "<end>", "zzz", "b"], 6)
    assert ids == [vocab.tokens.index("a"), UNK_ID, UNK_ID, vocab.tokens.index("b"), 0, 0]
    capped = Vocab.build([["a", "b", "b", "c", "c", "c"]], "whitespace", False, max_size=4)
    assert capped.tokens == ("<end>", "<unk>", "c", "b")
    with pytest.raises(DataError, match="1 token"):  # min_count leaves only "b"
        Vocab.build([["a", "b", "b"]], "word", False, min_count=2)


def test_vocab_save_load(tmp_path):
    vocab = Vocab.build([["x", "y", "y"]], "char", True)
    vocab.save(tmp_path / "vocab.json")
    assert Vocab.load(tmp_path / "vocab.json") == vocab
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(DataError, match="malformed vocabulary"):
        Vocab.load(tmp_path / "bad.json")


def _corpus(tmp_path: Path, n: int = 200) -> Path:
    rng = random.Random(0)
    words = [f"w{i}" for i in range(30)]
    lines = [" ".join(rng.choices(words, k=rng.randint(1, 9))) for _ in range(n)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_vocab_and_split_are_deterministic_for_a_seed(tmp_path):
    path = _corpus(tmp_path)
    spec = CorpusSpec(tokenizer="whitespace", seq_len=10, test_fraction=0.25)
    a, b = text.encode_corpus(path, spec, seed=5), text.encode_corpus(path, spec, seed=5)
    assert a.vocab == b.vocab and a.train.equal(b.train) and a.test.equal(b.test)
    assert a.train.shape == (150, 10) and a.test.shape == (50, 10)
    c = text.encode_corpus(path, spec, seed=6)
    assert not (c.test.shape == a.test.shape and c.test.equal(a.test))  # another split
    # every line lands in exactly one part
    lines = path.read_text(encoding="utf-8").splitlines()
    decoded = sorted(a.vocab.decode(r) for r in [*a.train.tolist(), *a.test.tolist()])
    assert decoded == sorted(lines)
    assert a.references == [a.vocab.decode_tokens(r) for r in a.test.tolist()]


def test_drop_patterns_empty_lines_truncate_and_drop(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(
        "a b c\n\n   \nCopyright 2010 all rights reserved\nd e f g h i\nb c\n", encoding="utf-8"
    )
    base = dict(tokenizer="whitespace", seq_len=4, drop_patterns=("all rights reserved",))
    cut = text.tokenize_lines(
        path, text.read_lines(path), CorpusSpec(**base, long_lines="truncate")
    )
    assert cut[0] == [["a", "b", "c"], ["d", "e", "f", "g"], ["b", "c"]]
    assert cut[1] == {"empty": 2, "drop_patterns": 1, "truncated (kept)": 1}
    dropped = text.tokenize_lines(
        path, text.read_lines(path), CorpusSpec(**base, long_lines="drop")
    )
    assert len(dropped[0]) == 2 and dropped[1]["long"] == 1
    with pytest.raises(DataError, match=r"c\.txt:5: 6 tokens, longer than generator.seq_len 4"):
        text.tokenize_lines(path, text.read_lines(path), CorpusSpec(**base))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no samples"),
        (b"\n  \n\n", "no samples"),
        (b"good line\ncaf\xe9 latin-1\n", r"x\.txt:2: not UTF-8 text"),
        (b"same same\nsame\nsame same same\n", "vocabulary has 1 token"),
        (b"one line only\n", "at least 2 samples"),
    ],
)
def test_bad_corpora_get_one_line_errors(tmp_path, content, message):
    path = tmp_path / "x.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as err:
        text.encode_corpus(path, CorpusSpec(tokenizer="whitespace", seq_len=8), seed=0)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="text corpus not found"):
        text.read_lines(tmp_path / "nope.txt")


def test_a_fixed_test_file_is_the_test_set_and_the_bleu_references(tmp_path):
    """data.test_path: the test set is exactly that file, encoded with the training
    vocabulary (unknown tokens counted), and BLEU is against its own tokens (nltk agrees)."""
    import torch
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    from distributed_seqgan.config import load_config
    from distributed_seqgan.tasks import build_task

    train, test = tmp_path / "train.txt", tmp_path / "test.txt"
    train.write_text("the cat sat\nthe dog sat\na cat ran\n" * 30, encoding="utf-8")
    test.write_text("the cat ran\nthe emu sat down\n", encoding="utf-8")
    smoke = Path(__file__).resolve().parent.parent / "configs" / "smoke.yaml"
    cfg = load_config(smoke, ["task=text", f"data.path={train}", f"data.test_path={test}",
                              "data.tokenizer=whitespace", "generator.seq_len=6",
                              "data.test_fraction=0.5", "eval.bleu_samples=3",
                              "eval.self_bleu_samples=2"])  # fmt: skip
    task, built = build_task(cfg)
    assert len(task.train) == 90  # the whole training file: no split
    assert task.references == [["the", "cat", "ran"], ["the", "emu", "sat", "down"]]
    the, sat = task.vocab.id("the"), task.vocab.id("sat")
    assert task.test[1].tolist() == [the, UNK_ID, sat, UNK_ID, END_ID, END_ID]  # emu, down
    assert task.test_unknown == 2 and "2 of 7 tokens" in task.summary()
    samples = torch.tensor([task.vocab.encode(r, 6) for r in (["the", "cat", "sat"],
                            ["a", "cat", "ran"], ["the", "dog", "sat", "sat"])])  # fmt: skip
    got = task.evaluate(samples, None)
    smooth = SmoothingFunction().method1
    for n in (2, 3):
        want = sum(
            sentence_bleu(task.references, task.vocab.decode_tokens(row), weights=(1 / n,) * n,
                          smoothing_function=smooth)
            for row in samples.tolist()
        ) / len(samples)  # fmt: skip
        assert got[f"bleu{n}"] == pytest.approx(want, abs=1e-12)
    assert built.generator.vocab_size == len(task.vocab) == 2 + 6  # no test token added
    with pytest.raises(DataError, match="text corpus not found"):
        build_task(load_config(smoke, ["task=text", f"data.path={train}",
                                       f"data.test_path={tmp_path / 'nope.txt'}"]))  # fmt: skip


def test_an_evaluation_draws_and_reads_only_what_it_scores(tmp_path):
    """Text: samples = max(bleu_samples, self_bleu_samples); NLL-test on a fixed seeded
    subset of eval.nll_test_samples test samples (null: all). Music keeps every sample
    (MSE scores them all)."""
    from distributed_seqgan.config import load_config
    from distributed_seqgan.tasks import build_task

    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"w{i % 50} w{i % 7} w{i % 11}\n" for i in range(400)))
    smoke = Path(__file__).resolve().parent.parent / "configs" / "smoke.yaml"
    base = ["task=text", f"data.path={corpus}", "data.test_fraction=0.25", "generator.seq_len=4",
            "eval.bleu_samples=30", "eval.self_bleu_samples=20"]  # fmt: skip
    task, _ = build_task(load_config(smoke, [*base, "eval.nll_test_samples=40"]))
    again, _ = build_task(load_config(smoke, [*base, "eval.nll_test_samples=40"]))
    whole, _ = build_task(load_config(smoke, [*base, "eval.nll_test_samples=null"]))
    assert task.eval_samples(9984) == 30 and task.eval_samples(10) == 10
    assert len(task.test) == 100 and len(task.nll_test_set) == 40
    assert task.nll_test_set.tolist() == again.nll_test_set.tolist()  # the same every time
    rows = {tuple(r) for r in task.test.tolist()}
    assert all(tuple(r) in rows for r in task.nll_test_set.tolist())
    assert whole.nll_test_set is whole.test and "NLL-test on a fixed 40" in task.summary()
    music, _ = build_task(load_config(smoke, ["task=music", "data.corpus=nottingham-mat",
                                              "data.max_lines=4", "generator.seq_len=16"]))  # fmt: skip
    assert music.eval_samples(9984) == 9984
