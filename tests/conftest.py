"""Shared fixtures. Tests read the project's datasets from ``../shared/data`` (or from
``$SEQGAN_DATA_DIR``); they never download and never write outside tmp directories."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # reference_rollout

if not os.environ.get("SEQGAN_DATA_DIR"):
    os.environ["SEQGAN_DATA_DIR"] = str((REPO.parent / "shared" / "data").resolve())
os.environ.setdefault("WANDB_MODE", "offline")
# Keep every Ray process of the tests on loopback: with this, Ray's node-IP lookup returns
# 127.0.0.1 instead of this machine's interface address. Must be set before ray is imported.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = Path(os.environ["SEQGAN_DATA_DIR"])
    assert (d / "synthetic_oracle" / "oracle_lstm_params.npz").is_file(), (
        f"shared data not found in {d}: set SEQGAN_DATA_DIR to the datasets directory"
    )
    return d


@pytest.fixture()
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No data dir, an empty cache, downloads forbidden: what a fresh offline machine sees."""
    monkeypatch.delenv("SEQGAN_DATA_DIR", raising=False)
    monkeypatch.delenv("SEQGAN_DATA_MIRROR", raising=False)
    monkeypatch.setenv("SEQGAN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQGAN_OFFLINE", "1")
    return tmp_path


# Files whose tests start Ray clusters, kill processes or run benchmarks: minutes, not
# seconds. `./run.sh test -m "not slow"` leaves them out for the edit loop; CI runs all.
SLOW_FILES = {"test_ray.py", "test_cluster.py", "test_faults.py", "test_benchmarks.py",
              "test_table1_gpu.py"}  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
