"""versions.jsonl: every process that writes to a run records the code it ran (package
version, git commit and local changes, torch, numpy, Python) and where it started; the
report names it per run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from distributed_seqgan import __version__
from distributed_seqgan.acting.factory import make_pool
from distributed_seqgan.config import load_config
from distributed_seqgan.infra import checkpoint, provenance
from distributed_seqgan.report.runs import EvalPoint, RunRecord, load_run
from distributed_seqgan.report.summary import write_report
from distributed_seqgan.report.tables import finals_table, mixed_code
from distributed_seqgan.runner import resume, train
from distributed_seqgan.tasks import build_task

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "configs" / "smoke.yaml")


def _git(cwd: Path, *args: str) -> str:
    res = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                         cwd=cwd, capture_output=True, text=True, check=True)  # fmt: skip
    return res.stdout.strip()


def test_each_process_of_a_run_records_its_code_and_where_it_started(tmp_path):
    cfg = load_config(SMOKE, [f"run.out_dir={tmp_path}", "run.name=r", "run.threads=1"])
    run_dir = train(cfg, quiet=True)
    (first,) = provenance.read(run_dir)
    assert (first["how"], first["at"], first["device"], first["threads"]) == ("train", "init 0",
                                                                              "cpu", 1)  # fmt: skip
    assert first["distributed_seqgan"] == __version__
    assert (first["torch"], first["numpy"]) == (torch.__version__, np.__version__)
    assert first["cpu"] == provenance.cpu_model() and first["cpu"]  # whose kernels rounded
    cpuinfo = Path("/proc/cpuinfo")
    names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
             if ln.startswith("model name")] if cpuinfo.is_file() else []  # fmt: skip
    if names:
        assert first["cpu"].startswith(names[0])
    assert first["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert first["worker_cpus"] == [first["cpu"]]  # local workers: this process
    commit, dirty = provenance.git_state()
    assert (first["git_commit"], first["git_dirty"]) == (commit, dirty)
    if (REPO / ".git").exists():  # tests run from the checkout (CI: a clean clone)
        assert commit == _git(REPO, "rev-parse", "HEAD")
    # the run loses its end, as a killed run would, and is resumed: a second line
    (run_dir / "checkpoints" / "latest.pt").unlink()
    resume(run_dir, quiet=True)
    first_again, second = provenance.read(run_dir)
    assert first_again == first
    pretrained = checkpoint.load(run_dir / "checkpoints" / "pretrained.pt")  # resumed from
    assert second["how"] == "resume"
    assert second["at"] == f"{pretrained['phase']} {pretrained['step']}"
    assert second["git_commit"] == first["git_commit"]
    # the report names the code once when every process ran the same
    run = load_run(run_dir)
    assert run.code == provenance.describe(first)
    write_report([run], tmp_path / "report", metrics=["nll_oracle"])
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert f"seed {run.seed}; code {run.code}." in summary


class ElsewherePool:
    """A real LocalPool whose workers say they run on another processor, as Ray workers
    on other nodes of a mixed cluster would."""

    def __init__(self, pool) -> None:
        self.pool = pool

    def __getattr__(self, name: str):
        return getattr(self.pool, name)

    def describe(self):
        return [{**w, "cpu": "Other CPU (GenuineOther)"} for w in self.pool.describe()]


def test_workers_on_another_processor_are_recorded_and_noted(tmp_path, capsys):
    cfg = load_config(SMOKE, [f"run.out_dir={tmp_path}", "run.name=r", "run.threads=1"])
    run_dir = train(cfg, pool=ElsewherePool(make_pool(build_task(cfg)[1])))
    (entry,) = provenance.read(run_dir)
    assert entry["worker_cpus"] == ["Other CPU (GenuineOther)"] != [entry["cpu"]]
    out = capsys.readouterr().out
    assert f"note: rollout workers run on Other CPU (GenuineOther), the learner on {entry['cpu']}" \
        in out  # fmt: skip


def test_git_state_is_the_package_checkouts_own(tmp_path):
    pkg = tmp_path / "repo" / "distributed_seqgan"
    pkg.mkdir(parents=True)
    assert provenance.git_state(pkg) == (None, None)  # no checkout at all
    (pkg / "a.py").write_text("x = 1\n")
    repo = pkg.parent
    _git(repo, "init", "-q")
    assert provenance.git_state(pkg) == (None, None)  # a repository without commits
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one")
    head = _git(repo, "rev-parse", "HEAD")
    assert provenance.git_state(pkg) == (head, False)
    (repo / "notes.txt").write_text("outside the package\n")
    assert provenance.git_state(pkg) == (head, False)  # only the package's files count
    (pkg / "a.py").write_text("x = 2\n")
    assert provenance.git_state(pkg) == (head, True)
    # a package deeper inside some other repository (site-packages in a project): not its
    # checkout, so no commit is claimed
    nested = repo / "lib" / "site-packages" / "distributed_seqgan"
    nested.mkdir(parents=True)
    assert provenance.git_state(nested) == (None, None)


def test_a_copy_without_git_can_be_told_its_commit(tmp_path):
    """The package copied without .git (as a Ray job or a device machine gets it), imported
    in a fresh process: no commit, unless SEQGAN_CODE_COMMIT names it."""
    copy = tmp_path / "copy"
    shutil.copytree(REPO / "distributed_seqgan", copy / "distributed_seqgan",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    probe = "import json; from distributed_seqgan.infra import provenance as p; " \
            "print(json.dumps(p.code_version()))"  # fmt: skip

    def version(**env: str) -> dict:
        base = {k: v for k, v in os.environ.items() if k != provenance.COMMIT_VARIABLE}
        res = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                             text=True, env={**base, "PYTHONPATH": str(copy), **env})  # fmt: skip
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    assert version()["git_commit"] is None
    told = version(SEQGAN_CODE_COMMIT="c" * 40)
    assert (told["git_commit"], told["git_dirty"]) == ("c" * 40, None)
    assert provenance.describe(told) == "ccccccc"


def test_a_run_made_by_two_codes_names_both_with_where_each_began(tmp_path):
    lines = [
        {"how": "train", "at": "init 0", "git_commit": "a" * 40, "git_dirty": False},
        {"how": "resume", "at": "mle 40", "git_commit": "a" * 40, "git_dirty": False},
        {"how": "resume", "at": "adversarial 3", "git_commit": "b" * 40, "git_dirty": True},
        {"how": "resume", "at": "adversarial 9", "git_commit": None,
         "distributed_seqgan": "0.1.0"},
    ]  # fmt: skip
    (tmp_path / "versions.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    assert provenance.describe_run(tmp_path) == (
        "aaaaaaa (from init 0), bbbbbbb + local changes (from adversarial 3), "
        "distributed_seqgan 0.1.0 (from adversarial 9)"
    )
    assert provenance.describe_run(tmp_path / "none") == ""  # made before runs recorded it


def test_the_report_flags_seeds_of_one_label_made_by_different_code(tmp_path):
    def run(name: str, code: str) -> RunRecord:
        point = EvalPoint(0, "mle", 0, 1.0, {"nll_oracle": 9.0})
        return RunRecord(tmp_path / name, {"seed": 1}, [point], 1, 1.0, label="A", code=code)

    same = [run("a-s1", "aaaaaaa"), run("a-s2", "aaaaaaa")]
    assert mixed_code(same) == []
    mixed = [*same, run("a-s3", "bbbbbbb + local changes"), run("a-s4", "")]
    assert mixed_code(mixed) == [
        "- `A` mixes code versions: aaaaaaa: `a-s1`, `a-s2`; bbbbbbb + local changes: `a-s3`; "
        "not recorded: `a-s4`."
    ]
    rows = finals_table(mixed, ["nll_oracle"])
    assert rows[0].endswith("| wall (s) | code |")
    assert [r.rsplit(" | ", 1)[1] for r in rows[2:]] == [
        "aaaaaaa |", "aaaaaaa |", "bbbbbbb + local changes |", "not recorded |"
    ]  # fmt: skip
    write_report(mixed, tmp_path / "report", metrics=["nll_oracle"])
    assert "- `A` mixes code versions:" in (tmp_path / "report" / "summary.md").read_text()
