"""Wires a config into a run: task (data and metrics), run directory, learner, worker pool,
trainer."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from .config import Config, dump_config
from .errors import ConfigError
from .learner import Learner
from .pool import LocalPool, WorkerPool
from .tasks import build_task
from .tracking import RunLogger
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
        logger = RunLogger(run_dir, quiet=quiet)
        try:
            logger.info(
                f"run directory {run_dir}; torch {torch.__version__}, {torch.get_num_threads()} threads"
            )
            Trainer(cfg, Learner(cfg), pool, task, logger, run_dir).run()
        finally:
            logger.close()
    finally:
        pool.close()
    return run_dir
