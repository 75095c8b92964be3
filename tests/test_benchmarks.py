"""The benchmark toolkit and scripts, run as a user runs them (real subprocesses, tiny
configs): each writes its table, and its checks can fail. Their timings are not asserted;
they are the benchmarks' output, recorded in docs/benchmark-log.md."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

from distributed_seqgan.bench import common
from distributed_seqgan.bench.harness import bf16_advice

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "configs" / "smoke.yaml")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=REPO, env=dict(os.environ),
        timeout=300,
    )  # fmt: skip


def test_bench_runs_every_phase_on_a_small_config():
    res = run("-m", "distributed_seqgan", "bench", "--config", SMOKE, "--no-write")
    assert res.returncode == 0, res.stderr
    rows = [line for line in res.stdout.splitlines() if "% of fp32" in line]
    names = ("MLE epoch (64 sequences)", "sample 64", "rollout-reward", "D train step (batch 16",
             "D retraining round", "adversarial iteration")  # fmt: skip
    assert len(rows) == 6 and all(n in r for n, r in zip(names, rows, strict=True)), rows
    advice = ("should pay", "will be slower", "keep bf16 D off", "ceiling ratio")
    assert any(s in res.stdout for s in advice)


def test_bench_sizes_its_ceilings_to_a_cpu_without_fast_bf16():
    """On a CPU without native bf16 GEMMs, bf16 matmul runs a generic loop at a few GFLOP/s
    and the 2048^3 ceiling matmul took minutes per reading (a CI host hung here). oneDNN
    and ATen are held to AVX2 / generic code to be such a CPU; the bench must finish
    (within the subprocess timeout), read a bf16 ceiling far below fp32's and advise
    keeping bf16 off."""
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX2", ATEN_CPU_CAPABILITY="default")
    res = subprocess.run(
        [sys.executable, "-m", "distributed_seqgan", "bench", "--config", SMOKE, "--quick",
         "--no-write"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    line = next(x for x in res.stdout.splitlines() if x.startswith("ceilings ("))
    fp32, bf16 = (float(x) for x in re.findall(r"(?:fp32|bf16) ([0-9.e+]+) GFLOP/s", line))
    assert bf16 < fp32 / 2, line
    assert "keep bf16 D off" in res.stdout


def test_ceiling_size_keeps_2048_for_a_fast_dtype_and_shrinks_for_a_slow_one():
    assert common.ceiling_size(200e9, repeats=5, budget_s=3.0) == 2048  # 0.5 s for 6 calls
    assert common.ceiling_size(2e9, repeats=5, budget_s=3.0) == 512  # 2048^3: 52 s
    assert common.ceiling_size(1e6, repeats=5, budget_s=3.0) == common.PROBE_N  # the floor


def test_d_floor_benchmark_writes_its_table(tmp_path):
    """benchmarks/bench_d_floor.py on a tiny config: one table with every part and the sums."""
    out = tmp_path / "bench.md"
    res = run("benchmarks/bench_d_floor.py", "--config", SMOKE, "--out", str(out))
    assert res.returncode == 0, res.stderr
    table = out.read_text()
    for part in ("forward", "highway backward", "fused Adam", "autocast casts", "kernel floor"):
        assert part in table, part
    assert table.count("% of the fp32 ceiling") == 2 and table.count("% of the bf16 ceiling") == 2


def test_d_formulations_benchmark_checks_and_writes_its_table(tmp_path):
    """benchmarks/bench_d_formulations.py on a tiny config: every candidate is checked
    against the model, then timed in both precisions and both phases."""
    out = tmp_path / "bench.md"
    res = run(
        "benchmarks/bench_d_formulations.py",
        "--config",
        SMOKE,
        "--rows",
        "64",
        "--rounds",
        "1",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    table = out.read_text()
    for name in (
        "(the model)",
        "conv1d on the transposed view",
        "unfold",
        "one padded GEMM",
        "three padded GEMMs",
    ):
        assert name in table, name
    rows = [line for line in table.splitlines() if line.startswith("| ") and " ms (" in line]
    assert len(rows) == 8 and all(line.count(" ms (") == 4 for line in rows)


def test_sampler_benchmark_writes_its_table(tmp_path):
    """benchmarks/bench_sampler.py on a small vocabulary: three samplers, and the two
    inverse-CDF ones agree."""
    out = tmp_path / "bench.md"
    res = run("benchmarks/bench_sampler.py", "--vocab", "97", "--rows", "64", "--out", str(out))
    assert res.returncode == 0, res.stderr
    table = out.read_text()
    assert "torch.multinomial" in table and "two-level inverse CDF (the engine)" in table
    assert "in 100.00% of rows" in table


def test_bench_advises_on_bf16_from_the_ceilings():
    assert "4.0x fp32 here" in bf16_advice({"fp32": 200.0, "bf16": 800.0}, bf16_on=False)
    assert "slower than fp32" in bf16_advice({"fp32": 200.0, "bf16": 100.0}, bf16_on=True)
    assert "keep bf16 D off" in bf16_advice({"fp32": 200.0, "bf16": 2.0}, bf16_on=False)
    assert bf16_advice({"fp32": 200.0, "bf16": 800.0}, bf16_on=True).startswith("bf16 / fp32")


def test_seqgan_bench_appends_its_table(tmp_path):
    out = tmp_path / "log.md"
    res = run("-m", "distributed_seqgan", "bench", "--config", SMOKE, "--quick", "--out", str(out))
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert f"· `seqgan bench --config {SMOKE} --quick`" in text  # the command, without --out
    rows = [line for line in text.splitlines() if line.startswith("| ") and "% fp32 |" in line]
    assert len(rows) == 5, text


def test_table_writer_appends_dated_sections(tmp_path):
    out = str(tmp_path / "log.md")
    common.append_table(out, "cmd a", "first", ["x", "y"], [["1", "2"]])
    common.append_table(out, "cmd b", "second", ["x"], [["3"], ["4"]])
    text = Path(out).read_text()
    assert text.count("\n## ") == 2 and "· `cmd a`" in text and "· `cmd b`" in text
    assert "| x | y |\n|---|---|\n| 1 | 2 |" in text and "| 3 |\n| 4 |" in text
    assert common.command("s.py", ["--rows", "4", "--out", "f.md", "--device", "cpu"]) == (
        "s.py --rows 4 --device cpu"
    )


def test_eval_benchmark_writes_before_and_after(tmp_path):
    """benchmarks/bench_eval.py on slices of two corpora: after, the text task draws only
    the samples it scores; music keeps every sample (MSE scores them all)."""
    out = tmp_path / "log.md"
    res = run("benchmarks/bench_eval.py", "--tasks", "poems-cpu,music-cpu", "--set",
              "data.max_lines=300", "--set", "schedule.generated_num=256", "--set",
              "eval.bleu_samples=64", "--set", "eval.self_bleu_samples=32", "--out", str(out))  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = out.read_text().splitlines()
    poems = next(line for line in lines if line.startswith("| poems-cpu |")).split(" | ")
    music = next(line for line in lines if line.startswith("| music-cpu |")).split(" | ")
    assert "(256 samples" in poems[3] and "(64 samples" in poems[4]
    assert "(256 samples" in music[3] and "(256 samples" in music[4]


def test_eval_benchmark_times_nll_test_with_and_without_gradient_work(tmp_path):
    """The synthetic task's row, then NLL-test both ways (the script asserts one value)."""
    out = tmp_path / "log.md"
    res = run("benchmarks/bench_eval.py", "--tasks", "synthetic-cpu", "--set",
              "data.num_positive=256", "--set", "data.num_test=256", "--set",
              "schedule.generated_num=256", "--out", str(out))  # fmt: skip
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert "| synthetic-cpu | 256 / 256 |" in text
    row = next(line for line in text.splitlines() if line.startswith("| 256 |")).split(" | ")
    assert len(row) == 4 and row[1].endswith(" s") and row[3].endswith("x |")


