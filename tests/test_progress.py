"""Progress output: bars with rate and ETA on a terminal (a real pseudo-terminal here),
today's plain line per event on a pipe, nothing with --quiet; the whole run's estimate."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from distributed_seqgan.infra.progress import PhaseBars, duration

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


def test_quiet_stays_quiet_on_a_terminal(tmp_path):
    out = train_on(True, tmp_path, "--quiet")
    assert out.strip().splitlines() == [f"run directory: {next(tmp_path.iterdir())}"]


def test_the_whole_run_estimate_counts_every_phase_left():
    bars = PhaseBars(io.StringIO(), [("mle", 10), ("d_pretrain", 4), ("adversarial", 20)])
    assert bars.run_left() == ""  # nothing measured yet
    bars.done["mle"], bars.seconds["mle"], bars.measured["mle"] = 4, 8.0, 4  # 2 s/epoch
    assert bars.run_left() == "≥12s"  # D and adversarial not measured: a lower bound
    bars.done |= {"mle": 10, "d_pretrain": 1}
    bars.seconds["d_pretrain"], bars.measured["d_pretrain"] = 30.0, 1
    bars.seconds["adversarial"], bars.measured["adversarial"] = 300.0, 2  # 150 s/iteration
    assert bars.run_left() == duration(3 * 30.0 + 20 * 150.0) == "51m30s"
    assert [duration(s) for s in (9, 125, 3725)] == ["9s", "2m05s", "1h02m"]
