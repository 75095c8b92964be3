"""Progress output: bars with rate and ETA on a terminal (a real pseudo-terminal here),
a plain line per event on a pipe with a progress line every so often, nothing with
--quiet; the whole run's estimate."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from distributed_seqgan.infra import progress
from distributed_seqgan.infra.progress import WINDOW, Progress, duration

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "configs" / "smoke.yaml")


def train_on(terminal: bool, out: Path, *extra: str) -> str:
    """``seqgan train`` of the smoke config with stdout on a pseudo-terminal or a pipe."""
    args = [sys.executable, "-m", "distributed_seqgan", "train", "--config", SMOKE,
            "--set", f"run.out_dir={out}", "--set", "schedule.mle_epochs=6", *extra]  # fmt: skip
    if not terminal:
        res = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        return res.stdout
    parent, child = pty.openpty()
    proc = subprocess.Popen(args, cwd=REPO, stdout=child, stderr=child)
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(parent, 65536)
        except OSError:  # the child closed its side
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(parent)
    assert proc.wait(timeout=300) == 0, b"".join(chunks).decode()
    return b"".join(chunks).decode()


def test_a_terminal_gets_a_bar_per_phase_with_rate_and_eta(tmp_path):
    out = train_on(True, tmp_path)
    for label, total, unit in (("MLE", 6, "epoch"), ("D pretrain", 2, "round"),
                               ("adversarial", 3, "it")):  # fmt: skip
        finished = re.search(
            rf"{label}: 100%\|.*\| {total}/{total} \[[\d:]+<[\d:]+, +[\d.]+({unit}/s|s/{unit})",
            out,
        )  # a rate, or under 1 unit/s (a loaded machine) seconds per unit
        assert finished, out
    assert re.search(r"run: (≥)?\d+s left", out)  # the whole run's estimate
    assert "\r" in out  # redrawn in place
    assert not re.search(r"\] mle +\d+  mle_loss", out)  # no line per epoch: the bar has it
    assert re.search(r"\] eval +2  eval_phase=mle nll_oracle=", out)  # evaluations stay lines


def test_a_pipe_gets_one_plain_line_per_event(tmp_path):
    out = train_on(False, tmp_path)
    assert "\r" not in out and "%|" not in out
    for epoch in range(6):
        assert re.search(rf"\] mle +{epoch}  mle_loss=", out)
    assert re.search(r"\] adversarial +2  pg_loss=", out)
    assert "progress:" not in out  # a run this short ends before the first (600 s)


def test_a_pipe_gets_a_progress_line_every_so_often(tmp_path):
    """--progress-every: where the run stands in its plan and its time left, as a line
    after the unit that passes the interval (here every unit), the event lines unchanged."""
    out = train_on(False, tmp_path, "--progress-every", "1e-9")
    lines = out.splitlines()
    said = [ln.split("] progress: ", 1)[1] for ln in lines if "] progress: " in ln]
    assert said[0].startswith("MLE 1/6 epoch, run: ≥"), said  # D and G steps not timed yet
    assert said[5] == "MLE 6/6 epoch", said  # nothing left measured, the rest unknown
    assert said[-1] == "adversarial 3/3 it, run: 0s left", said
    assert len(said) == 6 + 2 + 3  # one per unit: epochs, D rounds, iterations
    first = next(i for i, ln in enumerate(lines) if "] progress: " in ln)
    assert re.search(r"\] mle +0  mle_loss=", lines[first - 1])  # after its unit's line
    res = subprocess.run([sys.executable, "-m", "distributed_seqgan", "train", "--config", SMOKE,
                          "--progress-every", "-1"], cwd=REPO, capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 2 and "--progress-every must be >= 0" in res.stderr, res.stderr


def test_quiet_stays_quiet_on_a_terminal(tmp_path):
    out = train_on(True, tmp_path, "--quiet")
    assert out.strip().splitlines() == [f"run directory: {next(tmp_path.iterdir())}"]


def test_the_whole_run_estimate_counts_every_phase_left():
    p = Progress([("mle", 10), ("d_pretrain", 4), ("adversarial", 20)])
    assert p.run_left() == "" and p.summary() == ""  # nothing measured, no phase yet
    p.begin("mle", 4)  # a run resumed at epoch 4
    assert p.summary() == "MLE 4/10 epoch"
    p.recent["mle"].extend([2.0] * 4)  # 2 s/epoch
    assert p.run_left() == "≥12s"  # D and adversarial not measured: a lower bound
    assert p.summary() == "MLE 4/10 epoch, run: ≥12s left"
    p.begin("d_pretrain", 1)  # the phases before it are complete
    assert p.done["mle"] == 10 and not p.advance("mle")  # not the phase in progress
    p.recent["d_pretrain"].append(30.0)
    p.recent["adversarial"].extend([100.0, 200.0])  # 150 s/iteration
    assert p.run_left() == duration(3 * 30.0 + 20 * 150.0) == "51m30s"
    assert p.advance("d_pretrain") and p.done["d_pretrain"] == 2
    assert not p.begin("pg_bleu_d", 0) and p.summary() == ""  # not in the plan: nothing to say
    assert [duration(s) for s in (9, 125, 3725)] == ["9s", "2m05s", "1h02m"]


def test_the_estimate_follows_the_recent_rate(monkeypatch):
    """A long run that had a busy stretch (a test suite beside it) and then goes at its
    quiet rate again: the estimate uses its last WINDOW units, not the whole history."""
    clock = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: clock[0])
    p = Progress([("adversarial", 800)])
    p.begin("adversarial", 0)
    for seconds in [100.0] * 30 + [40.0] * (WINDOW - 1) + [140.0]:  # busy, then quiet
        clock[0] += seconds
        assert p.advance("adversarial")
    # the last WINDOW units: 19 x 40 s + one 140 s (an evaluation) = 45 s a unit
    assert p.done["adversarial"] == 30 + WINDOW
    assert p.run_left() == duration((800 - 30 - WINDOW) * 45.0) == "9h22m"