def test_threads_benchmark_writes_every_policy(tmp_path):
    out = tmp_path / "log.md"
    res = run("benchmarks/bench_threads.py", "--quick", "--out", str(out))
    assert res.returncode == 0, res.stderr
    rows = [line for line in out.read_text().splitlines() if line.startswith("| 0 |")]
    assert {tuple(r.split(" | ")[1:3]) for r in rows} >= {
        ("1", "unset"),
        ("1", "ACTIVE"),
        ("1", "PASSIVE"),
    }


def test_shared_cores_benchmark_runs_k_processes_together(tmp_path):
    """benchmarks/bench_shared_cores.py with tiny sizes: a row per K, each process's times,
    and the work rate relative to the first row (1.00x there by definition)."""
    out = tmp_path / "log.md"
    res = run("benchmarks/bench_shared_cores.py", "--config", SMOKE, "--runs", "1,3",
              "--sequences", "128", "--d-steps", "2", "--out", str(out))  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    rows = [r.split(" | ") for r in out.read_text().splitlines() if r[:4] in ("| 1 ", "| 3 ")]
    assert [r[0] for r in rows] == ["| 1", "| 3"], rows
    assert rows[0][4] == "1.00x |"
    assert all(r[1].endswith(" s") and r[2].endswith(" ms") for r in rows)
    assert float(rows[1][4].removesuffix("x |")) > 0


