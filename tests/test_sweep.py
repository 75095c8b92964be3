"""``seqgan sweep``: each seed is an ordinary run, K at a time; a sweep run again skips
finished runs and resumes started ones."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_resume import _assert_same_run

from distributed_seqgan.config import load_config
from distributed_seqgan.errors import UserError
from distributed_seqgan.runner import train
from distributed_seqgan.runs.sweep import available_cores, parse_seeds, sharing_note, status

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "configs" / "smoke.yaml")


def sweep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "distributed_seqgan", "sweep", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=600)  # fmt: skip


def test_seeds_are_parsed_as_lists_and_ranges():
    assert parse_seeds("88,89,90") == [88, 89, 90]
    assert parse_seeds("88-90") == [88, 89, 90]
    assert parse_seeds("1, 5-7, 5") == [1, 5, 6, 7]
    for bad in ("", "a", "3-x", "-1"):
        with pytest.raises(UserError, match="--seeds"):
            parse_seeds(bad)


def test_a_sweep_is_its_seeds_ordinary_runs_and_continues_where_it_stopped(tmp_path):
    out = tmp_path / "out"
    res = sweep("--config", SMOKE, "--seeds", "1-2", "--parallel", "2", "--threads", "1",
                "--status-every", "1", "--set", f"run.out_dir={out}")  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert ("note: 2 runs x 1 thread share" in res.stdout) == (available_cores() < 2)
    for seed in (1, 2):
        assert f"seed {seed}: finished in " in res.stdout
        assert f"seed {seed} (" in res.stdout  # the status lines, once a second
        log = (out / f"smoke-s{seed}.log").read_text()
        assert " adversarial " in log and " eval " in log, log  # the run's event lines
    ref = tmp_path / "ref"
    for seed in (1, 2):  # the same as training each seed by hand
        cfg = load_config(SMOKE, [f"seed={seed}", "run.threads=1", f"run.out_dir={ref}",
                                  f"run.name=s{seed}"])  # fmt: skip
        _assert_same_run(out / f"smoke-s{seed}", train(cfg, quiet=True))
    # seed 2 loses its end (as a killed run would); seed 3 is new
    (out / "smoke-s2" / "checkpoints" / "latest.pt").unlink()
    res = sweep("--config", SMOKE, "--seeds", "1-3", "--threads", "1",
                "--set", f"run.out_dir={out}")  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"already finished: {out / 'smoke-s1'}" in res.stdout
    assert f"seed 2: resumes {out / 'smoke-s2'}" in res.stdout
    assert f"seed 3: starts {out / 'smoke-s3'}" in res.stdout
    _assert_same_run(out / "smoke-s2", ref / "s2")
    assert res.stdout.strip().splitlines()[-1].startswith("report: seqgan report --run ")


def test_a_sweep_says_when_its_runs_share_cores():
    assert sharing_note(2, 1, 2) is None  # as many threads as cores
    assert sharing_note(1, 4, 8) is None
    note = sharing_note(5, 1, 2)
    assert note is not None and note.startswith("note: 5 runs x 1 thread share 2 cores")
    assert "docs/benchmarks.md" in note
    assert sharing_note(2, 2, 2).startswith("note: 2 runs x 2 threads share 2 cores")
    assert sharing_note(3, 1, 1).startswith("note: 3 runs x 1 thread share 1 core:")


def test_the_status_of_a_run_is_its_progress_and_newest_event(tmp_path):
    log = tmp_path / "run.log"
    assert status(log) == ""  # not written yet
    log.write_text("[    0.1s] run directory runs/x\n")
    assert status(log) == "[    0.1s] run directory runs/x"
    lines = ["[  580.2s] adversarial   105  pg_loss=3.1", "[  586.8s] progress: adversarial "
             "106/800 it, run: 9h35m left", "[  590.0s] eval          106  nll_oracle=8.9"]  # fmt: skip
    log.write_text("\n".join(lines) + "\n\n")
    assert status(log) == "[  586.8s] adversarial 106/800 it, run: 9h35m left; " + lines[2]
    log.write_text("\n".join(lines[:2]) + "\n")  # the progress line is the newest
    assert status(log) == "[  586.8s] adversarial 106/800 it, run: 9h35m left; " + lines[0]


def test_sweep_errors_are_one_line_before_any_run(tmp_path):
    out = tmp_path / "out"
    cases = [
        (["--seeds", "x"], "--seeds: expected seeds"),
        (["--seeds", "1", "--parallel", "0"], "--parallel must be >= 1"),
        (["--seeds", "1", "--status-every", "-1"], "--status-every must be >= 0"),
        (["--seeds", "1-2", "--set", "schedule.mle_epoch=3"], "did you mean 'schedule.mle_epochs'"),
    ]
    for args, message in cases:
        res = sweep("--config", SMOKE, "--set", f"run.out_dir={out}", *args)
        assert res.returncode == 2 and message in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not out.exists()


def test_a_failing_run_fails_the_sweep_and_names_its_log(tmp_path):
    """A config that parses but that the task refuses (the official oracle's sizes are
    not smoke's) fails in its child process; the sweep says which and where to look."""
    out = tmp_path / "out"
    res = sweep("--config", SMOKE, "--seeds", "1", "--threads", "1",
                "--set", f"run.out_dir={out}", "--set", "oracle.kind=official")  # fmt: skip
    assert res.returncode == 1, res.stdout + res.stderr
    assert "seed 1: failed (exit 2) after " in res.stdout and "smoke-s1.log" in res.stdout
    assert "oracle" in (out / "smoke-s1.log").read_text()


def test_a_sweep_writing_to_a_file_shows_progress_and_stops_on_sigterm(tmp_path):
    """As under nohup: stdout is a file and Python buffers by default, yet the status
    lines arrive while the runs go on; SIGTERM stops the runs with their state saved and
    the sweep says so and exits 128 + 15."""
    out, log = tmp_path / "out", tmp_path / "sweep.log"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with log.open("w") as f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "distributed_seqgan", "sweep", "--config", SMOKE, "--seeds",
             "1", "--threads", "1", "--status-every", "1", "--set", f"run.out_dir={out}",
             "--set", "schedule.adv_iterations=100000"],
            cwd=REPO, stdout=f, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    run_log = out / "smoke-s1.log"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until a status line says where in its plan
            assert proc.poll() is None, log.read_text()  # the run's adversarial phase is
            if "/100000 it, run: " in log.read_text():
                break
            time.sleep(0.2)
        text = log.read_text()  # a few hundred bytes, far below a buffer
        assert "seed 1: starts" in text and "seed 1 (" in text, text
        said = [ln for ln in text.splitlines() if "/100000 it, run: " in ln]
        assert said and re.search(r"^seed 1 \([\dms]+\): \[ *[\d.]+s\] adversarial \d+/100000 it, run: "
                                  r"\S+ left; \[ *[\d.]+s\] ", said[0]), text  # fmt: skip
        assert re.search(r"^sweep \([\dms]+\): 1 running, 0 waiting, 0 finished, 0 failed$",
                         text, re.MULTILINE), text  # fmt: skip
        assert "] progress: adversarial " in run_log.read_text()  # the run's own lines
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "seed 1: stopped after " in text and "stopped by SIGTERM" in text, text
    assert (out / "smoke-s1" / "checkpoints" / "interrupted.pt").is_file()
