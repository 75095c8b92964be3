"""``seqgan report`` on real runs: its table is metrics.jsonl, its curves change with the
runs, seeds of one experiment are grouped, and text runs get their checkpoint rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from distributed_seqgan.config import load_config
from distributed_seqgan.infra.tracking import read_metrics
from distributed_seqgan.runner import train

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "configs" / "smoke.yaml"


def seqgan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "distributed_seqgan", *args], cwd=REPO,
                          capture_output=True, text=True, env=dict(os.environ), timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two seeds of rollout_num 4, one run of rollout_num 2: three real smoke runs."""
    out = tmp_path_factory.mktemp("runs")
    made = {}
    for name, sets in {"a-s1": ["seed=1"], "a-s2": ["seed=2"],
                       "b-s1": ["seed=1", "schedule.rollout_num=2"]}.items():  # fmt: skip
        cfg = load_config(SMOKE, [*sets, f"run.out_dir={out}", f"run.name={name}",
                                  "pool.workers=1"])  # fmt: skip
        made[name] = train(cfg, quiet=True)
    return made


def _report(out: Path, *runs: Path) -> subprocess.CompletedProcess[str]:
    args = [a for r in runs for a in ("--run", str(r))]
    return seqgan("report", *args, "--out", str(out))


def test_the_tables_are_metrics_jsonl(runs, tmp_path):
    res = _report(tmp_path, runs["a-s1"], runs["a-s2"], runs["b-s1"])
    assert res.returncode == 0, res.stderr
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    for name, run in runs.items():
        evals = [e for e in read_metrics(run) if e["phase"] == "eval"]
        csv = (tmp_path / f"{name}.csv").read_text().splitlines()
        assert csv[0] == "x,phase,step,nll_oracle,nll_test,time_s"
        assert len(csv) == 1 + len(evals)
        for line, e in zip(csv[1:], evals, strict=True):
            cells = line.split(",")
            assert cells[1:3] == [e["eval_phase"], str(e["step"])]
            assert float(cells[3]) == e["nll_oracle"] and float(cells[4]) == e["nll_test"]
            assert f"| {e['eval_phase']} | {e['step']} | {e['nll_oracle']:.4f} |" in summary
        final = evals[-1]["nll_oracle"]
        label = "schedule.rollout_num=" + ("2" if name.startswith("b") else "4")
        assert f"| {name} | {label} | " in summary and f"{final:.4f}" in summary
    # runs that differ only in seed are one experiment: mean ± std over them
    a = [[e for e in read_metrics(runs[n]) if e["phase"] == "eval"][-1]["nll_oracle"]
         for n in ("a-s1", "a-s2")]  # fmt: skip
    import statistics

    want = f"{statistics.mean(a):.4f} ± {statistics.stdev(a):.4f}"
    assert f"| schedule.rollout_num=4 | 2 | {want} |" in summary
    # and of the best NLL-oracle after training started, the last column before wall time
    best = [min(e["nll_oracle"] for e in read_metrics(runs[n])
                if e["phase"] == "eval" and e["eval_phase"] != "init") for n in ("a-s1", "a-s2")]  # fmt: skip
    row = next(
        ln
        for ln in summary.splitlines()
        if ln.startswith(f"| schedule.rollout_num=4 | 2 | {want} |")
    )
    assert row.split(" | ")[-2] == f"{statistics.mean(best):.4f} ± {statistics.stdev(best):.4f}"


def test_a_run_that_has_not_finished_says_where_it_stands(runs, tmp_path):
    """A run still going (or stopped) has latest values, not finals: the report says so
    for that run, in its row and in its label's count, and leaves finished runs as they are."""
    cut = tmp_path / "cut"  # a-s1 as it stood after its second adversarial iteration
    cut.mkdir()
    (cut / "config.yaml").write_text((runs["a-s1"] / "config.yaml").read_text())
    lines = (runs["a-s1"] / "metrics.jsonl").read_text().splitlines(keepends=True)
    its = [i for i, ln in enumerate(lines) if '"phase": "adversarial"' in ln]
    assert len(its) == 3  # smoke: 3 iterations
    (cut / "metrics.jsonl").write_text("".join(lines[: its[1] + 1]))
    res = _report(tmp_path / "report", runs["a-s1"], cut)
    assert res.returncode == 0, res.stderr
    summary = (tmp_path / "report" / "summary.md").read_text(encoding="utf-8")
    assert (
        "Not finished (their values are the latest, not finals): `cut` at adversarial 2/3."
        in summary
    )
    assert "| cut (unfinished: adversarial 2/3) | " in summary
    assert "| a-s1 | " in summary and "a-s1 (unfinished" not in summary
    assert " | 2 (1 unfinished) | " in summary  # the two are seeds of one experiment