def test_compare_events_states_the_distance_between_two_runs(tmp_path):
    """benchmarks/compare_events.py (gpu.sh's fast-vs-eager check) on real smoke runs: the
    same config twice is 0 everywhere; another seed is not; a missing event is an error."""

    def train(name: str, *sets: str) -> Path:
        res = run("-m", "distributed_seqgan", "train", "--config", SMOKE, "--set",
                  f"run.out_dir={tmp_path}", "--set", f"run.name={name}", *sets)  # fmt: skip
        assert res.returncode == 0, res.stderr
        return tmp_path / name

    a, b, c = train("a"), train("b"), train("c", "--set", "seed=8")
    res = run("benchmarks/compare_events.py", str(a), str(b), "--out", str(tmp_path / "ab.md"))
    assert res.returncode == 0, res.stdout + res.stderr
    rows = [
        r.split(" | ") for r in res.stdout.splitlines() if r.startswith("| ") and "---" not in r
    ]
    metrics = {r[0].lstrip("| ") for r in rows[1:]}
    assert {"nll_oracle", "d_loss", "pg_loss", "mle_loss"} <= metrics
    assert all(r[2] == "0" for r in rows[1:]), rows
    assert (tmp_path / "ab.md").read_text().strip() == res.stdout.strip()
    res = run("benchmarks/compare_events.py", str(a), str(c))
    diffs = {r[0].lstrip("| "): float(r[2]) for r in
             (x.split(" | ") for x in res.stdout.splitlines()[3:] if x.startswith("| "))}  # fmt: skip
    assert res.returncode == 0 and diffs["nll_oracle"] > 0
    lines = (b / "metrics.jsonl").read_text().splitlines()
    (b / "metrics.jsonl").write_text("\n".join(lines[:-3]) + "\n")
    res = run("benchmarks/compare_events.py", str(a), str(b))
    assert res.returncode == 1 and "only in a" in res.stdout


