"""``docs/make_results.sh``, the script that regenerates results.md's tables and figures,
on a real run: it runs ``seqgan report`` over the runs a section names, copies the figure
results.md shows, and names the runs it cannot find."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from distributed_seqgan.config import load_config
from distributed_seqgan.runner import train

REPO = Path(__file__).resolve().parents[1]


def make_results(tmp: Path, *sections: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RUNS=str(tmp / "runs"), OUT=str(tmp / "out"),
               FIGURES=str(tmp / "fig"), SEQGAN=f"{sys.executable} -m distributed_seqgan")  # fmt: skip
    (tmp / "fig").mkdir(exist_ok=True)
    return subprocess.run(["bash", str(REPO / "docs" / "make_results.sh"), *sections],
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip


def test_a_section_reports_its_runs_and_copies_its_figure(tmp_path):
    cfg = load_config(REPO / "configs" / "smoke.yaml", [
        f"run.out_dir={tmp_path / 'runs'}", "run.name=official-s88", "pool.workers=1"])  # fmt: skip
    train(cfg, quiet=True)
    res = make_results(tmp_path, "official")
    assert res.returncode == 0, res.stderr
    summary = (tmp_path / "out" / "official" / "summary.md").read_text(encoding="utf-8")
    assert "official log" in summary and "official-s88" in summary
    figure = (tmp_path / "fig" / "official_vs_log.png").read_bytes()
    assert figure == (tmp_path / "out" / "official" / "nll_oracle.png").read_bytes()


def test_missing_runs_are_named_and_unknown_sections_refused(tmp_path):
    (tmp_path / "runs").mkdir()
    res = make_results(tmp_path, "main", "official")
    assert res.returncode == 1
    runs = tmp_path / "runs"
    assert f"main skipped; missing runs: {runs}/main-cpu-s88 {runs}/main-cpu-s89" in res.stderr
    assert f"official skipped; missing runs: {runs}/official-s88" in res.stderr
    assert not (tmp_path / "out").exists() and not any((tmp_path / "fig").iterdir())
    res = make_results(tmp_path, "tabel1")
    assert res.returncode == 2 and "unknown section 'tabel1'" in res.stderr


def test_table1_figures_come_from_the_kept_records(tmp_path):
    """The table1 section reads docs/runs (the records the repository keeps), so a fresh
    checkout redraws results.md's Table 1 figures; both SS variants get their own label."""
    res = make_results(tmp_path, "table1")
    assert res.returncode == 0, res.stderr
    summary = (tmp_path / "out" / "table1" / "summary.md").read_text(encoding="utf-8")
    for run in ("seqgan-long-s90", "baseline-mle-s92", "baseline-ss_per_run-s89",
                "baseline-pg_bleu-s91"):  # fmt: skip
        assert f"docs/runs/{run}" in summary
    assert "ss.coin=per_run" in summary and "ss.coin=per_token" in summary
    for name in ("table1_nll_oracle.png", "table1_nll_test.png"):
        assert (tmp_path / "fig" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
