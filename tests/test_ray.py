"""The Ray backend against a real multi-node Ray cluster on this machine (no mocks).

One cluster for the whole module: a head that takes no work, two CPU nodes and one node
that declares two logical GPUs. Faults are real: actors are killed, frozen with SIGSTOP,
and a whole node is removed while training runs, and the results must equal the
fault-free run's.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import ray
import torch
from ray.cluster_utils import Cluster

from distributed_seqgan.acting import ray_pool
from distributed_seqgan.acting.factory import make_pool
from distributed_seqgan.acting.scoring import reference_subset
from distributed_seqgan.config import Config, dump_config, load_config
from distributed_seqgan.errors import Stopped, UserError, WorkerPoolError
from distributed_seqgan.infra import checkpoint
from distributed_seqgan.infra.provenance import cpu_model
from distributed_seqgan.infra.tracking import RunLogger, read_metrics
from distributed_seqgan.learning.learner import Learner
from distributed_seqgan.learning.trainer import Trainer
from distributed_seqgan.runner import _signals_stop_the_run, resume
from distributed_seqgan.tasks import build_task

SMOKE = str(Path(__file__).resolve().parents[1] / "configs" / "smoke.yaml")
LOOPBACK = {"node_ip_address": "127.0.0.1"}  # all Ray traffic stays on this machine
BASE = ["pool.workers=2", "schedule.adv_iterations=6", "ray.cpus_per_worker=0.5"]


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, **LOOPBACK})
    c.add_node(num_cpus=2, **LOOPBACK)
    c.add_node(num_cpus=2, **LOOPBACK)
    c.add_node(num_cpus=1, num_gpus=2, **LOOPBACK)  # logical GPUs: assignment, not compute
    c.wait_for_nodes()
    # as a job submitted with --runtime-env-json would: every process of the job gets the key
    ray.init(address=c.address, runtime_env={"env_vars": {"WANDB_API_KEY": "for-the-learner"}})
    yield c
    ray.shutdown()
    c.shutdown()


def _cfg(*overrides: str) -> Config:
    return load_config(SMOKE, [*BASE, *overrides])


def _train(cfg: Config, run_dir: Path, during: Callable[[object], None] | None = None):
    """Trains in this process with the config's pool; ``during(pool)`` runs in a thread."""
    run_dir.mkdir(parents=True, exist_ok=True)
    task, cfg = build_task(cfg)  # text tasks: the vocabulary size comes from the data
    refs = reference_subset(task.train, cfg.seed) if cfg.algorithm == "pg_bleu" else None
    pool = make_pool(cfg, refs)
    logger = RunLogger(run_dir, quiet=True)
    learner = Learner(cfg)
    trainer = Trainer(cfg, learner, pool, task, logger, run_dir)
    thread = threading.Thread(target=during, args=(pool,), daemon=True) if during else None
    try:
        if thread:
            thread.start()
        trainer.run()
        info = pool.describe()  # where the workers ended up (after any restarts)
    finally:
        if thread:
            thread.join(timeout=60)
        stats = dict(pool.stats)
        pool.close()
        logger.close()
    events = [
        {k: v for k, v in e.items() if not k.endswith("_s") and k not in stats}
        for e in read_metrics(run_dir)
    ]
    return learner.state_dict(), events, stats, info


def _assert_same(a, b) -> None:
    (state_a, events_a, *_), (state_b, events_b, *_) = a, b
    assert events_a == events_b
    for part in ("generator", "discriminator"):
        for k, v in state_a[part].items():
            assert torch.equal(v, state_b[part][k]), (part, k)


@pytest.fixture(scope="module")
def fault_free(cluster, tmp_path_factory):
    return _train(_cfg("pool.backend=ray", "ray.placement=SPREAD"), tmp_path_factory.mktemp("ref"))


def _after_version(v: int, action: Callable[[object], None]) -> Callable[[object], None]:
    """``action(pool)`` once the pool holds weights version ``v`` or later. Versions are the
    learner's update counts; with BASE's schedule the published ones are 0, 8, 24, 36, 48,
    49, 61, 62, ... (24: during MLE; 61: adversarial iteration 1)."""

    def during(pool) -> None:
        deadline = time.monotonic() + 60
        while pool.version < v and time.monotonic() < deadline:
            time.sleep(0.005)
        action(pool)

    return during


def test_local_and_ray_give_identical_results(fault_free, tmp_path):
    local = _train(_cfg("pool.backend=local"), tmp_path / "local")
    _assert_same(local, fault_free)
    assert fault_free[2] == {"worker_restarts": 0, "retried_shards": 0}


def test_text_task_local_and_ray_identical(cluster, tmp_path):
    poems = ["task=text", "data.corpus=chinese-poems", "data.tokenizer=whitespace",
             "data.max_lines=300", "generator.seq_len=24", "eval.bleu_samples=64",
             "eval.self_bleu_samples=32", "schedule.adv_iterations=2"]  # fmt: skip
    ray_run = _train(_cfg("pool.backend=ray", *poems), tmp_path / "ray")
    _assert_same(_train(_cfg("pool.backend=local", *poems), tmp_path / "local"), ray_run)
    assert any("bleu2" in e for e in ray_run[1])