def test_gpu_summary_reads_every_bench_variant_and_the_schedule(tmp_path):
    """benchmarks/gpu_summary.py on a folder as gpu.sh leaves it: real `seqgan bench`
    tables of two variants (the second with D as padded GEMMs), a paper-slice metrics file
    and gpu.log lines -> one table with a column per variant, each phase marked against
    its target, and the schedule's time extrapolated from the phases it reached."""
    import importlib.util
    import json

    log = tmp_path / "benchmark-log.md"
    for extra in ([], ["--set", "discriminator.formulation=gemm"]):
        res = run("-m", "distributed_seqgan", "bench", "--config", SMOKE, "--quick",
                  "--out", str(log), *extra)  # fmt: skip
        assert res.returncode == 0, res.stderr
    assert "D formulation gemm (3 GEMM runs)" in log.read_text()
    with (tmp_path / "paper-metrics.jsonl").open("w") as f:
        for phase, key, secs in (("mle", "epoch_s", 0.1), ("mle", "epoch_s", 0.3),
                                 ("d_pretrain", "round_s", 0.5)):  # fmt: skip
            f.write(json.dumps({"phase": phase, "step": 0, "time_s": 1.0, key: secs}) + "\n")
    (tmp_path / "gpu.log").write_text("== 1. x\n4 runs at once: 10.0 s wall, ...\nnoise\n")
    res = run("benchmarks/gpu_summary.py", str(tmp_path))
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "summary.md").read_text()
    assert text == res.stdout
    header = next(line for line in text.splitlines() if line.startswith("| phase | target"))
    assert header.endswith(f"| `--config {SMOKE} --quick` | "
                           f"`--config {SMOKE} --quick --set discriminator.formulation=gemm` |")  # fmt: skip
    d_round = next(line for line in text.splitlines() if line.startswith("| D retraining round"))
    assert "✓" not in d_round and "✗" not in d_round  # the targets are the paper config's
    assert d_round.count(" ms |") + d_round.count(" s |") == 2  # a time per variant
    spec = importlib.util.spec_from_file_location(
        "gpu_summary", REPO / "benchmarks" / "gpu_summary.py"
    )
    summary = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(summary)
    bench_table = summary.bench_table

    paper = bench_table([("a", {"D retraining round (9984 + 9984, 3 epochs)": 0.39}),
                         ("b", {"D retraining round (9984 + 9984, 3 epochs)": 0.41})])  # fmt: skip
    assert (
        paper[-1]
        == "| D retraining round (9984 + 9984, 3 epochs) | ≤ 400 ms | 390 ms ✓ | 410 ms ✗ |"
    )
    assert "- MLE epoch: median 200 ms over 2 -> x120 = 0.4 min" in text
    assert "- D pretraining round: median 500 ms over 1 -> x50 = 0.4 min" in text
    assert "whole schedule from the phases measured: 0.8 min (target ≤ 10 min); not reached: " \
        "adversarial iteration" in text  # fmt: skip
    assert "- 4 runs at once: 10.0 s wall, ..." in text and "noise" not in text


def test_d_round_ab_alternates_two_checkouts_and_checks_their_losses_agree(tmp_path):
    """benchmarks/bench_d_round_ab.py with this checkout on both sides: every pair in its
    table, both sides' D losses identical to the bit, the table appended to --out."""
    out = tmp_path / "ab.md"
    res = run("benchmarks/bench_d_round_ab.py", str(REPO), str(REPO), "--config",
              "configs/smoke.yaml", "--pairs", "2", "--rounds", "1", "--out", str(out))  # fmt: skip
    assert res.returncode == 0, res.stderr
    table = out.read_text()
    assert "| 1 |" in table and "| 2 |" in table and "| 3 |" not in table
    assert "mean D loss identical in every process: yes" in table
    assert "weights after the last round identical in every process: yes" in table


def gpu_sh(tmp_path, **env: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / "out"
    full = {**os.environ, "DEVICE": "cpu", "PYTHON": sys.executable, "OUT": str(out), **env}
    res = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu.sh")], capture_output=True,
                         text=True, cwd=REPO, env=full, timeout=600)  # fmt: skip
    return res, out


def test_gpu_sh_runs_every_step_and_brings_back_at_most_eight_files(tmp_path):
    """benchmarks/gpu.sh in its CPU mode, as the device machine will run it: every step,
    the fast and eager runs identical event by event, a step stopped at its own limit is
    said in the log and the summary, and what comes back is at most 8 files (the device
    call's limit), every step's log inside the archive."""
    res, out = gpu_sh(tmp_path, PAPER_BUDGET_S="1")  # the paper slice: cut at 1 s
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8 and {"gpu.log", "summary.md", "runs-and-logs.tgz"} <= set(files)
    fast_vs_eager = (out / "fast-vs-eager.md").read_text()
    rows = [r.split(" | ") for r in fast_vs_eager.splitlines() if r.startswith("| ")][2:]
    assert rows and all(r[2] == "0" for r in rows), fast_vs_eager
    summary = (out / "summary.md").read_text()
    assert "- stopped at its limit: paper schedule (1 s)" in summary, summary
    assert "1 runs at once:" in summary and "2 runs at once:" in summary
    with tarfile.open(out / "runs-and-logs.tgz") as tar:
        names = tar.getnames()
    assert {"./logs/graphs-true.log", "./logs/paper.log", "./logs/share2.log"} <= set(names)
    assert not [n for n in names if n.endswith(".pt")]


