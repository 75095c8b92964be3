"""``docs/table1_gpu.sh``, the prepared command for Table 1's GPU runs, in its CPU mode
(smoke config): runs that end inside the budget are finished, runs the budget cuts save
their state and the same command continues them, and what would come back from the
device machine holds every run's config and events but no checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def table1_gpu(tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, DEVICE="cpu", PYTHON=sys.executable, RUNS=str(tmp / "runs"),
                OUT=str(tmp / "out"), **env)  # fmt: skip
    return subprocess.run(["bash", str(REPO / "docs" / "table1_gpu.sh")], capture_output=True,
                          text=True, env=full, timeout=600)  # fmt: skip


def adversarial_steps(run_dir: Path) -> list[int]:
    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").open()]
    return [e["step"] for e in events if e["phase"] == "adversarial"]


def test_runs_finish_or_stop_and_continue_and_come_back_without_checkpoints(tmp_path):
    res = table1_gpu(tmp_path, SEEDS="1-2", NAME="short")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "every run finished" in res.stdout
    status = (tmp_path / "out" / "short.md").read_text()
    for seed in (1, 2):  # finished, with its last evaluation's NLL-oracle
        events = [
            json.loads(x) for x in (tmp_path / "runs" / f"short-s{seed}" / "metrics.jsonl").open()
        ]
        end = [e["nll_oracle"] for e in events if e["phase"] == "eval"][-1]
        assert f"| `short-s{seed}` | finished | {end:.4f} |" in status, status
    with tarfile.open(tmp_path / "out" / "short-runs.tgz") as tar:
        names = set(tar.getnames())
    for seed in (1, 2):
        assert {
            f"short-s{seed}/config.yaml",
            f"short-s{seed}/metrics.jsonl",
            f"short-s{seed}/versions.jsonl",  # the code that made it
            f"short-s{seed}.log",
        } <= names
    assert not [n for n in names if "checkpoints" in n or n.endswith(".pt")], names

    # a run far longer than its budget: stopped, then continued by the same command
    long = dict(SEEDS="3", NAME="long", BUDGET_S="20", SETS="schedule.adv_iterations=100000")
    res = table1_gpu(tmp_path, **long)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "budget spent" in res.stdout and "seed 3: stopped after" in res.stdout, res.stdout
    run_dir = tmp_path / "runs" / "long-s3"
    assert (run_dir / "checkpoints" / "interrupted.pt").is_file()
    assert "| `long-s3` | started |" in (tmp_path / "out" / "long.md").read_text()
    before = adversarial_steps(run_dir)
    res = table1_gpu(tmp_path, **long)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"seed 3: resumes {run_dir}" in res.stdout, res.stdout
    after = adversarial_steps(run_dir)
    assert after[: len(before)] == before and len(after) > len(before)
    assert after == list(range(len(after)))  # continued where it stopped, no step twice


def test_a_status_table_that_fails_is_said_and_the_runs_still_come_back(tmp_path):
    """The table of where each run stands is made after the runs; if it cannot be made
    (here: scipy unimportable, which ``table1_finals`` needs), the script says so and exits
    3 instead of announcing a file it did not write, and the archive of runs is there."""
    blocker = tmp_path / "noscipy"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text('import sys\nsys.modules["scipy"] = None\n')
    res = table1_gpu(tmp_path, SEEDS="1", NAME="notable", PYTHONPATH=str(blocker))
    assert res.returncode == 3, res.stdout + res.stderr
    assert "every run finished" in res.stdout
    assert "the status table failed" in res.stdout and "results in" not in res.stdout
    assert not (tmp_path / "out" / "notable.md").exists()
    with tarfile.open(tmp_path / "out" / "notable-runs.tgz") as tar:
        assert "notable-s1/metrics.jsonl" in tar.getnames()
