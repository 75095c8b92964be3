"""``run.flush_denormal``: flush-to-zero in every torch CPU thread, or a clear error.

Each check runs in a fresh process: the flags belong to threads, and this test process's
torch threads started long ago."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from distributed_seqgan.acting.messages import WorkerSpec
from distributed_seqgan.config import load_config

REPO = Path(__file__).resolve().parents[1]
PROBE = "(torch.ones(2 * 10**6, dtype=torch.int32).view(torch.float32) * 1.0).count_nonzero()"
two_cores = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 CPU threads")


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120)  # fmt: skip


@two_cores
def test_every_thread_flushes_when_set_before_torch_work():
    res = python(
        "import torch; torch.set_num_threads(2)\n"
        f"print('unset', int({PROBE}))\n"  # starts the threads: too late after this
    )
    assert res.returncode == 0 and "unset 2000000" in res.stdout, res.stderr  # denormals kept
    res = python(
        "import torch; torch.set_num_threads(2)\n"
        "from distributed_seqgan.infra.denormals import flush_denormals; flush_denormals()\n"
        f"print('kept', int({PROBE}))\n"
    )
    assert res.returncode == 0 and "kept 0" in res.stdout, res.stderr


@two_cores
def test_set_after_the_threads_started_is_an_error_not_a_half_measure():
    res = python(
        "import torch; torch.set_num_threads(2)\n"
        f"{PROBE}\n"
        "from distributed_seqgan.infra.denormals import flush_denormals; flush_denormals()\n"
    )
    assert res.returncode != 0
    assert "ConfigError" in res.stderr and "denormals survived" in res.stderr


def test_the_workers_get_the_setting():
    cfg = load_config(REPO / "configs" / "smoke.yaml", ["run.flush_denormal=true"])
    assert WorkerSpec.of(cfg, "discriminator").flush_denormal
    assert not WorkerSpec.of(load_config(REPO / "configs" / "smoke.yaml"), "bleu").flush_denormal


def test_a_run_trains_with_denormals_flushed(tmp_path):
    """seqgan train with the key on, two threads and two local workers: the run finishes
    and its config records the key."""
    res = subprocess.run(
        [sys.executable, "-m", "distributed_seqgan", "train", "--config", "configs/smoke.yaml",
         "--set", "run.flush_denormal=true", "--set", "run.threads=2", "--set", "pool.workers=2",
         "--set", f"run.out_dir={tmp_path}", "--set", "run.name=ftz"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert yaml.safe_load((tmp_path / "ftz" / "config.yaml").read_text())["run"]["flush_denormal"]
