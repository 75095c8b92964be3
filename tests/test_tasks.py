"""Text and music tasks end to end: smoke training on a slice of each corpus, a user's own
file through the CLI with only a config change, decoded samples, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from distributed_seqgan.config import load_config
from distributed_seqgan.data.text import Vocab
from distributed_seqgan.errors import ConfigError
from distributed_seqgan.infra.tracking import read_metrics
from distributed_seqgan.runner import train
from distributed_seqgan.tasks import build_task

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "configs" / "smoke.yaml")
BLEU_KEYS = {f"{k}{n}" for k in ("bleu", "self_bleu") for n in (2, 3, 4, 5)}
TASKS = {
    "obama": ["task=text", "data.corpus=obama", "data.tokenizer=word", "data.lowercase=true",
              "data.long_lines=truncate", "data.max_lines=400", "generator.seq_len=12",
              "data.drop_patterns=['all rights reserved', 'copyright']"],
    "poems": ["task=text", "data.corpus=chinese-poems", "data.tokenizer=whitespace",
              "data.max_lines=300", "generator.seq_len=24"],
    "music": ["task=music", "data.corpus=nottingham-mat", "data.max_lines=6",
              "generator.seq_len=16"],
}  # fmt: skip
COMMON = ["eval.bleu_samples=64", "eval.self_bleu_samples=32", "pool.workers=1"]


def seqgan(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "distributed_seqgan", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("name", list(TASKS))
def test_smoke_training_on_a_slice_of_each_corpus(name, tmp_path):
    cfg = load_config(SMOKE, [*TASKS[name], *COMMON, f"run.out_dir={tmp_path}", "run.name=r"])
    run_dir = train(cfg, quiet=True)
    saved = load_config(run_dir / "config.yaml")
    assert saved.generator.vocab_size == (
        89 if name == "music" else len(Vocab.load(run_dir / "vocab.json"))
    )
    evals = [e for e in read_metrics(run_dir) if e["phase"] == "eval"]
    assert [e["eval_phase"] for e in evals] == ["init", "mle", "mle", "adversarial", "adversarial"]
    for e in evals:
        assert e.keys() >= BLEU_KEYS and all(0.0 <= e[k] <= 1.0 for k in BLEU_KEYS)
        assert e["bleu2"] >= e["bleu3"] >= e["bleu4"] >= e["bleu5"]  # smoothed, so not strict
        assert 0 < e["nll_test"] < 10
        assert ("mse" in e) == (name == "music") and e.get("mse", 0.0) >= 0.0
    assert (run_dir / "checkpoints" / "latest.pt").is_file()


def test_same_seed_same_task_data():
    a, _ = build_task(load_config(SMOKE, TASKS["poems"]))
    b, _ = build_task(load_config(SMOKE, TASKS["poems"]))
    c, _ = build_task(load_config(SMOKE, [*TASKS["poems"], "seed=8"]))
    assert a.train.equal(b.train) and a.test.equal(b.test)
    assert not a.test.equal(c.test)


def test_music_windows():
    task, cfg = build_task(load_config(SMOKE, TASKS["music"]))
    assert cfg.generator.vocab_size == 89 and task.train.shape[1] == 16
    assert int(task.train.min()) >= 0 and int(task.train.max()) <= 88
    # Melodies move by small steps: most consecutive pitches are within an octave.
    steps = (task.train[:, 1:] - task.train[:, :-1]).abs()
    assert (steps <= 12).float().mean() > 0.9


def test_own_text_file_with_only_a_config_change(tmp_path):
    lines = [f"the {a} sat on the {b} ." for a in ("cat", "dog", "bird") for b in ("mat", "rug")]
    corpus = tmp_path / "mine.txt"
    corpus.write_text("\n".join(lines * 30) + "\n", encoding="utf-8")
    res = seqgan(
        "train", "--config", str(REPO / "configs" / "text.yaml"),
        "--set", f"data.path={corpus}", "--set", f"run.out_dir={tmp_path}", "--set", "run.name=mine",
        "--set", "generator.seq_len=8", "--set", "discriminator.filter_sizes=[1,2,3]",
        "--set", "discriminator.num_filters=[4,4,4]", "--set", "discriminator.emb_dim=8",
        "--set", "schedule.batch_size=16", "--set", "schedule.generated_num=64",
        "--set", "schedule.mle_epochs=20", "--set", "schedule.d_pretrain_rounds=1",
        "--set", "schedule.adv_iterations=1", "--set", "eval.bleu_samples=32",
        "--set", "eval.self_bleu_samples=16", "--set", "run.threads=1",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "bleu2=" in res.stdout and "vocabulary 11" in res.stdout  # 9 tokens + <end>, <unk>
    out = seqgan("sample", "--run", str(tmp_path / "mine"), "-n", "20")
    assert out.returncode == 0, out.stderr
    samples = out.stdout.splitlines()
    assert len(samples) == 20 and sum(s in lines for s in samples) >= 10  # it learnt the corpus
    ids = seqgan("sample", "--run", str(tmp_path / "mine"), "-n", "2", "--ids").stdout.split("\n")
    assert all(len(row.split()) == 8 for row in ids if row)
    ev = seqgan("eval", "--run", str(tmp_path / "mine"), "--checkpoint", "mle", "-n", "50")
    assert ev.returncode == 0, ev.stderr
    metrics = json.loads(ev.stdout)
    assert metrics["samples"] == 50 and metrics.keys() >= BLEU_KEYS and metrics["bleu2"] > 0.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no samples"),
        (b"ok line\n\xff\xfe bad\n", "bad.txt:2: not UTF-8 text"),
        (
            b"a b\n" + b"word " * 30 + b"\n",
            "bad.txt:2: 30 tokens, longer than generator.seq_len 20",
        ),
        (b"same\nsame same\n" * 10, "vocabulary has 1 token"),
    ],
)
def test_bad_corpus_one_line_error_from_the_cli(tmp_path, content, message):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    res = seqgan("train", "--config", str(REPO / "configs" / "text.yaml"),
                 "--set", f"data.path={bad}", "--set", f"run.out_dir={tmp_path}")  # fmt: skip
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and message in res.stderr, res.stderr
    assert not any(tmp_path.glob("text-*"))  # no run directory left behind


def test_building_a_task_checks_its_keys_first():
    """build_task runs the task's own rules before reading any data (every rule is in
    tests/test_config.py); a config that passes them builds."""
    with pytest.raises(ConfigError, match="exactly one of data.corpus and data.path"):
        build_task(load_config(SMOKE, ["task=text"]))
    with pytest.raises(ConfigError, match="unknown corpus 'obamaa'"):
        build_task(load_config(SMOKE, ["task=text", "data.corpus=obamaa"]))
    with pytest.raises(ConfigError, match="unknown task 'txt'"):
        build_task(load_config(SMOKE, ["task=txt"]))


def test_vocab_json_is_readable(tmp_path):
    cfg = load_config(SMOKE, [*TASKS["poems"], "data.max_lines=100"])
    task, _ = build_task(cfg)
    task.save(tmp_path)
    body = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    assert body["tokens"][:2] == ["<end>", "<unk>"] and "，" in body["tokens"]
