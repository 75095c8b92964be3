"""The pool a config asks for: ``pool.backend`` local (in process) or ray (actors)."""

from __future__ import annotations

from collections.abc import Sequence

from ..config import Config
from ..errors import ConfigError
from .messages import WorkerSpec
from .pool import LocalPool, WorkerPool
from .worker import RolloutWorker


def make_pool(cfg: Config, references: Sequence[Sequence[int]] | None = None) -> WorkerPool:
    """The pool ``pool.backend`` names, with ``pool.workers`` workers. ``references``: the
    BLEU reward's (``algorithm: pg_bleu``), given to each worker once; with them the
    workers score rollouts by BLEU, without them by D."""
    spec = WorkerSpec.of(cfg, "discriminator" if references is None else "bleu")
    if cfg.pool.backend == "local":
        workers = [RolloutWorker(spec, references=references) for _ in range(cfg.pool.workers)]
        return LocalPool(workers, cfg.pool.sample_chunk, cfg.pool.sample_batch)
    if cfg.pool.backend == "ray":
        from .ray_pool import RayPool  # ray is imported only when a run asks for it

        return RayPool(cfg, spec, references)
    raise ConfigError(f"pool.backend: unsupported backend {cfg.pool.backend!r}")
