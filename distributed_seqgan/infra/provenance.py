"""Which code, on which processor, made a run: every process that writes to a run
directory (``train``, each ``resume``) appends one line to its ``versions.jsonl``.

Why: a result can be repeated only with the code that made it, and the package version
alone does not name that code (it changes rarely). Where the package is imported from a
git checkout, the line also holds the commit and whether the package's files differ from
it. A run resumed under other code (a stopped sweep continued after a pull) keeps both
lines, each with the position its process started at, so a table row can say which code
made which part of each run. The processors are the learner's and its rollout workers'
(on Ray, other nodes' perhaps): float rounding differs from one CPU model to another.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from .files import append_line, open_append

VERSIONS = "versions.jsonl"
COMMIT_VARIABLE = "SEQGAN_CODE_COMMIT"  # the commit of a checkout copied without .git
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def git_state(package_dir: Path = PACKAGE_DIR) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout whose top level holds ``package_dir``; (None,
    None) where there is none (an installed wheel, a Ray job's copy of its working dir) or
    git cannot say. Dirty: a file under ``package_dir`` differs from the commit or is not
    tracked (ignored files such as ``__pycache__`` aside)."""

    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(
                ["git", "-C", str(package_dir), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    # the checkout must be the package's own, not some repository that happens to enclose
    # a site-packages directory
    if top is None or Path(top).resolve() != package_dir.resolve().parent:
        return None, None
    commit = git("rev-parse", "HEAD")
    if commit is None:  # a repository without commits
        return None, None
    status = git("status", "--porcelain", "--", ".")
    return commit, None if status is None else bool(status)


def code_version() -> dict[str, Any]:
    """The package's version, its git commit (and whether it is dirty) where there is one,
    and the versions of what computes the numbers. A copy of a checkout without its
    ``.git`` (a Ray job's working dir, a machine the files were sent to) can be told its
    commit in ``SEQGAN_CODE_COMMIT``; its local changes are then unknown."""
    commit, dirty = git_state()
    if commit is None and os.environ.get(COMMIT_VARIABLE):
        commit = os.environ[COMMIT_VARIABLE].strip()
    return {
        "distributed_seqgan": __version__, "git_commit": commit, "git_dirty": dirty,
        "python": platform.python_version(), "torch": torch.__version__,
        "numpy": np.__version__,
    }  # fmt: skip


def cpu_model() -> str:
    """The CPU's model name and vendor (``AMD EPYC (AuthenticAMD)``) from /proc/cpuinfo,
    else what ``platform`` knows (often only ``x86_64``)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and key.strip() in ("model name", "vendor_id"):
                    fields.setdefault(key.strip(), value.strip())
                if not line.strip():  # the first processor's block is enough
                    break
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine() or "unknown"
    return f"{name} ({fields['vendor_id']})" if "vendor_id" in fields else name


def machine(device: str) -> dict[str, Any]:
    """The processor that computed the numbers. The kernel libraries pick their code by
    instruction set and vendor, and float rounding may differ with it, so the same code,
    seed and thread count are promised to repeat a run bit for bit only on the same kind
    of processor."""
    info: dict[str, Any] = {
        "cpu": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }  # fmt: skip
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
        info["cuda"] = torch.version.cuda
    return info


def record(
    run_dir: Path, how: str, at: tuple[str, int], device: str, threads: int,
    worker_cpus: list[str],
) -> dict:  # fmt: skip
    """Appends this process's line to ``run_dir/versions.jsonl`` and returns it: ``how``
    it writes to the run (train | resume | init-from), the position it starts at, the
    device and torch threads, :func:`machine`, the CPU models its rollout workers run on
    (each once; on Ray they can be other nodes'), and :func:`code_version`."""
    entry = {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "how": how, "at": f"{at[0]} {at[1]}", "device": device, "threads": threads,
        **machine(device), "worker_cpus": sorted(set(worker_cpus)), **code_version(),
    }  # fmt: skip
    path = run_dir / VERSIONS
    with open_append(path) as f:
        append_line(f, path, json.dumps(entry) + "\n")
    return entry


def read(run_dir: Path) -> list[dict[str, Any]]:
    """The run's lines, oldest first; none for a run made before runs recorded them."""
    path = run_dir / VERSIONS
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def describe(entry: dict[str, Any]) -> str:
    """One line's code, short: ``0c8e472``, ``0c8e472 + local changes``, or the package
    version where there was no checkout (``distributed_seqgan 0.1.0``)."""
    commit = entry.get("git_commit")
    if not commit:
        return f"distributed_seqgan {entry.get('distributed_seqgan', '?')}"
    return commit[:7] + (" + local changes" if entry.get("git_dirty") else "")


def describe_run(run_dir: Path) -> str:
    """Every code a run was made with, in order, each once: ``0c8e472`` or ``a1b2c3d (from
    mle 0), 0c8e472 (from adversarial 310)``; '' for a run with no record."""
    entries = read(run_dir)
    codes: list[tuple[str, str]] = []
    for e in entries:
        code = describe(e)
        if not codes or codes[-1][0] != code:
            codes.append((code, str(e.get("at", "?"))))
    if len(codes) == 1:
        return codes[0][0]
    return ", ".join(f"{code} (from {at})" for code, at in codes)