def test_gpu_sh_skips_what_its_deadline_leaves_no_time_for_and_still_summarises(tmp_path):
    """With DEADLINE_S leaving under 10 s past the 20 s kept for the archive and summary,
    every step is skipped and said, and the summary and archive are still written."""
    res, out = gpu_sh(tmp_path, DEADLINE_S="25")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    summary = (out / "summary.md").read_text()
    for step in ("CUDA tests", "seqgan bench", "paper schedule", "1 seeds at once"):
        assert f"- skipped for time: {step} (deadline 25 s)" in summary, summary
    assert (out / "runs-and-logs.tgz").is_file()


def test_gpu_sh_runs_steps_4_to_6_eagerly_when_the_fast_paths_run_fails(tmp_path):
    """A fast path that fails on the device costs only its own comparison: the paper slice
    and the seeds-sharing sweeps run with run.cuda_graphs=false, and the log and summary
    say why. The failure is a Python that refuses every command with graphs on (a CPU
    never captures), so any later step still asking for graphs fails and is missed."""
    python = tmp_path / "python"
    python.write_text(
        "#!/usr/bin/env bash\n"
        'for a in "$@"; do if [ "$a" = run.cuda_graphs=true ]; then\n'
        '  echo "RuntimeError: capturing a pass of DRound steps as a CUDA graph failed" >&2\n'
        "  exit 1\n"
        "fi; done\n"
        f'exec {sys.executable} "$@"\n'
    )
    python.chmod(0o755)
    res, out = gpu_sh(tmp_path, PYTHON=str(python), PAPER_BUDGET_S="60")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    log = (out / "gpu.log").read_text()
    assert "graphs=true run failed with status 1" in log, log
    summary = (out / "summary.md").read_text()
    assert (
        "- eager from here: steps 4-6 run with run.cuda_graphs=false; the failure: "
        "capturing a pass of DRound steps as a CUDA graph failed" in summary
    ), summary
    assert "adversarial iteration: median" in summary, summary  # the paper slice ran
    assert "1 runs at once:" in summary and "2 runs at once:" in summary
    if importlib.util.find_spec("ray") is not None:  # step 6: Ray against local, the overlap
        assert "pool ray: median adversarial iteration" in summary, summary
        assert "bench_overlap.py" in (out / "benchmark-log.md").read_text()


def test_slim_wheel_drops_folders_and_their_record_lines_and_pip_installs_it(tmp_path):
    """benchmarks/slim_wheel.py (how Ray fits one device call): the folders named are gone
    from the wheel and its RECORD, every other member is byte for byte the original's, and
    pip installs the result as gpu.sh does (--no-index --no-deps --target)."""
    import base64
    import hashlib
    import zipfile

    files = {"demo/__init__.py": b"X = 1\n", "demo/jars/big.jar": b"\0" * 4096,
             "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
             "demo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
                                         b"Tag: py3-none-any\n"}  # fmt: skip
    record = (
        "".join(
            f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
            for name, data in files.items()
        )
        + "demo-1.0.dist-info/RECORD,,\n"
    )
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for name, data in {**files, "demo-1.0.dist-info/RECORD": record.encode()}.items():
            z.writestr(name, data)
    out = tmp_path / "slim"
    out.mkdir()
    res = run("benchmarks/slim_wheel.py", str(wheel), str(out), "demo/jars/")
    assert res.returncode == 0, res.stderr
    slim = out / wheel.name
    with zipfile.ZipFile(slim) as z:
        assert sorted(z.namelist()) == sorted(n for n in [*files, "demo-1.0.dist-info/RECORD"]
                                              if not n.startswith("demo/jars/"))  # fmt: skip
        assert z.read("demo/__init__.py") == files["demo/__init__.py"]
        assert "jars" not in z.read("demo-1.0.dist-info/RECORD").decode()
    target = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                          "--target", str(target), str(slim)], capture_output=True, text=True)  # fmt: skip
    assert pip.returncode == 0, pip.stderr
    assert (target / "demo" / "__init__.py").read_bytes() == b"X = 1\n"
    assert not (target / "demo" / "jars").exists()
    res = run("benchmarks/slim_wheel.py", str(slim), str(out))  # onto itself: refused
    assert (
        res.returncode == 1
        and res.stderr.startswith("slim_wheel: ")
        and "overwrite itself" in res.stderr
    )
    assert len(res.stderr.strip().splitlines()) == 1