def test_scheduled_sampling_local_and_ray_identical(cluster, tmp_path):
    ss = ["algorithm=ss", "ss.eps_decay=0.3", "schedule.mle_epochs=3", "schedule.mle_eval_every=1"]
    ray_run = _train(_cfg("pool.backend=ray", *ss), tmp_path / "ray")
    _assert_same(_train(_cfg("pool.backend=local", *ss), tmp_path / "local"), ray_run)
    assert [e["phase"] for e in ray_run[1]].count("ss") == 3


def test_pg_bleu_local_and_ray_identical(cluster, tmp_path):
    pg = ["algorithm=pg_bleu", "schedule.d_pretrain_rounds=0", "schedule.d_steps=0",
          "schedule.adv_iterations=3", "schedule.adv_eval_every=1"]  # fmt: skip
    ray_run = _train(_cfg("pool.backend=ray", *pg), tmp_path / "ray")
    _assert_same(_train(_cfg("pool.backend=local", *pg), tmp_path / "local"), ray_run)
    assert [e["phase"] for e in ray_run[1]].count("adversarial") == 3


def test_spread_places_workers_on_different_nodes(cluster):
    pool = make_pool(_cfg("pool.backend=ray", "ray.placement=SPREAD"))
    try:
        info = pool.describe()
        assert len({w["node_id"] for w in info}) == 2
        assert all(w["threads"] == 1 and w["device"] == "cpu" for w in info)
        assert all(w["cuda_visible_devices"] == "" for w in info)  # 0 GPUs: none visible
    finally:
        pool.close()


def test_worker_threads_follow_cpus_per_worker(cluster):
    pool = make_pool(_cfg("pool.backend=ray", "ray.cpus_per_worker=2", "pool.workers=1"))
    try:
        (info,) = pool.describe()
        assert info["threads"] == 2
    finally:
        pool.close()


def test_ray_workers_flush_denormals_in_every_thread_when_asked(cluster):
    """run.flush_denormal reaches the actors, which set it before any torch work, so both
    of a 2-thread worker's threads flush; without it denormals stay."""
    for flush in (True, False):
        pool = make_pool(_cfg("pool.backend=ray", "ray.cpus_per_worker=2", "pool.workers=1",
                              f"run.flush_denormal={str(flush).lower()}"))  # fmt: skip
        try:
            (info,) = pool.describe()
            assert info["threads"] == 2
            assert (info["denormals_kept"] == 0) is flush, info
        finally:
            pool.close()


def test_logical_gpus_are_assigned_and_packed(cluster):
    frac = make_pool(
        _cfg(
            "pool.backend=ray",
            "pool.workers=4",
            "ray.gpus_per_worker=0.5",
            "ray.cpus_per_worker=0.25",
        )
    )
    try:
        info = frac.describe()
        ids = [tuple(w["gpu_ids"]) for w in info]
        assert all(len(i) == 1 for i in ids)
        assert sorted(ids.count(i) for i in set(ids)) == [2, 2]  # two half-GPU workers per GPU
        assert len({w["node_id"] for w in info}) == 1  # the only node with GPUs
        assert all(w["cuda_visible_devices"] == w["gpu_ids"][0] for w in info)
        assert all(w["device"] == "cpu" for w in info)  # run.device=cpu wins over a GPU grant
    finally:
        frac.close()
    whole = make_pool(_cfg("pool.backend=ray", "ray.gpus_per_worker=1", "ray.cpus_per_worker=0.25"))
    try:
        ids = [tuple(w["gpu_ids"]) for w in whole.describe()]
        assert len(set(ids)) == 2 and all(len(i) == 1 for i in ids)
    finally:
        whole.close()


def test_killed_worker_is_restarted_and_results_are_unchanged(fault_free, tmp_path):
    pids: dict[str, int] = {}

    def kill(pool) -> None:
        pids["before"] = ray.get(pool.actors[0].describe.remote())["pid"]
        ray.kill(pool.actors[0], no_restart=False)

    result = _train(
        _cfg("pool.backend=ray", "ray.placement=SPREAD"), tmp_path, _after_version(61, kill)
    )
    _assert_same(result, fault_free)
    assert result[3][0]["pid"] != pids["before"]  # a new process took over worker 0


def test_hung_worker_times_out_and_results_are_unchanged(fault_free, tmp_path):
    def freeze(pool) -> None:
        pid = ray.get(pool.actors[1].describe.remote())["pid"]
        os.kill(pid, signal.SIGSTOP)  # alive but never answers

    cfg = _cfg("pool.backend=ray", "ray.placement=SPREAD", "ray.shard_timeout_s=3")
    result = _train(cfg, tmp_path, _after_version(61, freeze))
    _assert_same(result, fault_free)
    assert result[2]["retried_shards"] >= 1 and result[2]["worker_restarts"] == 1


