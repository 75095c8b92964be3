"""Resuming: a run stopped by a failing pool (or restarted from any checkpoint) ends with the
same weights and the same metrics.jsonl as a run that never stopped."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from distributed_seqgan.acting.factory import make_pool
from distributed_seqgan.config import dump_config, load_config
from distributed_seqgan.errors import ConfigError, WorkerPoolError
from distributed_seqgan.infra import checkpoint
from distributed_seqgan.infra.tracking import RunLogger, read_metrics
from distributed_seqgan.learning.learner import Learner
from distributed_seqgan.learning.trainer import Trainer
from distributed_seqgan.runner import resume, train
from distributed_seqgan.tasks import build_task

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "configs" / "smoke.yaml")


class FailingPool:
    """A real LocalPool that gives up, as a RayPool out of restarts does, on one call."""

    def __init__(self, pool, method: str, stream: str | None, step: int) -> None:
        self.pool, self.method, self.stream, self.step = pool, method, stream, step

    def __getattr__(self, name: str):
        return getattr(self.pool, name)

    def rollout_rewards(self, samples, n, step):
        if self.method == "rollout_rewards" and step == self.step:
            raise WorkerPoolError("worker 0 is dead and cannot be restarted (test)")
        return self.pool.rollout_rewards(samples, n, step)

    def sample(self, n, stream, step):
        if self.method == "sample" and stream == self.stream and step == self.step:
            raise WorkerPoolError("worker 1 is dead and cannot be restarted (test)")
        return self.pool.sample(n, stream, step)

    def sample_parts(self, n, parts, stream, step):
        """Gives up after the first part (after the first D round of several), or at once."""
        inner = self.pool.sample_parts(n, parts, stream, step)
        if not (self.method == "sample" and stream == self.stream and step == self.step):
            return inner

        def failing():
            if parts > 1:
                yield next(inner)
            raise WorkerPoolError("worker 1 is dead and cannot be restarted (test)")

        return failing()


def _state(run_dir: Path) -> dict:
    return checkpoint.load(run_dir / "checkpoints" / "latest.pt")


def _events(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in e.items() if not k.endswith("_s")} for e in read_metrics(run_dir)]


def _assert_same_run(a: Path, b: Path, done_step: int = 3) -> None:
    """Both runs finished at ("done", done_step) with equal weights, optimizer states and
    metrics.jsonl (timings aside)."""
    sa, sb = _state(a), _state(b)
    assert (sa["phase"], sa["step"]) == (sb["phase"], sb["step"]) == ("done", done_step)
    for part in ("generator", "discriminator", "d_opt", "pg_opt", "mle_opt"):
        flat_a, flat_b = _flat(sa["learner"][part]), _flat(sb["learner"][part])
        assert flat_a.keys() == flat_b.keys()
        for k, v in flat_a.items():
            assert torch.equal(v, flat_b[k]) if torch.is_tensor(v) else v == flat_b[k], (part, k)
    assert _events(a) == _events(b)


def _flat(tree, prefix: str = "") -> dict:
    if isinstance(tree, dict):
        return {k2: v2 for k, v in tree.items() for k2, v2 in _flat(v, f"{prefix}/{k}").items()}
    if isinstance(tree, (list, tuple)):
        return {k2: v2 for i, v in enumerate(tree) for k2, v2 in _flat(v, f"{prefix}/{i}").items()}
    return {prefix: tree}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref")
    return train(load_config(SMOKE, [f"run.out_dir={out}", "run.name=ref"]), quiet=True)


@pytest.mark.parametrize(
    ("method", "stream", "step", "resumes_at"),
    [
        ("sample", "eval/mle", 2, ("mle", 2)),  # after the epoch's update, before its eval
        ("sample", "negatives/d_pretrain", 1, ("d_pretrain", 1)),
        ("rollout_rewards", None, 1, ("adversarial", 1)),
        ("sample", "negatives/adversarial", 2, ("adversarial", 2)),  # after the PG step
    ],
)
def test_stopped_run_resumes_exactly(reference, tmp_path, method, stream, step, resumes_at):
    cfg = load_config(SMOKE, [f"run.out_dir={tmp_path}", "run.name=cut"])
    task, cfg = build_task(cfg)
    run_dir = tmp_path / "cut"
    run_dir.mkdir()
    dump_config(cfg, run_dir / "config.yaml")
    pool = FailingPool(make_pool(cfg), method, stream, step)
    logger = RunLogger(run_dir, quiet=True)
    with pytest.raises(WorkerPoolError):
        Trainer(cfg, Learner(cfg), pool, task, logger, run_dir).run()
    logger.close()
    state = checkpoint.load(run_dir / "checkpoints" / "interrupted.pt")
    assert (state["phase"], state["step"]) == resumes_at
    resume(run_dir, quiet=True)  # the furthest checkpoint: interrupted.pt
    _assert_same_run(run_dir, reference)


def test_a_pool_giving_up_between_two_d_rounds_resumes_exactly(tmp_path):
    """With 2 D rounds per iteration the negatives come part by part; the pool gives up
    after D has trained on the first: the iteration is repeated from its start."""
    two = ["schedule.d_steps=2"]
    ref = train(load_config(SMOKE, [*two, f"run.out_dir={tmp_path}", "run.name=ref"]), quiet=True)
    cfg = load_config(SMOKE, [*two, f"run.out_dir={tmp_path}", "run.name=cut"])
    with pytest.raises(WorkerPoolError):
        train(
            cfg, quiet=True, pool=FailingPool(make_pool(cfg), "sample", "negatives/adversarial", 1)
        )
    cut = tmp_path / "cut"
    state = checkpoint.load(cut / "checkpoints" / "interrupted.pt")
    assert (state["phase"], state["step"]) == ("adversarial", 1)
    resume(cut, quiet=True)
    _assert_same_run(cut, ref)


def test_a_run_killed_during_mle_resumes_from_its_latest_checkpoint(reference, tmp_path):
    """MLE epochs write latest.pt every checkpoint_every epochs too: a run killed outright
    (no interrupted.pt) in MLE pretraining loses at most that many epochs."""
    cfg = load_config(SMOKE, [f"run.out_dir={tmp_path}", "run.name=killed"])
    task, cfg = build_task(cfg)
    run_dir = tmp_path / "killed"
    run_dir.mkdir()
    dump_config(cfg, run_dir / "config.yaml")
    pool = FailingPool(make_pool(cfg), "sample", "eval/mle", 2)
    logger = RunLogger(run_dir, quiet=True)
    with pytest.raises(WorkerPoolError):
        Trainer(cfg, Learner(cfg), pool, task, logger, run_dir).run()
    logger.close()
    (run_dir / "checkpoints" / "interrupted.pt").unlink()  # as after kill -9
    assert (_state(run_dir)["phase"], _state(run_dir)["step"]) == ("mle", 2)
    resume(run_dir, quiet=True)
    _assert_same_run(run_dir, reference)


def test_resume_from_an_earlier_checkpoint_repeats_the_rest(reference, tmp_path):
    copy = tmp_path / "again"
    shutil.copytree(reference, copy)
    resume(copy, "pretrained", quiet=True)  # adversarial training again, from its start
    _assert_same_run(copy, reference)


def test_resume_cli_refuses_a_finished_run(reference):
    res = subprocess.run(
        [sys.executable, "-m", "distributed_seqgan", "resume", "--run", str(reference)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert res.returncode == 2 and "has finished (latest.pt); nothing to resume" in res.stderr


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".tmp")
    }


def test_storage_mirror_is_complete_and_a_lost_run_resumes_from_it(reference, tmp_path):
    """run.storage_path=file://...: the mirror holds every file of the run directory as
    written; with the local directory deleted, `resume` from the URI ends bit-identical to
    the uninterrupted run, and the mirror follows."""
    store = tmp_path / "store"
    cfg = load_config(SMOKE, [f"run.out_dir={tmp_path / 'local'}", "run.name=cut",
                              f"run.storage_path=file://{store}"])  # fmt: skip
    pool = FailingPool(make_pool(build_task(cfg)[1]), "rollout_rewards", None, 1)
    with pytest.raises(WorkerPoolError):
        train(cfg, quiet=True, pool=pool)
    local = tmp_path / "local" / "cut"
    assert _files(store / "cut") == _files(local)  # complete, interrupted.pt included
    assert "checkpoints/interrupted.pt" in _files(local)
    shutil.rmtree(local)
    assert resume(f"file://{store}/cut", quiet=True) == local
    _assert_same_run(local, reference)
    assert _files(store / "cut") == _files(local)


def test_bad_storage_paths_are_one_line(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "distributed_seqgan", "resume", "--run", f"file://{tmp_path}/none"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert "not found" in res.stderr
    with pytest.raises(ConfigError, match="run.storage_path: expected a URI"):
        load_config(SMOKE, ["run.storage_path=/mnt/runs"])


def test_a_run_killed_in_d_pretraining_resumes_from_its_periodic_checkpoint(tmp_path):
    """D pretraining writes latest.pt every schedule.checkpoint_every rounds, so a run killed
    there (kill -9: no interrupted.pt) loses at most that many rounds, and ends exactly."""
    sets = ["schedule.d_pretrain_rounds=5", "schedule.checkpoint_every=2"]
    ref = train(load_config(SMOKE, [*sets, f"run.out_dir={tmp_path}", "run.name=ref"]), quiet=True)
    cfg = load_config(SMOKE, [*sets, f"run.out_dir={tmp_path}", "run.name=cut"])
    pool = FailingPool(make_pool(cfg), "sample", "negatives/d_pretrain", 4)
    with pytest.raises(WorkerPoolError):
        train(cfg, quiet=True, pool=pool)
    cut = tmp_path / "cut"
    (cut / "checkpoints" / "interrupted.pt").unlink()  # as kill -9 would have left it
    assert (_state(cut)["phase"], _state(cut)["step"]) == ("d_pretrain", 4)
    resume(cut, quiet=True)
    _assert_same_run(cut, ref)


@pytest.mark.parametrize(
    ("algorithm", "stream", "step", "extra"),
    [("ss", "eval/ss", 1, ["ss.eps_decay=0.3"]), ("mle", "eval/mle", 2, [])],
)
def test_baselines_resume_exactly(tmp_path, algorithm, stream, step, extra):
    sets = [f"algorithm={algorithm}", "schedule.mle_epochs=4", "schedule.mle_eval_every=1", *extra]
    ref = train(load_config(SMOKE, [*sets, f"run.out_dir={tmp_path}", "run.name=ref"]), quiet=True)
    cfg = load_config(SMOKE, [*sets, f"run.out_dir={tmp_path}", "run.name=cut"])
    with pytest.raises(WorkerPoolError):
        train(cfg, quiet=True, pool=FailingPool(make_pool(cfg), "sample", stream, step))
    cut = tmp_path / "cut"
    assert (checkpoint.load(cut / "checkpoints" / "interrupted.pt")["phase"]) == algorithm
    resume(cut, quiet=True)
    _assert_same_run(cut, ref, done_step=0)
    assert [e["phase"] for e in _events(ref)].count(algorithm) == 4


PG_BLEU = ["algorithm=pg_bleu", "schedule.d_pretrain_rounds=0", "schedule.d_steps=0",
           "schedule.adv_iterations=4", "schedule.adv_eval_every=1"]  # fmt: skip


def test_pg_bleu_resumes_exactly(tmp_path, capfd):
    from distributed_seqgan.acting.scoring import reference_subset

    ref = train(load_config(SMOKE, [*PG_BLEU, f"run.out_dir={tmp_path}", "run.name=ref"]))
    out = capfd.readouterr().out  # smoke's 4 rollouts: allowed, and said
    assert (
        "BLEU-3 rewards" in out and "note: the official PG-BLEU uses 1 rollout, this run 4" in out
    )
    cfg = load_config(SMOKE, [*PG_BLEU, f"run.out_dir={tmp_path}", "run.name=cut"])
    refs = reference_subset(build_task(cfg)[0].train, cfg.seed)
    with pytest.raises(WorkerPoolError):
        train(cfg, quiet=True, pool=FailingPool(make_pool(cfg, refs), "rollout_rewards", None, 2))
    cut = tmp_path / "cut"
    resume(cut, quiet=True)
    _assert_same_run(cut, ref, done_step=4)


def test_init_from_a_pretrained_run_equals_the_full_run_with_its_own_config(reference, tmp_path):
    """`train --init-from RUN` with another rollout count skips MLE and D pretraining and
    ends bit-identical to a full run with that rollout count: same weights, same events
    (RUN's pretraining events included), its own mle.pt and pretrained.pt."""
    other = ["schedule.rollout_num=2", "schedule.adv_iterations=4"]
    full = train(load_config(SMOKE, [f"run.out_dir={tmp_path}", "run.name=full", *other]),
                 quiet=True)  # fmt: skip
    cfg = load_config(SMOKE, [f"run.out_dir={tmp_path}", "run.name=warm", *other])
    warm = train(cfg, quiet=True, init_from=reference)
    _assert_same_run(warm, full, done_step=4)
    assert _events(warm)[0]["phase"] == "eval"  # the init evaluation, copied from RUN
    for name in ("mle", "pretrained"):
        mine, theirs = (
            checkpoint.load(r / "checkpoints" / f"{name}.pt") for r in (warm, reference)
        )
        flat_mine, flat_theirs = _flat(mine), _flat(theirs)
        assert flat_mine.keys() == flat_theirs.keys()
        assert all(torch.equal(v, flat_theirs[k]) if torch.is_tensor(v) else v == flat_theirs[k]
                   for k, v in flat_mine.items())  # fmt: skip
    assert (reference / "checkpoints" / "latest.pt").is_file()  # RUN itself is untouched


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["generator.lr=0.02", "seed=8"], "other settings (generator.lr, seed)"),
        (["algorithm=mle"], "algorithm mle has no adversarial phase"),
    ],
)
def test_init_from_refuses_a_run_pretrained_otherwise(reference, tmp_path, overrides, message):
    cfg = load_config(SMOKE, [f"run.out_dir={tmp_path}", "run.name=x", *overrides])
    with pytest.raises(ConfigError, match=re.escape(message)):
        train(cfg, quiet=True, init_from=reference)
    assert not (tmp_path / "x").exists()


def test_init_from_cli_errors_are_one_line(reference, tmp_path):
    """A directory that is no run, and a run that has not finished pretraining."""
    half = tmp_path / "half"
    shutil.copytree(reference, half)
    (half / "checkpoints" / "pretrained.pt").unlink()
    for source, message in ((tmp_path, "is not a run directory"),
                            (half, "has not finished pretraining")):  # fmt: skip
        res = subprocess.run(
            [sys.executable, "-m", "distributed_seqgan", "train", "--config", SMOKE,
             "--set", f"run.out_dir={tmp_path / 'runs'}", "--init-from", str(source)],
            capture_output=True, text=True, cwd=REPO, timeout=120,
        )  # fmt: skip
        assert res.returncode == 2 and message in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