def test_label_names_the_experiments_by_the_keys_given(runs, tmp_path):
    """``--label seed`` pools a-s1 with b-s1 (both seed 1), whatever else differs."""
    import statistics

    res = seqgan("report", "--run", str(runs["a-s1"]), "--run", str(runs["a-s2"]),
                 "--run", str(runs["b-s1"]), "--out", str(tmp_path), "--label", "seed")  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    final = {n: [e for e in read_metrics(runs[n]) if e["phase"] == "eval"][-1]["nll_oracle"]
             for n in runs}  # fmt: skip
    ones = [final["a-s1"], final["b-s1"]]
    assert f"| seed=1 | 2 | {statistics.mean(ones):.4f} ± {statistics.stdev(ones):.4f} |" in summary
    assert f"| seed=2 | 1 | {final['a-s2']:.4f} |" in summary
    assert "| a-s1 | seed=1 | 1 |" in summary and "rollout_num=" not in summary
    # a key of another algorithm's section is no part of a run's label (SeqGAN has no coin)
    res = seqgan("report", "--run", str(runs["a-s1"]), "--out", str(tmp_path / "coin"),
                 "--label", "algorithm,ss.coin")  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = (tmp_path / "coin" / "summary.md").read_text(encoding="utf-8")
    assert "| a-s1 | algorithm=seqgan | 1 |" in summary and "ss.coin" not in summary


