"""``seqgan sweep``: one config over several seeds, as separate processes, K at a time.

Why: the unit of replication is the training run, so a comparison needs several seeds of
each configuration; and one run rarely fills a machine (a GPU at batch 64 is mostly
idle, a multi-core CPU has cores to spare). Each seed is an ordinary ``seqgan train`` (or
``resume``) child process with its own run directory ``<name>-s<seed>``, so a sweep's
runs are exactly the runs those commands make, and a stopped sweep continues where each
run stopped: a finished run is skipped, a started one resumed. Each child writes its
event lines to ``<name>-s<seed>.log`` beside its run directory, and a progress line (where
it stands in its plan, and its time left) every half ``status_every`` (so that each status
finds a recent one); every ``status_every`` seconds the sweep says how many of its runs
are running, waiting, finished and failed, and repeats each running child's newest progress
and event line, so a sweep of many hours shows where each run is without opening its log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import load_config, load_run_config
from ..errors import Stopped, UserError
from ..infra import checkpoint
from ..infra.progress import PROGRESS_LINE, duration
from ..runner import runs_root


def parse_seeds(text: str) -> list[int]:
    """``88,89,90`` or ``88-92`` (or a mix: ``1,5-7``) -> the seeds, in order, no repeats."""
    seeds: list[int] = []
    try:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            lo, sep, hi = part.partition("-")
            span = range(int(lo), int(hi) + 1) if sep else [int(lo)]
            seeds += [s for s in span if s not in seeds]
    except ValueError:
        raise UserError(f"--seeds: expected seeds like 88,89,90 or 88-92, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UserError(f"--seeds: expected seeds >= 0 like 88,89,90 or 88-92, got {text!r}")
    return seeds


@dataclass
class Job:
    seed: int
    run_dir: Path
    command: list[str]  # what the child runs: train, or resume of a started run
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0


def run_state(run_dir: Path) -> str:
    """new | finished | started (a run directory with checkpoints to resume from)."""
    if not (run_dir / "config.yaml").is_file():
        return "new"
    latest = run_dir / "checkpoints" / "latest.pt"
    if latest.is_file() and checkpoint.load(latest).get("phase") == "done":
        return "finished"
    return "started"


def plan_jobs(
    config: str, overrides: Sequence[str], seeds: Sequence[int], name: str | None, threads: int,
    progress_every: float = 600.0,
) -> tuple[list[Job], list[Path]]:  # fmt: skip
    """The jobs to run and the runs already finished. The config is loaded once per seed
    here, so a bad key or value stops the sweep before any process starts."""
    base = [sys.executable, "-m", "distributed_seqgan"]
    progress = ["--progress-every", str(progress_every)]
    jobs, finished = [], []
    for seed in seeds:
        sets = [*overrides, f"seed={seed}", f"run.threads={threads}"]
        cfg = load_config(config, sets)
        stem = name or cfg.run.name or Path(config).stem
        run_dir = runs_root(cfg.run.out_dir) / f"{stem}-s{seed}"
        state = run_state(run_dir)
        if state == "finished":
            finished.append(run_dir)
            continue
        if state == "started":
            load_run_config(run_dir)  # its own config: a broken one stops the sweep now
            command = [*base, "resume", "--run", str(run_dir), *progress]
        else:
            args = [a for s in [*sets, f"run.name={run_dir.name}"] for a in ("--set", s)]
            command = [*base, "train", "--config", config, *args, *progress]
        log = run_dir.parent / f"{run_dir.name}.log"
        jobs.append(Job(seed, run_dir, command, log))
    return jobs, finished


# a run's progress line: "[  586.8s] progress: adversarial 107/800 it, run: 9h35m left"
PROGRESS = "] " + PROGRESS_LINE


def status(log: Path, tail: int = 8192) -> str:
    """A child's newest progress and its newest other line, from the end of its log
    ('' while it has written none). Each keeps its ``[  586.8s]`` time: the progress line
    can be minutes older than the event after it."""
    try:
        with log.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - tail))
            lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln]
    progress = next((ln.replace(PROGRESS, "] ", 1) for ln in reversed(lines) if PROGRESS in ln), "")
    event = next((ln for ln in reversed(lines) if PROGRESS not in ln), "")
    return f"{progress}; {event}" if progress and event else progress or event


def run_jobs(jobs: list[Job], parallel: int, say=print, status_every: float = 600.0) -> list[Job]:
    """Runs the jobs, ``parallel`` at a time; returns those that failed. Every
    ``status_every`` seconds (0: never) it counts the jobs by state and says each running
    child's newest log line.
    SIGINT or SIGTERM is passed on to the running children (each saves
    ``interrupted.pt``)."""
    waiting, running, failed = list(jobs), [], []
    finished = 0
    stop: list[int] = []
    began = time.monotonic()
    next_status = began + status_every

    def on_signal(signum: int, _frame: object) -> None:
        stop.append(signum)
        for job in running:
            if job.proc is not None and job.proc.poll() is None:
                job.proc.send_signal(signum)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while waiting or running:
            while waiting and len(running) < parallel and not stop:
                job = waiting.pop(0)
                job.log.parent.mkdir(parents=True, exist_ok=True)
                with job.log.open("ab") as out:
                    job.proc = subprocess.Popen(job.command, stdout=out, stderr=subprocess.STDOUT)
                job.started = time.monotonic()
                verb = "resumes" if "resume" in job.command else "starts"
                say(f"seed {job.seed}: {verb} {job.run_dir} (log {job.log})")
                running.append(job)
            for job in [j for j in running if j.proc is not None and j.proc.poll() is not None]:
                running.remove(job)
                took = time.monotonic() - job.started
                code = None if job.proc is None else job.proc.returncode
                if code == 0:
                    say(f"seed {job.seed}: finished in {took:.0f} s: {job.run_dir}")
                    finished += 1
                    continue
                failed.append(job)
                if stop and code in (128 + stop[0], -stop[0]):  # the signal we passed on
                    say(f"seed {job.seed}: stopped after {took:.0f} s (the same sweep resumes it)")
                else:
                    say(f"seed {job.seed}: failed (exit {code}) after {took:.0f} s; see {job.log}")
            if stop and not running:
                break
            if status_every > 0 and running and time.monotonic() >= next_status:
                next_status = time.monotonic() + status_every
                say(
                    f"sweep ({duration(time.monotonic() - began)}): {len(running)} running, "
                    f"{len(waiting)} waiting, {finished} finished, {len(failed)} failed"
                )
                for job in running:
                    took = duration(time.monotonic() - job.started)
                    say(f"seed {job.seed} ({took}): {status(job.log) or 'starting'}")
            time.sleep(0.2)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    if stop:  # the CLI names the signal and exits 128 + it
        raise Stopped(stop[0])
    return failed


def available_cores() -> int:
    """The cores this process may run on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores or 1


def default_threads(parallel: int) -> int:
    """This machine's cores shared among the runs at once (at least one each)."""
    return max(1, available_cores() // parallel)


def sharing_note(parallel: int, threads: int, cores: int) -> str | None:
    """What a user should know when the runs' threads outnumber the cores (None when
    they do not): the runs time-share the cores, and that costs work, not only speed."""
    if parallel * threads <= cores:
        return None
    return (
        f"note: {parallel} runs x {threads} thread{'s' if threads > 1 else ''} share "
        f"{cores} core{'s' if cores > 1 else ''}: each run goes slower, and runs that "
        "time-share cores get less done together than as many runs as cores (on a 2-core "
        "machine, 3 one-thread runs did up to 9% less, 5 did 3-12% less than 2: "
        "docs/benchmarks.md, 'Runs sharing cores')"
    )
