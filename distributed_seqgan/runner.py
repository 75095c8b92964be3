"""Wires a config into a run: task (data and metrics), run directory, learner, worker pool,
trainer."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import torch

from .config import Config, dump_config
from .errors import ConfigError, UserError
from .learner import Learner
from .pool import LocalPool, WorkerPool
from .tasks import build_task
from .tracking import RunLogger, Sink
from .trainer import Trainer
from .worker import RolloutWorker


def make_pool(cfg: Config) -> WorkerPool:
    if cfg.pool.backend == "local":
        return LocalPool(
            [RolloutWorker(cfg) for _ in range(cfg.pool.workers)], cfg.pool.sample_chunk
        )
    if cfg.pool.backend == "ray":
        from .ray_pool import RayPool  # ray is imported only when asked for

        return RayPool(cfg)
    raise ConfigError(f"pool.backend: unsupported backend {cfg.pool.backend!r}")


def new_run_dir(cfg: Config) -> Path:
    name = cfg.run.name or f"{cfg.task}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = Path(cfg.run.out_dir) / name
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ConfigError(f"run.name: run directory {run_dir} already exists and is not empty")
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def _sinks(cfg: Config, run_dir: Path) -> tuple[Sink, ...]:
    """Extra trackers; a W&B run that cannot start removes the fresh run directory."""
    if not cfg.wandb.enabled:
        return ()
    from .wandb_sink import WandbSink  # wandb is imported only when asked for

    try:
        return (WandbSink(cfg, run_dir),)
    except UserError:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise


def train(cfg: Config, quiet: bool = False) -> Path:
    """Trains end to end as ``cfg`` says; returns the run directory."""
    if cfg.run.threads is not None:
        torch.set_num_threads(cfg.run.threads)
    # Data and workers first: a missing file or an impossible pool leaves no run dir behind.
    # The task may fill in what the data decides (the vocabulary size), so it comes first.
    task, cfg = build_task(cfg)
    pool = make_pool(cfg)
    try:
        run_dir = new_run_dir(cfg)
        dump_config(cfg, run_dir / "config.yaml")
        task.save(run_dir)
        sinks = _sinks(cfg, run_dir)
        logger = RunLogger(run_dir, quiet=quiet, sinks=sinks)
        try:
            logger.info(
                f"run directory {run_dir}; torch {torch.__version__}, {torch.get_num_threads()} threads"
            )
            for sink in sinks:
                logger.info(f"tracking: {sink}")
            Trainer(cfg, Learner(cfg), pool, task, logger, run_dir).run()
        finally:
            logger.close()
    finally:
        pool.close()
    return run_dir
