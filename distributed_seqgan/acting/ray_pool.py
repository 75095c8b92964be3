"""The Ray backend: K ``RolloutWorker`` actors behind the :class:`~.pool.WorkerPool` interface.

The only module of the package that imports ray. The worker class is the same one the
local pool runs in process, made remote here at run time. The pool adds only
distribution:
- Weights: :meth:`publish` puts each version into the object store once (``ray.put``) and
  sends the reference to every actor once. Actors cache by version, and every result
  carries the version it was computed with; the shared combiner rejects a mismatch.
- Work: the same shard plans as the local pool (``pool.plan_*``), spread round-robin over
  the actors, and combined in plan order. So Ray with K workers gives bit-for-bit the
  numbers of local mode with K workers.
- Faults: a shard whose actor died, or that runs past ``ray.shard_timeout_s`` (a hung
  worker: the actor is killed), is retried on the restarted actor or on a healthy one. The
  actor first gets the current weights. Shards are pure functions of (version, samples,
  spec), so a retry changes no number, and each shard's result is used exactly once.
  When Ray cannot restart an actor any more (``ray.max_restarts``), :class:`WorkerPoolError`
  stops the run; the trainer then writes a checkpoint.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import ray
import torch
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from ..config import Config
from ..errors import UserError, WorkerPoolError
from .messages import RolloutShard, StaleWeightsError, Weights
from .pool import combine_rewards, concat_samples, plan_rollout_shards, plan_sample_shards
from .worker import RolloutWorker


def init_ray(cfg: Config) -> None:
    """Starts (``ray.address`` None) or joins (``auto`` / host:port) Ray, once per process."""
    if ray.is_initialized():
        return
    try:
        ray.init(address=cfg.ray.address, include_dashboard=False)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise UserError(f"ray.address={cfg.ray.address!r}: cannot connect to Ray ({exc})") from None


class RayPool:
    """K Ray actors running :class:`RolloutWorker`; see the module docstring."""

    def __init__(self, cfg: Config) -> None:
        init_ray(cfg)
        self.cfg = cfg
        r = cfg.ray
        self.threads = max(1, math.ceil(r.cpus_per_worker))
        bundle: dict[str, float] = {"CPU": r.cpus_per_worker}
        if r.gpus_per_worker:
            bundle["GPU"] = r.gpus_per_worker
        if r.address is None:  # our own instance has no autoscaler: refuse the impossible now
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
        try:
            ray.get(self.pg.ready(), timeout=120)
        except GetTimeoutError:
            remove_placement_group(self.pg)
            raise WorkerPoolError(
                f"cannot place {cfg.pool.workers} workers x {bundle} ({r.placement}) on this Ray "
                f"cluster: it has {ray.cluster_resources()}"
            ) from None
        threads = str(self.threads)
        self._remote = ray.remote(RolloutWorker)  # the same class local mode runs in process
        self._options = {
            "num_cpus": r.cpus_per_worker,
            "num_gpus": r.gpus_per_worker,
            "max_restarts": r.max_restarts,
            "max_task_retries": 0,  # the pool retries, after re-sending weights
            "runtime_env": {"env_vars": {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}},
        }
        self.actors = [self._spawn(i) for i in range(cfg.pool.workers)]
        self.version = -1
        self._weights_ref: Any = None
        self.stats = {"worker_restarts": 0, "retried_shards": 0}
        self._pids = [info["pid"] for info in ray.get([a.describe.remote() for a in self.actors])]
        self._restarts = [0] * len(self.actors)

    def _spawn(self, i: int) -> Any:
        strategy = PlacementGroupSchedulingStrategy(
            placement_group=self.pg, placement_group_bundle_index=i
        )
        return self._remote.options(**self._options, scheduling_strategy=strategy).remote(
            self.cfg, self.threads
        )

    # ------------------------------------------------------------------ interface
    def publish(self, weights: Weights) -> int:
        self.version += 1
        self._weights_ref = ray.put(weights)  # once per version
        for actor in self.actors:
            actor.set_weights.remote(self.version, self._weights_ref)  # ordered before later calls
        return self.version

    def rollout_rewards(self, samples: torch.Tensor, num_rollouts: int, step: int) -> torch.Tensor:
        b, seq_len = samples.shape
        shards = plan_rollout_shards(b, num_rollouts, len(self.actors), step)

        def call(shard: RolloutShard) -> Callable[[Any], Any]:
            rows = samples[shard.sample_start : shard.sample_end]  # a few KB: sent with the call
            return lambda actor: actor.rollout_rewards.remote(self.version, rows, b, shard)

        calls = [call(s) for s in shards]
        results = self._run(calls)
        return combine_rewards(results, b, num_rollouts, seq_len, self.version)

    def sample(self, n: int, stream: str, step: int) -> torch.Tensor:
        shards = plan_sample_shards(n, self.cfg.pool.sample_chunk, stream, step)
        results = self._run([(lambda a, s=s: a.sample.remote(self.version, s)) for s in shards])
        return concat_samples(results, self.version)

    def describe(self) -> list[dict[str, Any]]:
        """Each worker's process, threads, device and GPUs, plus its Ray node id."""
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
        k = len(self.actors)
        results: list[Any] = [None] * len(calls)
        pending = {
            calls[i](self.actors[i % k]): (i, i % k, time.monotonic()) for i in range(len(calls))
        }
        timeout = self.cfg.ray.shard_timeout_s
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            now = time.monotonic()
            for ref in ready:
                i, w, _ = pending.pop(ref)
                try:
                    results[i] = ray.get(ref)
                except RayActorError:
                    self._retry(calls, pending, i, w)
                except RayTaskError as exc:
                    if not isinstance(exc.cause, StaleWeightsError):
                        raise
                    self._retry(calls, pending, i, w)  # a restarted actor without weights
            for ref, (i, w, started) in list(pending.items()):
                if now - started > timeout:  # hung: kill it, Ray restarts it, retry the shard
                    del pending[ref]
                    ray.kill(self.actors[w], no_restart=False)
                    self._retry(calls, pending, i, w)
        return results

    def _retry(
        self, calls: list[Callable[[Any], Any]], pending: dict[Any, Any], i: int, w: int
    ) -> None:
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
        actor.set_weights.remote(self.version, self._weights_ref)  # a restarted actor has none
        pending[calls[i](actor)] = (i, w, time.monotonic())


def _node_and_gpus(_worker: Any) -> dict[str, Any]:
    """Runs inside an actor (``__ray_call__``): its node and the GPU ids Ray gave it."""
    ctx = ray.get_runtime_context()
    return {"node_id": ctx.get_node_id(), "gpu_ids": [str(g) for g in ray.get_gpu_ids()]}