def test_removed_node_and_results_are_unchanged(cluster, fault_free, tmp_path):
    def remove(pool) -> None:
        node_id = pool.describe()[0]["node_id"]
        node = next(n for n in cluster.list_all_nodes() if n.node_id == node_id)
        assert node is not cluster.head_node
        cluster.remove_node(node)

    try:
        result = _train(
            _cfg("pool.backend=ray", "ray.placement=SPREAD"), tmp_path, _after_version(61, remove)
        )
        _assert_same(result, fault_free)
        assert result[2]["worker_restarts"] >= 1
    finally:
        cluster.add_node(num_cpus=2, **LOOPBACK)  # keep the cluster's shape for later tests
        cluster.wait_for_nodes()


def test_exhausted_restarts_stop_with_a_checkpoint_that_resumes_exactly(
    cluster, fault_free, tmp_path
):
    def kill_for_good(pool) -> None:
        ray.kill(pool.actors[0], no_restart=True)

    # resume() applies run.threads; keep the learner's thread count (float sums depend on it)
    threads = f"run.threads={torch.get_num_threads()}"
    cfg = _cfg("pool.backend=ray", "ray.placement=SPREAD", "ray.max_restarts=0", threads)
    tmp_path.mkdir(exist_ok=True)
    dump_config(cfg, tmp_path / "config.yaml")
    with pytest.raises(
        WorkerPoolError, match=r"worker 0 is dead and cannot be restarted \(ray.max_restarts=0"
    ):
        _train(cfg, tmp_path, _after_version(24, kill_for_good))
    position = checkpoint.load(tmp_path / "checkpoints" / "interrupted.pt")
    assert position["phase"] in ("mle", "d_pretrain")  # the unit the kill cut short
    resume(tmp_path, quiet=True)  # fresh actors, the same seed-keyed work
    state = checkpoint.load(tmp_path / "checkpoints" / "latest.pt")["learner"]
    events = [
        {k: v for k, v in e.items() if not k.endswith("_s") and k not in fault_free[2]}
        for e in read_metrics(tmp_path)
    ]
    _assert_same((state, events), fault_free)


def test_impossible_pool_is_refused_at_once(cluster):
    with pytest.raises(WorkerPoolError, match=r"pool.workers=2 x 40 CPU per worker exceeds"):
        make_pool(_cfg("pool.backend=ray", "ray.cpus_per_worker=40"))


def _env_of(actor_or_task, name: str) -> str | None:
    return ray.get(actor_or_task.__ray_call__.remote(lambda _w: os.environ.get(name)))


def test_workers_never_get_the_wandb_key(cluster):
    @ray.remote(num_cpus=0)
    def plain_task() -> str | None:
        return os.environ.get("WANDB_API_KEY")

    assert ray.get(plain_task.remote()) == "for-the-learner"  # the job's processes have it
    pool = make_pool(_cfg("pool.backend=ray"))
    try:
        assert [_env_of(a, "WANDB_API_KEY") for a in pool.actors] == ["", ""]
    finally:
        pool.close()


def test_workers_report_the_drivers_versions(cluster):
    pool = make_pool(_cfg("pool.backend=ray"))
    try:
        want = ray_pool.versions()
        described = pool.describe()
        assert [w["versions"] for w in described] == [want, want]
        assert want["ray"] == ray.__version__ and want["torch"] == torch.__version__
        assert [w["cpu"] for w in described] == [cpu_model()] * 2  # this machine's actors
    finally:
        pool.close()


def test_a_version_mismatch_stops_the_run_in_one_line(cluster, monkeypatch):
    """The driver claims another distributed_seqgan version than the workers run."""
    monkeypatch.setattr(ray_pool, "__version__", "0.0.0-driver")
    with pytest.raises(UserError) as err:
        make_pool(_cfg("pool.backend=ray"))
    message = str(err.value)
    assert "\n" not in message and message.startswith("version mismatch: worker 0 (node ")
    assert "runs distributed_seqgan 0.1.0, the driver 0.0.0-driver" in message
    assert "constraints.txt" in message
    deadline = time.monotonic() + 120  # actors and placement released (slower when busy)
    while ray.available_resources().get("CPU", 0) < ray.cluster_resources()["CPU"]:
        assert time.monotonic() < deadline, ray.available_resources()
        time.sleep(0.5)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_inside_ray_get_is_reported_as_itself(cluster, sig):
    """Ray turns whatever a signal handler raises inside ``ray.get`` into a plain
    KeyboardInterrupt; the run must still stop as the signal that was sent (SIGTERM from
    `timeout`, Slurm or Kubernetes is not a Ctrl-C), so that the CLI exits 128 + signal."""

    @ray.remote(num_cpus=0.5)
    def slow() -> int:
        time.sleep(30)
        return 1

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    ref = slow.remote()
    timer = threading.Timer(1.0, os.kill, (os.getpid(), sig))
    caught: BaseException | None = None
    try:  # not pytest.raises: a plain KeyboardInterrupt would end the whole session
        with _signals_stop_the_run():
            timer.start()
            ray.get(ref)
    except KeyboardInterrupt as exc:
        caught = exc
    timer.join()
    ray.cancel(ref, force=True)
    assert isinstance(caught, Stopped) and caught.signum == sig, repr(caught)
    assert {s: signal.getsignal(s) for s in before} == before  # the old handlers are back