def test_curves_change_with_the_runs_and_only_with_them(runs, tmp_path):
    one, same, other = tmp_path / "one", tmp_path / "same", tmp_path / "other"
    for out, run in ((one, runs["a-s1"]), (same, runs["a-s1"]), (other, runs["a-s2"])):
        res = _report(out, run)
        assert res.returncode == 0, res.stderr
        assert (out / "nll_oracle.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    png = {d.name: (d / "nll_oracle.png").read_bytes() for d in (one, same, other)}
    assert png["one"] == png["same"]  # deterministic
    assert png["one"] != png["other"]  # another run, another picture


def test_bad_report_requests_are_one_line(runs, tmp_path):
    cases = [
        (["--run", str(tmp_path / "nope")], "no such run directory"),
        (["--run", str(tmp_path)], "not a run directory"),
        (["--run", str(runs["a-s1"]), "--metrics", "bleu9"], "'bleu9' is not logged"),
        (["--run", str(runs["a-s1"]), "--run", str(runs["a-s1"])], "named twice"),
        (["--run", str(runs["a-s1"]), "--checkpoints"], "synthetic (text and music only)"),
        (["--run", str(runs["a-s1"]), "--label", "nope"], "'nope' is not a config key"),
    ]
    for args, message in cases:
        res = seqgan("report", *args, "--out", str(tmp_path / "r"))
        assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
        assert message in res.stderr, res.stderr


def test_text_runs_get_checkpoint_rows_and_samples(tmp_path):
    """Also: two seeds of one text config are pooled although their seeded splits give
    different vocabularies (``generator.vocab_size`` is the data's, not the user's)."""
    from distributed_seqgan.tasks import build_task

    corpus = tmp_path / "mine.txt"
    rare = "".join(f"a zebra{i} .\n" for i in range(10))  # which land in train is seeded
    corpus.write_text("the cat sat on the mat .\nthe dog sat on the rug .\n" * 40 + rare)
    sets = [
        f"data.path={corpus}", f"run.out_dir={tmp_path}", "generator.seq_len=8",
        "discriminator.filter_sizes=[1,2]", "discriminator.num_filters=[4,4]",
        "discriminator.emb_dim=8", "schedule.batch_size=16", "schedule.generated_num=32",
        "schedule.mle_epochs=2", "schedule.d_pretrain_rounds=1", "schedule.adv_iterations=1",
        "eval.bleu_samples=16", "eval.self_bleu_samples=8", "run.threads=1",
    ]  # fmt: skip
    text = REPO / "configs" / "text.yaml"
    vocab = {s: build_task(load_config(text, [*sets, f"seed={s}"]))[1].generator.vocab_size
             for s in range(1, 9)}  # fmt: skip
    seeds = [min(vocab, key=vocab.__getitem__), max(vocab, key=vocab.__getitem__)]
    assert vocab[seeds[0]] < vocab[seeds[1]], vocab
    runs = [train(load_config(text, [*sets, f"seed={s}", f"run.name=t{s}"]), quiet=True)
            for s in seeds]  # fmt: skip
    res = seqgan("report", "--run", str(runs[0]), "--run", str(runs[1]),
                 "--out", str(tmp_path / "r"), "--checkpoints", "-n", "16", "--show", "3")  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = (tmp_path / "r" / "summary.md").read_text(encoding="utf-8")
    for row in ("| MLE (checkpoint mle) | 16 | 16 | 8 |",  # drawn, BLEU on, self-BLEU on
                "| after training (checkpoint latest) | 16 | 16 | 8 |",
                "| real data (train samples) | 16 | 16 | 8 |"):  # fmt: skip
        assert summary.count(row) == 2
    assert summary.count("\n- `") == 6 and (tmp_path / "r" / "bleu2.png").is_file()
    assert "vocab_size" not in summary and "| text seqgan | 2 | " in summary


def test_significance_is_welch_on_per_sample_oracle_nlls(runs, tmp_path):
    """The p-values are scipy's Welch test on the per-sample NLLs written beside the
    report, pooled over the seeds of a label; they are reused on the next report."""
    import numpy as np
    from scipy import stats

    out = tmp_path / "sig"
    res = seqgan("report", "--run", str(runs["b-s1"]), "--run", str(runs["a-s1"]),
                 "--run", str(runs["a-s2"]), "--out", str(out), "--significance", "300")  # fmt: skip
    assert res.returncode == 0, res.stderr
    per = {n: np.loadtxt(out / f"{n}.per-sequence.txt") for n in ("b-s1", "a-s1", "a-s2")}
    assert all(len(v) == 300 for v in per.values())
    pooled = np.concatenate([per["a-s1"], per["a-s2"]])
    t, p = stats.ttest_ind(pooled, per["b-s1"], equal_var=False)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "| schedule.rollout_num=2 | 300 |" in summary and "(reference)" in summary
    assert f"| schedule.rollout_num=4 | 600 | {pooled.mean():.4f} ± " in summary
    assert f"| {t:.2f} | {p:.3g} |" in summary
    stamp = (out / "a-s1.per-sequence.txt").stat().st_mtime_ns
    again = seqgan("report", "--run", str(runs["a-s1"]), "--out", str(out),
                   "--significance", "300")  # fmt: skip
    assert again.returncode == 0 and (out / "a-s1.per-sequence.txt").stat().st_mtime_ns == stamp


def test_labels_are_compared_over_runs_not_samples(runs, tmp_path):
    """The run-level section: one final per run, the difference of the label means, and
    the exact permutation test over the three runs (Welch needs two runs a side)."""
    from distributed_seqgan.report.run_level import permutation_p

    res = seqgan("report", "--run", str(runs["b-s1"]), "--run", str(runs["a-s1"]),
                 "--run", str(runs["a-s2"]), "--out", str(tmp_path))  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    final = {n: [e for e in read_metrics(runs[n]) if e["phase"] == "eval"][-1]["nll_oracle"]
             for n in runs}  # fmt: skip
    a, b = [final["a-s1"], final["a-s2"]], [final["b-s1"]]
    p, count, _ = permutation_p(a, b)
    assert "## Run-level comparison" in summary and "Within-run" not in summary
    row = next(ln for ln in summary.splitlines()
               if ln.startswith("| final nll_oracle | schedule.rollout_num=4 | 2 |"))  # fmt: skip
    assert f"| {sum(a) / 2 - b[0]:+.4f} |" in row and row.endswith(f"| {p:.3g} (exact, {count}) |")
    assert "| final nll_oracle | schedule.rollout_num=2 | 1 | " in summary
    assert "| best nll_oracle | schedule.rollout_num=4 | 2 |" in summary
    one = tmp_path / "one"
    assert seqgan("report", "--run", str(runs["a-s1"]), "--out", str(one)).returncode == 0
    assert "Run-level" not in (one / "summary.md").read_text(encoding="utf-8")


def test_a_p_value_below_a_double_is_shown_as_a_bound(runs, tmp_path):
    """With 100,000 samples per method, Welch's p underflows to 0.0; the table says
    '< 1e-300', not a p-value of 0. The per-sample files are the report's own cache."""
    import numpy as np

    out = tmp_path / "sig"
    out.mkdir()
    rng = np.random.default_rng(0)
    for name, mean in (("a-s1", 8.8), ("b-s1", 9.1)):
        np.savetxt(out / f"{name}.per-sequence.txt", rng.normal(mean, 0.1, 5000), fmt="%.6f")
    res = seqgan("report", "--run", str(runs["a-s1"]), "--run", str(runs["b-s1"]),
                 "--out", str(out), "--significance", "5000")  # fmt: skip
    assert res.returncode == 0, res.stderr
    row = next(ln for ln in (out / "summary.md").read_text().splitlines()
               if ln.startswith("| schedule.rollout_num=2 | 5,000 |"))  # fmt: skip
    assert row.endswith("| < 1e-300 |"), row


def test_a_published_curve_is_drawn_and_compared_point_by_point(runs, tmp_path):
    evals = [e for e in read_metrics(runs["a-s1"]) if e["phase"] == "eval"]
    mle = [e for e in evals if e["eval_phase"] == "mle"]
    ref = tmp_path / "paper.csv"
    ref.write_text("x,phase,step,nll_oracle\n" + "".join(
        f"{e['step']},mle,{e['step']},{e['nll_oracle'] + 0.5}\n" for e in mle))  # fmt: skip
    res = seqgan("report", "--run", str(runs["a-s1"]), "--reference", f"paper={ref}",
                 "--out", str(tmp_path / "r"))  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = (tmp_path / "r" / "summary.md").read_text(encoding="utf-8")
    assert "## a-s1 against paper: nll_oracle" in summary
    assert f"{len(mle)} points; mean difference -0.5000" in summary
    without = seqgan("report", "--run", str(runs["a-s1"]), "--out", str(tmp_path / "n"))
    assert without.returncode == 0
    png = (tmp_path / "r" / "nll_oracle.png").read_bytes()
    assert png != (tmp_path / "n" / "nll_oracle.png").read_bytes()  # the curve is drawn
    bad = tmp_path / "bad.csv"
    bad.write_text("step,nll\n1,2\n")
    for spec, message in ((f"paper={bad}", "the header must be x,phase,step"),
                          (str(ref), "expected LABEL=FILE.csv"),
                          (f"p={tmp_path / 'none.csv'}", "cannot read")):  # fmt: skip
        res = seqgan("report", "--run", str(runs["a-s1"]), "--reference", spec,
                     "--out", str(tmp_path / "x"))  # fmt: skip
        assert res.returncode == 2 and message in res.stderr, res.stderr


def test_adversarial_iterations_table_is_metrics_jsonl(runs, tmp_path):
    """Per label: mean reward and reward MC variance (mean over iterations, then over
    seeds) and median seconds, from the runs' adversarial events."""
    import statistics

    res = _report(tmp_path, runs["a-s1"], runs["a-s2"], runs["b-s1"])
    assert res.returncode == 0, res.stderr
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    per_run = {}
    for name in ("a-s1", "a-s2"):
        its = [e for e in read_metrics(runs[name]) if e["phase"] == "adversarial"]
        per_run[name] = (
            statistics.mean(e["reward_mc_var"] for e in its),
            statistics.median(e["iteration_s"] - e["g_s"] for e in its),
        )
    var = [v for v, _ in per_run.values()]
    d_s = [d for _, d in per_run.values()]
    row = next(
        ln for ln in summary.splitlines() if ln.startswith("| schedule.rollout_num=4 | 2 | 3 | ")
    )
    assert f"{statistics.mean(var):.3e} ± {statistics.stdev(var):.3e}" in row
    assert f"{statistics.mean(d_s):.2f} ± {statistics.stdev(d_s):.2f}" in row


def test_versus_draws_finals_against_a_swept_key(runs, tmp_path):
    args = [a for r in (runs["a-s1"], runs["a-s2"], runs["b-s1"]) for a in ("--run", str(r))]
    res = seqgan("report", *args, "--out", str(tmp_path / "r"), "--versus", "schedule.rollout_num")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "r" / "versus.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![schedule.rollout_num](versus.png)" in (tmp_path / "r" / "summary.md").read_text()
    for key, message in (("schedule.rolout_num", "is not a config key"),
                         ("seed", "every run has seed=1"),  # a-s1 and b-s1 share it
                         ("pool.backend", "is not a number")):  # fmt: skip
        pair = [runs["a-s1"], runs["b-s1"]]
        args = [a for r in pair for a in ("--run", str(r))]
        res = seqgan("report", *args, "--out", str(tmp_path / key), "--versus", key)
        assert res.returncode == 2 and message in res.stderr, (key, res.stderr)
        assert not (tmp_path / key).exists()


def test_the_official_log_is_whole():
    """docs/official-log.csv: every point of the official save/experiment-log.txt (MLE
    every 5 epochs to 115, adversarial every 5 iterations to 150), none left out."""
    import csv

    rows = list(csv.DictReader((REPO / "docs" / "official-log.csv").open()))
    mle = [int(r["step"]) for r in rows if r["phase"] == "mle"]
    adv = [int(r["step"]) for r in rows if r["phase"] == "adversarial"]
    assert mle == list(range(0, 120, 5)) and adv == list(range(0, 155, 5))
    assert all(int(r["x"]) == int(r["step"]) + (120 if r["phase"] == "adversarial" else 0)
               for r in rows)  # fmt: skip
    assert rows[0]["nll_oracle"] == "10.1716" and rows[-1]["nll_oracle"] == "8.6832"


def test_matched_diversity_finds_the_temperature_of_a_tempered_mle(tmp_path):
    """docs/matched_diversity.py on a real text run whose ``latest`` generator is its
    ``mle`` generator at T = 0.7: the bisection must find T ~ 0.7, where the samples (same
    seed and stream) and so every score match; SeqGAN and MLE rows at T = 1 come first."""
    from distributed_seqgan.infra import checkpoint

    corpus = tmp_path / "mine.txt"
    words = [f"w{i}" for i in range(30)]
    corpus.write_text("".join(" ".join(words[(i * 7 + j * 3) % 30] for j in range(6)) + "\n"
                              for i in range(200)))  # fmt: skip
    sets = [
        f"data.path={corpus}", f"run.out_dir={tmp_path}", "generator.seq_len=8",
        "discriminator.filter_sizes=[1,2]", "discriminator.num_filters=[4,4]",
        "discriminator.emb_dim=8", "schedule.batch_size=16", "schedule.generated_num=64",
        "schedule.mle_epochs=12", "schedule.d_pretrain_rounds=1", "schedule.adv_iterations=1",
        "eval.bleu_samples=200", "eval.self_bleu_samples=200", "run.threads=1", "run.name=t",
        "generator.lr=0.02",
    ]  # fmt: skip
    run = train(load_config(REPO / "configs" / "text.yaml", sets), quiet=True)
    ckpt = run / "checkpoints"
    latest, mle = checkpoint.load(ckpt / "latest.pt"), checkpoint.load(ckpt / "mle.pt")
    gen = {k: v.clone() for k, v in mle["learner"]["generator"].items()}
    for k in ("output.weight", "output.bias"):
        gen[k] /= 0.7
    latest["learner"]["generator"] = gen
    checkpoint.save(ckpt / "latest.pt", latest)
    res = subprocess.run([sys.executable, str(REPO / "docs" / "matched_diversity.py"), "--run",
                          str(run), "--match", "self_bleu3"], capture_output=True, text=True,
                         cwd=REPO)  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = {ln.split(" | ")[1]: ln.split(" | ") for ln in res.stdout.splitlines()
            if ln.startswith("| t | ")}  # fmt: skip
    seqgan, mle_row, at = rows["SeqGAN (latest)"], rows["MLE (mle)"], rows["MLE, matched"]
    assert float(seqgan[2]) == float(mle_row[2]) == 1.0
    # nearby temperatures draw the same tokens from the same uniforms: T is found to ~0.05
    assert abs(float(at[2]) - 0.7) < 0.05, res.stdout
    head = res.stdout.splitlines()[2].split(" | ")
    for metric in ("bleu2", "self_bleu3"):
        i = head.index(metric)
        assert abs(float(at[i]) - float(seqgan[i])) < 0.02, (metric, res.stdout)
        assert float(mle_row[i]) != float(seqgan[i])
    assert "| self_bleu3 | " in res.stdout and "| nll_test | " in res.stdout
