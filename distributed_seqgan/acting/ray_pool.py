"""The Ray backend: K ``RolloutWorker`` actors behind the :class:`~.pool.WorkerPool` interface.

The only module of the package that imports ray. The worker class is the same one the
local pool runs in process, made remote here at run time. The pool adds only
distribution:
- Weights: :meth:`publish` puts each version into the object store once (``ray.put``) and
  sends the reference to every actor once. Actors cache by version, and every result
  carries the version it was computed with; the shared combiner rejects a mismatch.
- Work: the same shard plans as the local pool (``pool.plan_*``), spread round-robin over
  the actors, and combined in plan order. So Ray with K workers gives bit-for-bit the
  numbers of local mode with K workers. Samples asked for in parts are all submitted at
  once and handed back part by part: the actors draw the later parts while the learner
  trains on the first.
- Faults: a shard whose actor died, or whose actor finishes nothing for
  ``ray.shard_timeout_s`` while the pool waits on it (a hung worker: the actor is
  killed), is retried on the restarted actor or on a healthy one. The actor first gets
  the current weights. Shards are pure functions of (version, samples,
  spec), so a retry changes no number, and each shard's result is used exactly once.
  When Ray cannot restart an actor any more (``ray.max_restarts``), :class:`WorkerPoolError`
  stops the run; the trainer then writes a checkpoint.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import ray
import torch
from ray.exceptions import GetTimeoutError, RayActorError, RayError, RayTaskError
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from .. import __version__
from ..config import Config
from ..errors import UserError, WorkerPoolError
from .messages import RolloutResult, RolloutShard, StaleWeightsError, Weights, WorkerSpec
from .pool import (
    cut_parts,
    gather_rollouts,
    plan_rollout_shards,
    plan_sample_calls,
    sampling_batch,
)
from .worker import RolloutWorker

Pending = dict[Any, tuple[int, int]]  # in-flight object ref -> (call index, actor index)

AUTH_HINT = (
    "the cluster uses token authentication: set RAY_AUTH_MODE=token and give this client the "
    "head's token (RAY_AUTH_TOKEN, or the file ~/.ray/auth_token; `ray get-auth-token` on "
    "the head prints it)"
)


def joins_cluster(cfg: Config) -> bool:
    """Whether ``init_ray`` joins a running cluster (``ray.address`` set, or a Ray job's
    RAY_ADDRESS) rather than starting an instance of its own."""
    return cfg.ray.address is not None or bool(os.environ.get("RAY_ADDRESS"))


@contextlib.contextmanager
def _stderr_held() -> Iterator[list[str]]:
    """Holds back what is written to file descriptor 2 (Ray's C++ core retries a refused
    connection for ~20 s with a warning line each time); yields a list that gets the text."""
    sys.stderr.flush()
    saved = os.dup(2)
    held: list[str] = []
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield held
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            held.append(tmp.read().decode(errors="replace"))


def init_ray(cfg: Config) -> None:
    """Starts (``ray.address`` None) or joins (``auto`` / host:port) Ray, once per process.

    Joining, Ray's own output is held back: on success it is passed on, on failure it is
    replaced by one line that says why (a refused token names the fix)."""
    if ray.is_initialized():
        return
    if cfg.ray.address is None:  # our own instance: its processes inherit stderr, so no hold
        # "local": a new instance, even when another one runs on this machine (Ray would
        # join the last `ray start` cluster it finds); inside a Ray job, RAY_ADDRESS joins
        address = None if os.environ.get("RAY_ADDRESS") else "local"
        try:
            ray.init(address=address, include_dashboard=False)
        except (ConnectionError, ValueError, RuntimeError, RayError) as exc:
            raise UserError(f"cannot start Ray ({_first_line(exc)})") from None
        return
    where = f"ray.address={cfg.ray.address!r}"
    _check_reachable(cfg.ray.address, cfg.ray.connect_timeout_s, where)
    with _stderr_held() as held:
        try:
            ray.init(address=cfg.ray.address, include_dashboard=False)
            failure = None
        except (ConnectionError, ValueError, RuntimeError, RayError) as exc:
            failure = exc
    if failure is None:
        sys.stderr.write("".join(held))
        return
    chain, e = [], failure  # Ray wraps the GCS's auth refusal in a plain ConnectionError
    while e is not None and len(chain) < 8:
        chain.append(f"{type(e).__name__}: {e}")
        e = e.__cause__ or e.__context__
    text = "\n".join([*chain, *held])
    if "AuthenticationError" in text or "InvalidAuthToken" in text:
        raise UserError(f"{where}: refused: {AUTH_HINT}") from None
    raise UserError(f"{where}: cannot connect to Ray ({_first_line(failure)})") from None


def _check_reachable(address: str, timeout: float, where: str) -> None:
    """A host:port must answer within ``timeout`` (Ray itself retries for many minutes)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto", or a form Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise UserError(
            f"{where}: cannot connect to Ray: nothing answers at {address} within "
            f"{timeout:g} s ({exc.strerror or exc}); is the head running? (ray.connect_timeout_s)"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def versions() -> dict[str, str]:
    """What every process of a run must agree on (constraints.txt pins them)."""
    return {
        "python": platform.python_version(),
        "ray": ray.__version__,
        "torch": torch.__version__,
        "distributed_seqgan": __version__,
    }


