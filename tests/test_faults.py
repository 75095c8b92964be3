"""When things go wrong for real: runs started at once, damaged files, a full disk, planted
symlinks, and signals (SIGTERM, SIGINT) in local and Ray mode. Every case either recovers
exactly (the resumed run equals an uninterrupted one) or refuses in one line."""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_resume import _assert_same_run

from distributed_seqgan.config import load_config
from distributed_seqgan.infra.tracking import read_metrics
from distributed_seqgan.runner import resume, train

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "configs" / "smoke.yaml")
LONG = ["schedule.adv_iterations=30", "schedule.checkpoint_every=10"]  # time to send a signal


def seqgan(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "distributed_seqgan", *args], cwd=REPO, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw,
    )  # fmt: skip


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref")
    return train(load_config(SMOKE, [f"run.out_dir={out}", "run.name=ref"]), quiet=True)


def test_four_unnamed_runs_started_at_once_get_four_consistent_directories(tmp_path):
    procs = [
        seqgan("train", "--config", SMOKE, "--set", f"run.out_dir={tmp_path}", "--set",
               f"seed={s}", "--quiet")
        for s in (7, 8, 9, 10)
    ]  # fmt: skip
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    dirs = sorted(tmp_path.iterdir())
    assert len(dirs) == 4
    seeds = set()
    for d in dirs:
        seeds.add(load_config(d / "config.yaml").seed)
        keys = [(e["phase"], e.get("eval_phase"), e["step"]) for e in read_metrics(d)]
        assert len(keys) == len(set(keys)) == 13, d  # one run's events, none twice
        assert (d / "checkpoints" / "latest.pt").is_file()
    assert seeds == {7, 8, 9, 10}


def test_a_truncated_latest_checkpoint_falls_back_to_the_next_best(finished, tmp_path, capfd):
    run = tmp_path / "cut"
    shutil.copytree(finished, run)
    latest = run / "checkpoints" / "latest.pt"
    latest.write_bytes(latest.read_bytes()[:2000])  # as a crash mid-copy leaves it
    resume(run, quiet=True)  # passes over latest.pt, resumes from pretrained.pt
    assert "passing over" in capfd.readouterr().err
    _assert_same_run(run, finished)


def test_a_torn_last_metrics_line_is_dropped_on_resume(finished, tmp_path):
    run = tmp_path / "torn"
    shutil.copytree(finished, run)
    metrics = run / "metrics.jsonl"
    metrics.write_text(metrics.read_text() + '{"phase": "adversarial", "st')  # a full disk's cut
    resume(run, "pretrained", quiet=True)
    _assert_same_run(run, finished)


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_checkpoint_write_that_the_disk_refuses_is_one_line_and_leaves_the_old_one(
    finished, tmp_path
):
    run = tmp_path / "full"
    shutil.copytree(finished, run)
    latest = run / "checkpoints" / "latest.pt"
    before = _sha(latest)
    limit = latest.stat().st_size // 2  # metrics.jsonl fits, a checkpoint does not
    p = seqgan("resume", "--run", str(run), "--checkpoint", "pretrained", "--quiet",
               preexec_fn=_limit_file_size(limit))  # fmt: skip
    _, err = p.communicate(timeout=300)
    assert p.returncode == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("seqgan: error: cannot write checkpoint") and "File too large" in err
    assert _sha(latest) == before
    assert not list(run.rglob("*.tmp"))


def test_planted_symlinks_are_never_written_through(finished, tmp_path):
    run = tmp_path / "links"
    shutil.copytree(finished, run)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    (run / "checkpoints" / "latest.pt.tmp").symlink_to(outside)
    resume(run, "pretrained", quiet=True)  # the link is replaced, its target untouched
    assert outside.read_text() == "keep me\n"
    assert not (run / "checkpoints" / "latest.pt.tmp").exists()
    _assert_same_run(run, finished)
    metrics = run / "metrics.jsonl"
    metrics.unlink()
    metrics.symlink_to(outside)
    p = seqgan("resume", "--run", str(run), "--checkpoint", "pretrained", "--quiet")
    _, err = p.communicate(timeout=300)
    assert p.returncode == 2 and "is a symbolic link; refusing to write through it" in err
    assert err.count("\n") == 1 and outside.read_text() == "keep me\n"


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("long")
    return train(load_config(SMOKE, [*LONG, f"run.out_dir={out}", "run.name=ref"]), quiet=True)


@pytest.mark.parametrize(
    ("backend", "sig"),
    [
        ("local", signal.SIGTERM),
        ("local", signal.SIGINT),
        ("ray", signal.SIGTERM),
        ("ray", signal.SIGINT),
    ],
)
def test_a_signal_stops_in_one_line_and_the_run_resumes_exactly(
    long_reference, tmp_path, backend, sig
):
    sets = [f"run.out_dir={tmp_path}", "run.name=sig", f"pool.backend={backend}", *LONG]
    if backend == "ray":
        sets += ["ray.cpus_per_worker=0.5"]
    p = seqgan("train", "--config", SMOKE, *[a for s in sets for a in ("--set", s)], "--quiet",
               env={**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})  # fmt: skip
    metrics = tmp_path / "sig" / "metrics.jsonl"
    deadline = time.monotonic() + 240
    while not (metrics.exists() and '"adversarial", "step": 3' in metrics.read_text()):
        assert p.poll() is None and time.monotonic() < deadline, p.communicate()
        time.sleep(0.05)
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 128 + sig, err
    ours = [line for line in err.splitlines() if line.startswith("seqgan:")]
    assert ours == [f"seqgan: stopped by {sig.name}; continue it with: seqgan resume --run "
                    f"{tmp_path / 'sig'}"], err  # fmt: skip
    assert "Traceback" not in err and "SIGTERM received" not in err, err
    assert (tmp_path / "sig" / "checkpoints" / "interrupted.pt").is_file()
    again = seqgan("resume", "--run", str(tmp_path / "sig"), "--quiet",
                   env={**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})  # fmt: skip
    assert again.wait(timeout=300) == 0, again.communicate()
    # the same numbers as the run that was never stopped (the backend does not matter)
    _assert_same_run(tmp_path / "sig", long_reference, done_step=30)


def test_a_run_directory_has_one_owner_at_a_time(tmp_path):
    """While a train (or resume) of a run is going, a resume of it is refused in one line
    before it touches anything. A killed owner's hold ends with it (the kernel drops the
    lock), so its run can be resumed."""
    from distributed_seqgan.infra.owner import own_run_dir

    run = tmp_path / "own"
    sets = [f"run.out_dir={tmp_path}", "run.name=own", "schedule.adv_iterations=100000"]
    first = seqgan("train", "--config", SMOKE, *[a for s in sets for a in ("--set", s)], "--quiet")
    metrics = run / "metrics.jsonl"
    deadline = time.monotonic() + 240
    while not (metrics.exists() and '"adversarial", "step": 3' in metrics.read_text()):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    second = seqgan("resume", "--run", str(run), "--quiet")
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2, err
    assert err.strip().splitlines() == [
        f"seqgan: error: {run}: in use by another seqgan process (a train or resume of this "
        "run is still running); wait for it to end or stop it first"
    ], err
    assert first.poll() is None  # the owner runs on
    os.kill(first.pid, signal.SIGKILL)  # no time to clean up: the hold must end anyway
    first.wait(timeout=60)
    with own_run_dir(run):  # free again
        pass
