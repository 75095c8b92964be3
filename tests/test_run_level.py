"""Run-level statistics: each run is one value; the tests are checked against scipy's own
Welch interval and exact permutation test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from distributed_seqgan.report.run_level import (
    against_value,
    compare,
    permutation_p,
    sign_flip_p,
    welch,
)

SEQGAN = [8.7998, 8.7797, 8.7901, 8.8102, 8.7713]
MLE = [9.1044, 9.0886, 9.1252, 9.0950, 9.1101]


def test_welch_matches_scipy_interval_and_p():
    t, df, p, low, high = welch(SEQGAN, MLE)
    ref = stats.ttest_ind(SEQGAN, MLE, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert t == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue)
    assert df == pytest.approx(ref.df)
    assert (low, high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert low < np.mean(SEQGAN) - np.mean(MLE) < high < 0


def test_welch_needs_two_runs_a_side():
    assert all(math.isnan(v) for v in welch([8.8], MLE))


def _scipy_exact(x, y):
    """Two-sided as |difference of means| at least the observed one."""
    res = stats.permutation_test(
        (x, y), lambda a, b: abs(np.mean(a) - np.mean(b)), permutation_type="independent",
        n_resamples=np.inf, alternative="greater",
    )  # fmt: skip
    return res.pvalue


@pytest.mark.parametrize("x, y", [(SEQGAN, MLE), (SEQGAN[:2], MLE[:3]),
                                  ([1.0, 2.0, 3.0, 4.0], [2.5, 3.5, 1.5])])  # fmt: skip
def test_exact_permutation_matches_scipy(x, y):
    p, count, exact = permutation_p(x, y)
    assert exact and count == math.comb(len(x) + len(y), len(x))
    assert p == pytest.approx(_scipy_exact(x, y))


def test_exact_permutation_floor_is_what_the_relabellings_allow():
    # 5 against 5, completely separated: only the observed labelling and its mirror
    assert permutation_p(SEQGAN, MLE)[0] == pytest.approx(2 / math.comb(10, 5))
    # 2 against 3: cannot go below 1/10 (the floor the Table 1 review quotes)
    assert permutation_p(SEQGAN[:2], MLE[:3])[0] == pytest.approx(1 / 10)


def test_many_runs_fall_back_to_sampled_relabellings():
    rng = np.random.default_rng(1)
    x, y = rng.normal(0.0, 1.0, 15), rng.normal(0.3, 1.0, 15)
    p, count, exact = permutation_p(x, y, seed=3)
    assert not exact and count == 200_000
    assert p == permutation_p(x, y, seed=3)[0]  # seeded
    assert 0.0 < p <= 1.0
    assert abs(p - stats.ttest_ind(x, y, equal_var=False).pvalue) < 0.05


def test_compare_reports_the_difference_of_means():
    c = compare(SEQGAN, MLE)
    assert c.difference == pytest.approx(np.mean(SEQGAN) - np.mean(MLE))
    assert c.ci_low < c.difference < c.ci_high and c.p_welch < 1e-6


def test_the_mean_interval_is_the_t_interval():
    from distributed_seqgan.report.run_level import mean_ci

    low, high = mean_ci(SEQGAN)
    ref = stats.ttest_1samp(SEQGAN, 0.0).confidence_interval(0.95)
    assert (low, high) == (pytest.approx(ref.low), pytest.approx(ref.high))
    assert all(math.isnan(v) for v in mean_ci([8.8]))


def test_against_value_is_scipys_one_sample_t_test():
    diff, t, p = against_value(SEQGAN, 8.736)
    ref = stats.ttest_1samp(SEQGAN, 8.736)
    assert diff == pytest.approx(np.mean(SEQGAN) - 8.736)
    assert (t, p) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))
    assert math.isnan(against_value([8.8], 8.7)[2])


def test_sign_flip_test_enumerates_every_flip_as_scipys_paired_permutation_test():
    assert sign_flip_p([1.0, 2.0, 3.0]) == (0.25, 8)  # only all + and all - reach |2|
    d = np.random.default_rng(3).normal(0.3, 1.0, size=7)
    ref = stats.permutation_test(
        (d,), np.mean, permutation_type="samples", n_resamples=np.inf, alternative="two-sided"
    )
    assert sign_flip_p(d)[0] == pytest.approx(ref.pvalue)
    with pytest.raises(ValueError, match="over 20"):
        sign_flip_p(np.ones(21))


def test_table1_finals_script_computes_rows_and_comparisons_from_its_csv(tmp_path):
    """docs/table1_finals.py (Table 1 from kept per-run finals): its rows and comparisons
    are the report's statistics over the CSV's runs; an unknown reference is refused."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "docs" / "table1_finals.py"
    lines = ["method,run,end,best,best_at,nll_test,wall_s,record"]
    for method, values in (("SeqGAN", SEQGAN), ("MLE", MLE[:3])):
        lines += [f"{method},r-s{i},{v},{v - 0.01},0,9.0,1," for i, v in enumerate(values)]
    csv = tmp_path / "runs.csv"
    csv.write_text("\n".join(lines) + "\n")
    res = subprocess.run([sys.executable, str(script), "--csv", str(csv)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    c = compare(MLE[:3], SEQGAN)
    assert (
        f"| MLE | 3 (0, 1, 2) | {np.mean(MLE[:3]):.4f} ± {np.std(MLE[:3], ddof=1):.4f}"
        in res.stdout
    )
    assert f"| end | MLE | {c.difference:+.4f} [{c.ci_low:+.4f}, {c.ci_high:+.4f}]" in res.stdout
    assert "(56, exact)" in res.stdout  # C(8, 3) relabellings
    paper = subprocess.run([sys.executable, str(script), "--csv", str(csv), "--paper", "SeqGAN=8.736"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    _, t, p = against_value(SEQGAN, 8.736)
    assert f"| end | SeqGAN | 5 | {np.mean(SEQGAN):.4f} [" in paper.stdout
    assert f"| {t:.2f} (4) | {p:.2g} |" in paper.stdout
    typo = subprocess.run([sys.executable, str(script), "--csv", str(csv), "--paper", "SeqGAN=x"],
                          capture_output=True, text=True)  # fmt: skip
    assert typo.returncode == 2 and "METHOD=VALUE" in typo.stderr
    bad = subprocess.run([sys.executable, str(script), "--csv", str(csv), "--reference", "SS"],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "no runs of ['SS']" in bad.stderr


def test_table1_finals_leaves_out_values_a_run_does_not_have(tmp_path):
    """A run kept only as published finals may lack best or NLL-test (an empty cell): its
    other values count, and every cell says over how many runs it is."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "docs" / "table1_finals.py"
    lines = ["method,run,end,best,best_at,nll_test,wall_s,record"]
    lines += [f"N=16,n16-s{i},{v},{v - 0.01},5,9.0,1," for i, v in enumerate(SEQGAN[:3])]
    lines += [f"N=4,n4-s{i},{v},,,,," for i, v in enumerate(MLE[:2])]
    lines += [f"N=4,n4-s{i},{v},{v - 0.02},5,9.1,1," for i, v in enumerate(MLE[2:4], 2)]
    csv = tmp_path / "runs.csv"
    csv.write_text("\n".join(lines) + "\n")
    res = subprocess.run([sys.executable, str(script), "--csv", str(csv), "--reference", "N=16"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    row = next(x for x in res.stdout.splitlines() if x.startswith("| N=4 |"))
    best = np.array(MLE[2:4]) - 0.02
    assert f"| {np.mean(MLE[:4]):.4f} ± {np.std(MLE[:4], ddof=1):.4f} [" in row  # end: all 4
    assert f"| {best.mean():.4f} ± {best.std(ddof=1):.4f} (2 of 4 runs) |" in row
    assert "| 9.1000 ± 0.0000 (2 of 4 runs) |" in row
    end, best_c = (
        compare(MLE[:4], SEQGAN[:3]),
        compare(list(best), list(np.array(SEQGAN[:3]) - 0.01)),
    )
    assert f"| end | N=4 | {end.difference:+.4f} [" in res.stdout
    assert f"| best | N=4 | {best_c.difference:+.4f} [" in res.stdout
    res = subprocess.run([sys.executable, str(script), "--csv", str(csv), "--reference", "N=16",
                          "--paired"], capture_output=True, text=True, check=True)  # fmt: skip
    d = np.array(MLE[:3]) - np.array(SEQGAN[:3])  # the seeds both have: 0, 1, 2
    _, t, p = against_value(d, 0.0)
    assert f"| end | N=4 | 3 | {d.mean():+.4f} [" in res.stdout
    assert f"| {t:.2f} (2) | {p:.2g} | {sign_flip_p(d)[0]:.3g} (8) |" in res.stdout
    assert "| best | N=4 | 1 |" not in res.stdout  # one seed with both: no test
    # a method without best values (Table 1's Random rows) is tested on its end values only
    rows = ["method,run,end,best,best_at,nll_test,wall_s,record"]
    rows += [f"Random,init-s{i},{11.43 + i / 100},,,8.52,," for i in range(3)]
    csv.write_text("\n".join(rows) + "\n")
    res = subprocess.run([sys.executable, str(script), "--csv", str(csv), "--reference", "Random",
                          "--paper", "Random=10.31"], capture_output=True, text=True, check=True)  # fmt: skip
    assert "| end | Random | 3 | 11.4400 [" in res.stdout
    assert "| best | Random |" not in res.stdout and "nan" not in res.stdout


def test_table1_finals_adds_a_run_from_its_directory(tmp_path):
    """``--add METHOD RUN_DIR``: the run's record is kept beside the CSV and its row holds
    the last and the lowest evaluation after initialisation and the wall time summed over
    the processes that wrote the run (a resume restarts the clock); adding it twice, or
    adding a run that has not finished, fails."""
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    docs = tmp_path / "docs"
    docs.mkdir()
    csv = docs / "table1-runs.csv"
    csv.write_text("method,run,end,best,best_at,nll_test,wall_s,record\n")
    run = tmp_path / "seqgan-long-s7"
    run.mkdir()
    shutil.copyfile(root / "docs" / "runs" / "seqgan-long-s90" / "config.yaml", run / "config.yaml")
    units = [("mle", 120), ("d_pretrain", 50), ("adversarial", 199)]  # its plan, but 1 iteration
    events = [
        ("eval", 0, 10.0, {"eval_phase": "init", "nll_oracle": 8.0, "nll_test": 9.9}),
        *((phase, i, 50.0, {"loss": 1.0}) for phase, n in units for i in range(n)),
        ("eval", 0, 60.0, {"eval_phase": "adversarial", "nll_oracle": 8.9, "nll_test": 9.1}),
        ("eval", 5, 100.0, {"eval_phase": "adversarial", "nll_oracle": 8.7, "nll_test": 9.2}),
        ("eval", 10, 30.0, {"eval_phase": "adversarial", "nll_oracle": 8.8, "nll_test": 9.3}),
    ]  # the last one after a resume: its process's clock started at 0

    def write(events) -> None:
        with (run / "metrics.jsonl").open("w") as f:
            for phase, step, t, rest in events:
                f.write(json.dumps({"phase": phase, "step": step, "time_s": t, **rest}) + "\n")

    write(events)
    script = [sys.executable, str(root / "docs" / "table1_finals.py"), "--csv", str(csv)]
    res = subprocess.run([*script, "--add", "SeqGAN", str(run)], capture_output=True, text=True)
    assert (
        res.returncode != 0 and "has not finished (it stands at adversarial 199/200)" in res.stderr
    )
    assert csv.read_text().count("\n") == 1 and not (docs / "runs").exists()
    write([*events, ("adversarial", 199, 30.0, {"loss": 1.0})])
    res = subprocess.run([*script, "--add", "SeqGAN", str(run)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert csv.read_text().splitlines()[1] == (
        "SeqGAN,seqgan-long-s7,8.8000,8.7000,5,9.3000,130,docs/runs/seqgan-long-s7"
    )
    assert (docs / "runs" / "seqgan-long-s7" / "metrics.jsonl").read_bytes() == (
        run / "metrics.jsonl"
    ).read_bytes()
    assert not (docs / "runs" / "seqgan-long-s7" / "versions.jsonl").exists()  # none recorded
    # a run that recorded its code keeps that record too
    (csv.parent / "runs" / "seqgan-long-s7").rename(tmp_path / "kept")
    csv.write_text("method,run,end,best,best_at,nll_test,wall_s,record\n")
    (run / "versions.jsonl").write_text('{"how": "train", "git_commit": "%s"}\n' % ("a" * 40))
    res = subprocess.run([*script, "--add", "SeqGAN", str(run)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (docs / "runs" / "seqgan-long-s7" / "versions.jsonl").read_bytes() == (
        run / "versions.jsonl"
    ).read_bytes()
    again = subprocess.run([*script, "--add", "SeqGAN", str(run)], capture_output=True, text=True)
    assert again.returncode != 0 and "already in" in again.stderr