def check_versions(driver: dict[str, str], workers: list[dict[str, Any]]) -> None:
    """Stops the run, in one line, when a worker runs other versions than the driver."""
    for i, worker in enumerate(workers):
        for key, want in driver.items():
            if worker["versions"][key] != want:
                raise UserError(
                    f"version mismatch: worker {i} (node {worker['node_id'][:12]}) runs {key} "
                    f"{worker['versions'][key]}, the driver {want}; install constraints.txt's "
                    "versions on every node (or run every node from the project's image)"
                )


class RayPool:
    """K Ray actors running :class:`RolloutWorker`; see the module docstring."""

    def __init__(
        self, cfg: Config, spec: WorkerSpec, references: Sequence[Sequence[int]] | None = None
    ) -> None:
        """``cfg``: the pool's own sections (``pool``, ``ray``); the actors get ``spec``."""
        init_ray(cfg)
        self.references = references
        self.cfg, self.spec = cfg, spec
        r = cfg.ray
        self.threads = max(1, math.ceil(r.cpus_per_worker))
        bundle: dict[str, float] = {"CPU": r.cpus_per_worker}
        if r.gpus_per_worker:
            bundle["GPU"] = r.gpus_per_worker
        joining = joins_cluster(cfg)
        if not joining:  # our own instance has no autoscaler: refuse the impossible now
            have = ray.cluster_resources()
            for res, each in bundle.items():
                if each * cfg.pool.workers > have.get(res, 0):
                    raise WorkerPoolError(
                        f"pool.workers={cfg.pool.workers} x {each:g} {res} per worker exceeds "
                        f"this Ray instance's {have.get(res, 0):g} {res}; lower "
                        "ray.cpus_per_worker / ray.gpus_per_worker or pool.workers"
                    )
        bundles = [dict(bundle) for _ in range(cfg.pool.workers)]
        self.pg = placement_group(bundles, strategy=r.placement)
        wait_s = r.placement_timeout_s or (600.0 if joining else 120.0)
        try:
            ray.get(self.pg.ready(), timeout=wait_s)
        except GetTimeoutError:
            remove_placement_group(self.pg)
            raise WorkerPoolError(
                f"cannot place {cfg.pool.workers} workers x {bundle} ({r.placement}) on this Ray "
                f"cluster within {wait_s:g} s (ray.placement_timeout_s): it has "
                f"{ray.cluster_resources()}"
            ) from None
        threads = str(self.threads)
        env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        if "OMP_WAIT_POLICY" in os.environ:  # the user's choice, as the learner's
            env["OMP_WAIT_POLICY"] = os.environ["OMP_WAIT_POLICY"]
        env["WANDB_API_KEY"] = ""  # only the learner logs to W&B: workers never get the key
        if not r.gpus_per_worker:  # Ray leaves CUDA_VISIBLE_DEVICES alone for 0-GPU actors
            env["CUDA_VISIBLE_DEVICES"] = ""
        self._remote = ray.remote(RolloutWorker)  # the same class local mode runs in process
        self._options = {
            "num_cpus": r.cpus_per_worker,
            "num_gpus": r.gpus_per_worker,
            "max_restarts": r.max_restarts,
            "max_task_retries": 0,  # the pool retries, after re-sending weights
            "runtime_env": {"env_vars": env},
        }
        self.actors = [self._spawn(i) for i in range(cfg.pool.workers)]
        self.version = -1
        self._weights_ref: Any = None
        self.stats = {"worker_restarts": 0, "retried_shards": 0}
        described = self.describe()
        try:
            check_versions(versions(), described)
        except UserError:
            self.close()
            raise
        self._pids = [info["pid"] for info in described]
        self._restarts = [0] * len(self.actors)

    def _spawn(self, i: int) -> Any:
        strategy = PlacementGroupSchedulingStrategy(
            placement_group=self.pg, placement_group_bundle_index=i
        )
        return self._remote.options(**self._options, scheduling_strategy=strategy).remote(
            self.spec, self.threads, self.references
        )

    # ------------------------------------------------------------------ interface
    def publish(self, weights: Weights) -> None:
        self._weights_ref = ray.put(weights)  # once per version
        for actor in self.actors:
            actor.set_weights.remote(self._weights_ref)  # ordered before later calls
        self.version = weights.version

    def rollout_rewards(self, samples: torch.Tensor, num_rollouts: int, step: int) -> RolloutResult:
        b, seq_len = samples.shape
        shards = plan_rollout_shards(b, num_rollouts, len(self.actors), step)

        def call(shard: RolloutShard) -> Callable[[Any], Any]:
            rows = samples[shard.sample_start : shard.sample_end]  # a few KB: sent with the call
            return lambda actor: actor.rollout_rewards.remote(self.version, rows, b, shard)

        calls = [call(s) for s in shards]
        results = self._run(calls)
        return gather_rollouts(results, b, num_rollouts, seq_len, self.version, self.stats)

    def sample(self, n: int, stream: str, step: int) -> torch.Tensor:
        return next(self.sample_parts(n, 1, stream, step))

    def sample_parts(self, n: int, parts: int, stream: str, step: int) -> Iterator[torch.Tensor]:
        p = self.cfg.pool
        batch = sampling_batch(p.sample_batch, p.sample_chunk, bool(self.cfg.ray.gpus_per_worker))
        plan = plan_sample_calls(n, parts, p.sample_chunk, batch, len(self.actors), stream, step)
        version = self.version
        calls = [(lambda a, c=c: a.sample.remote(version, c)) for c in plan.calls]
        pending = self._submit(calls)  # now: the actors start before the first part is asked for
        return cut_parts(plan, self._in_order(calls, pending), version)

    def describe(self) -> list[dict[str, Any]]:
        """Each worker's process, threads, device and GPUs, plus its Ray node id and the
        versions it runs."""
        infos = ray.get([a.describe.remote() for a in self.actors])
        nodes = ray.get([a.__ray_call__.remote(_node_and_gpus) for a in self.actors])
        return [{**info, **node} for info, node in zip(infos, nodes, strict=True)]

    def close(self) -> None:
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        self.actors = []
        remove_placement_group(self.pg)

    # ------------------------------------------------------------------ execution
    def _run(self, calls: list[Callable[[Any], Any]]) -> list[Any]:
        """Runs call k on actor k mod K; retries failed or hung shards; results in order."""
        return list(self._in_order(calls, self._submit(calls)))

    def _submit(self, calls: list[Callable[[Any], Any]]) -> Pending:
        k = len(self.actors)
        return {calls[i](self.actors[i % k]): (i, i % k) for i in range(len(calls))}

    def _in_order(self, calls: list[Callable[[Any], Any]], pending: Pending) -> Iterator[Any]:
        """The calls' results in call order, each as soon as it (and those before it) are in."""
        results: dict[int, Any] = {}
        for i in range(len(calls)):
            if i not in results:
                self._collect(calls, pending, results, i)
            yield results.pop(i)

    def _collect(
        self, calls: list[Callable[[Any], Any]], pending: Pending, results: dict[int, Any], i: int
    ) -> None:
        """Takes in finished calls until call ``i``'s result is in; retries calls whose actor
        died, and kills and retries an actor that finishes nothing for ``shard_timeout_s``
        while this waits (its clock starts here: work queued behind a long learner step is
        not hung)."""
        timeout = self.cfg.ray.shard_timeout_s
        progress = dict.fromkeys(range(len(self.actors)), time.monotonic())  # last sign of life

        def retry(j: int, w: int) -> None:
            self._retry(calls, pending, j, w)  # waits for the restart: the clock starts after
            progress[w] = time.monotonic()

        while i not in results:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            if ready:  # everything else already done, too
                ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
            for ref in ready:
                j, w = pending.pop(ref)
                progress[w] = time.monotonic()
                try:
                    results[j] = ray.get(ref)
                except RayActorError:
                    retry(j, w)
                except RayTaskError as exc:
                    if not isinstance(exc.cause, StaleWeightsError):
                        raise
                    retry(j, w)  # a restarted actor without weights
            for ref, (j, w) in list(pending.items()):
                if ref in pending and time.monotonic() - progress[w] > timeout:  # hung
                    ray.kill(self.actors[w], no_restart=False)  # its other calls fail as dead
                    del pending[ref]
                    retry(j, w)

    def _retry(self, calls: list[Callable[[Any], Any]], pending: Pending, i: int, w: int) -> None:
        """Re-runs shard i on worker w once Ray has restarted it (or raises if it cannot).

        One death fails every shard queued on that actor, so restarts are counted by
        process id, not by failed shard; Ray's own ``max_restarts`` decides when to stop.
        """
        actor = self.actors[w]
        deadline = time.monotonic() + self.cfg.ray.restart_timeout_s
        while True:  # until Ray has restarted the actor, or it cannot any more
            try:
                wait_s = max(0.1, deadline - time.monotonic())
                info = ray.get(actor.describe.remote(), timeout=wait_s)
                break
            except (RayActorError, GetTimeoutError):
                if self._restarts[w] >= self.cfg.ray.max_restarts or time.monotonic() >= deadline:
                    raise WorkerPoolError(
                        f"worker {w} is dead and cannot be restarted (ray.max_restarts="
                        f"{self.cfg.ray.max_restarts}, its restarts so far: {self._restarts[w]})"
                    ) from None
                time.sleep(0.2)
        if info["pid"] != self._pids[w]:
            self._pids[w] = info["pid"]
            self._restarts[w] += 1
            self.stats["worker_restarts"] += 1
        self.stats["retried_shards"] += 1
        actor.set_weights.remote(self._weights_ref)  # a restarted actor has none
        pending[calls[i](actor)] = (i, w)


def _node_and_gpus(_worker: Any) -> dict[str, Any]:
    """Runs inside an actor (``__ray_call__``): its node, the GPU ids Ray gave it, and the
    versions it runs."""
    ctx = ray.get_runtime_context()
    gpus = [str(g) for g in ray.get_gpu_ids()]
    return {"node_id": ctx.get_node_id(), "gpu_ids": gpus, "versions": versions()}
