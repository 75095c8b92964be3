"""W&B tracking: a real offline W&B run, read back from its file, carries the config and
the same metrics as metrics.jsonl; a run that cannot start W&B fails with one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import wandb_reader

from distributed_seqgan.config import load_config
from distributed_seqgan.infra.tracking import read_metrics
from distributed_seqgan.runner import train

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "configs" / "smoke.yaml")


@pytest.fixture(scope="module")
def wandb_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    cfg = load_config(
        SMOKE,
        [f"run.out_dir={out}", "run.name=tracked", "wandb.enabled=true", "wandb.mode=offline",
         "wandb.group=smoke", "wandb.tags=[test]"],
    )  # fmt: skip
    return train(cfg, quiet=True)


def test_offline_run_has_config_and_every_metric(wandb_run):
    files = list((wandb_run / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 1, files
    cfg = wandb_reader.config(files[0])
    assert cfg["seed"] == 7 and cfg["schedule"]["adv_iterations"] == 3
    assert cfg["wandb"]["group"] == "smoke"
    rows = wandb_reader.history(files[0])
    events = read_metrics(wandb_run)
    assert len(rows) == len(events)  # one W&B row per event
    for event, row in zip(events, rows, strict=True):
        prefix = event["phase"] if event["phase"] != "eval" else f"eval/{event['eval_phase']}"
        assert row[f"{prefix}/step"] == event["step"]
        for key, value in event.items():
            if key not in ("phase", "step", "eval_phase"):
                assert row[f"{prefix}/{key}"] == pytest.approx(value, rel=1e-12), key
    assert any("eval/adversarial/nll_oracle" in r for r in rows)


def test_wandb_off_writes_nothing(tmp_path):
    run_dir = train(load_config(SMOKE, [f"run.out_dir={tmp_path}", "run.name=plain"]), quiet=True)
    assert not (run_dir / "wandb").exists()


def test_online_without_login_is_one_line_and_leaves_no_run_dir(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env |= {"HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    res = subprocess.run(
        [sys.executable, "-m", "distributed_seqgan", "train", "--config", SMOKE,
         "--set", f"run.out_dir={tmp_path / 'runs'}", "--set", "wandb.enabled=true",
         "--set", "wandb.mode=online"],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "W&B could not start a run" in lines[0], res.stderr
    assert not any((tmp_path / "runs").glob("*"))


def test_a_run_started_from_another_runs_pretraining_shows_it_in_wandb(wandb_run, tmp_path):
    """`--init-from`: the copied MLE and D pretraining events reach the new W&B run too, so
    a sweep's runs (one W&B group) all show whole curves."""
    cfg = load_config(
        SMOKE,
        [f"run.out_dir={tmp_path}", "run.name=n2", "wandb.enabled=true", "wandb.mode=offline",
         "wandb.group=rollouts", "schedule.rollout_num=2"],
    )  # fmt: skip
    run_dir = train(cfg, quiet=True, init_from=wandb_run)
    files = list((run_dir / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 1, files
    rows = wandb_reader.history(files[0])
    assert len(rows) == len(read_metrics(run_dir))
    assert any("mle/mle_loss" in r for r in rows) and any("d_pretrain/d_loss" in r for r in rows)
    assert any("adversarial/pg_loss" in r for r in rows)
    assert wandb_reader.config(files[0])["schedule"]["rollout_num"] == 2
