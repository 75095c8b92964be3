"""The command line as a user runs it: real subprocesses, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "configs" / "smoke.yaml")


def seqgan(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "distributed_seqgan", *args],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, **(env or {})}, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    res = seqgan(
        "train", "--config", SMOKE, "--set", f"run.out_dir={out}", "--set", "run.name=smoke"
    )
    assert res.returncode == 0, res.stderr
    assert "nll_oracle=" in res.stdout and "adversarial" in res.stdout  # progress output
    return out / "smoke"


def test_smoke_training_writes_the_run_directory(smoke_run):
    cfg = yaml.safe_load((smoke_run / "config.yaml").read_text())
    assert cfg["schedule"]["adv_iterations"] == 3 and cfg["seed"] == 7
    events = [json.loads(x) for x in (smoke_run / "metrics.jsonl").read_text().splitlines()]
    assert all({"phase", "step"} <= e.keys() for e in events)
    phases = [e["phase"] for e in events]
    assert (
        phases.count("mle") == 3
        and phases.count("d_pretrain") == 2
        and phases.count("adversarial") == 3
    )
    evals = [e for e in events if e["phase"] == "eval"]
    assert [(e["eval_phase"], e["step"]) for e in evals] == [
        ("init", 0),  # the untrained generator: the paper's Random row
        ("mle", 0),
        ("mle", 2),
        ("adversarial", 0),
        ("adversarial", 2),
    ]
    assert all(0 < e["nll_oracle"] < 20 and 0 < e["nll_test"] < 20 for e in evals)
    assert {p.name for p in (smoke_run / "checkpoints").iterdir()} == {
        "mle.pt",
        "pretrained.pt",
        "latest.pt",
    }


def test_same_seed_same_numbers(smoke_run, tmp_path):
    res = seqgan(
        "train",
        "--config",
        SMOKE,
        "--quiet",
        "--set",
        f"run.out_dir={tmp_path}",
        "--set",
        "run.name=again",
    )
    assert res.returncode == 0, res.stderr

    def strip(p: Path) -> list[dict]:
        """The events without wall-clock fields (keys ending in _s)."""
        events = [json.loads(x) for x in p.read_text().splitlines()]
        return [{k: v for k, v in e.items() if not k.endswith("_s")} for e in events]

    assert strip(tmp_path / "again" / "metrics.jsonl") == strip(smoke_run / "metrics.jsonl")


def test_sample_prints_sequences(smoke_run):
    res = seqgan("sample", "--run", str(smoke_run), "-n", "5")
    assert res.returncode == 0, res.stderr
    rows = [list(map(int, line.split())) for line in res.stdout.splitlines()]
    assert len(rows) == 5 and all(len(r) == 8 and all(0 <= t < 40 for t in r) for r in rows)
    assert seqgan("sample", "--run", str(smoke_run), "-n", "5").stdout == res.stdout  # seeded


def test_eval_writes_per_sequence_oracle_nlls(smoke_run, tmp_path):
    out = tmp_path / "nll.txt"
    res = seqgan("eval", "--run", str(smoke_run), "-n", "200", "--per-sequence", str(out))
    assert res.returncode == 0, res.stderr
    metrics = json.loads(res.stdout)
    values = [float(line) for line in out.read_text().splitlines()]
    assert len(values) == 200 and len(set(values)) > 100
    assert abs(sum(values) / 200 - metrics["nll_oracle"]) < 1e-5  # equal lengths: mean of means


def test_help_explains_each_command():
    res = seqgan("--help")
    assert res.returncode == 0
    for word in ("train", "sample", "eval", "oracle-nll", "data", "bench", "SEQGAN_DATA_DIR"):
        assert word in res.stdout


def test_data_lists_and_fetches(data_dir, tmp_path):
    res = seqgan("data")
    assert res.returncode == 0, res.stderr
    rows = {line.split()[0]: line.split()[-1] for line in res.stdout.splitlines()}
    assert rows["obama"] == str(data_dir / "obama" / "obama_speeches.txt")
    assert set(rows) == {
        "oracle-params",
        "oracle-real-data",
        "chinese-poems",
        "obama",
        "nottingham-mat",
    }
    fetched = seqgan("data", "fetch", "chinese-poems", "nottingham-mat")  # verifies sha256
    assert fetched.returncode == 0 and len(fetched.stdout.splitlines()) == 2, fetched.stderr
    empty = {"SEQGAN_DATA_DIR": str(tmp_path / "none"), "SEQGAN_CACHE_DIR": str(tmp_path / "c")}
    listed = seqgan("data", "list", "obama", env=empty)
    assert listed.returncode == 0 and "missing" in listed.stdout


def _bad_cases(tmp: Path) -> dict[str, tuple[list[str], str, dict[str, str]]]:
    """A few cases through the real entry point (a new process); the full table of bad
    input runs in process in tests/test_bad_input.py."""
    (tmp / "short.txt").write_text("1 2 3\n")
    return {
        "unknown key": (
            ["train", "--config", SMOKE, "--set", "schedule.rolout_num=3"],
            "did you mean 'schedule.rollout_num'",
            {},
        ),  # fmt: skip
        "wrong length": (
            ["oracle-nll", str(tmp / "short.txt")],
            "expected 20 token ids, got 3",
            {},
        ),
        "fetch offline": (
            ["data", "fetch", "obama"],
            "SEQGAN_OFFLINE is set",
            {
                "SEQGAN_CACHE_DIR": str(tmp / "cache"),
                "SEQGAN_OFFLINE": "1",
                "SEQGAN_DATA_DIR": str(tmp / "empty"),
            },
        ),  # fmt: skip
    }


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    for name, (args, message, env) in _bad_cases(tmp_path).items():
        res = seqgan(*args, env=env)
        assert res.returncode == 2, (name, res.returncode, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in res.stderr, (name, res.stderr)
        assert lines[0].startswith("seqgan: error: ") and message in lines[0], (name, lines[0])


def test_eval_at_a_temperature(smoke_run):
    """--temperature T samples and scores G with logits / T: T = 1 is the plain eval, a
    lower T another distribution; T <= 0 is refused in one line."""
    import torch

    from distributed_seqgan.runs.evaluation import load_generator, temper

    def ev(*extra: str) -> dict:
        res = seqgan("eval", "--run", str(smoke_run), "-n", "200", *extra)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    plain, one, cold = ev(), ev("--temperature", "1"), ev("--temperature", "0.5")
    assert plain == one and plain["temperature"] == 1.0
    assert cold["temperature"] == 0.5 and cold["nll_test"] != plain["nll_test"]
    _, gen = load_generator(smoke_run, "latest")
    seqs = torch.randint(0, 40, (4, 8), generator=torch.Generator().manual_seed(0))
    before = gen(seqs)  # (4, 8, V) logits
    assert torch.allclose(temper(gen, 0.5)(seqs), before / 0.5, atol=1e-5)
    bad = seqgan("eval", "--run", str(smoke_run), "--temperature", "0")
    assert bad.returncode == 2 and "--temperature must be > 0" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
