"""The Python entry points: ``train`` and ``resume``. They wire a config into a run: task
(data and metrics), run directory, learner, worker pool, trainer."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from .acting.factory import make_pool
from .acting.pool import WorkerPool
from .acting.scoring import reference_subset
from .config import Config, dump_config, load_config, load_run_config
from .errors import ConfigError, DataError, Stopped, UserError
from .infra import checkpoint, provenance, storage
from .infra.denormals import flush_denormals
from .infra.malloc import keep_freed_memory
from .infra.owner import own_run_dir
from .infra.tracking import RunLogger, Sink, drop_events_from, read_metrics
from .learning.algorithms import POSITIONS, START, Position, algorithm_of
from .learning.learner import Learner
from .learning.sizing import check_fits
from .learning.trainer import Trainer
from .learning.warm_start import copy_pretraining, pretrained_state
from .tasks import Task, build_task, check_task, rebuild_task


def runs_root(out_dir: str) -> Path:
    """Where ``run.out_dir`` points. Relative paths are taken from the current directory,
    except in a Ray job: its current directory is Ray's temporary copy of the submitted
    working dir, deleted with the job, so there they are taken from the home directory."""
    path = Path(out_dir).expanduser()
    if not path.is_absolute() and "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ:
        return Path.home() / path
    return path


def new_run_dir(cfg: Config) -> Path:
    """Creates the run's directory, atomically: of two runs started at once, each gets its
    own. An unnamed run is ``<task>-<timestamp>``, with ``-2``, ``-3``... when that is taken;
    a named one must not exist yet (or be empty)."""
    root = runs_root(cfg.run.out_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"run.out_dir: cannot create {root}: {exc.strerror or exc}") from None
    if cfg.run.name is not None:
        run_dir = root / cfg.run.name
        with contextlib.suppress(OSError):
            run_dir.rmdir()  # only if empty; then claimed below like a new one
        if not _claim(run_dir):
            raise ConfigError(f"run.name: run directory {run_dir} already exists and is not empty")
        return run_dir
    stem = f"{cfg.task}-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(1, 1000):
        run_dir = root / (stem if n == 1 else f"{stem}-{n}")
        if _claim(run_dir):
            return run_dir
    raise ConfigError(f"run.out_dir: no free run name {stem}-N in {root}")


def _claim(run_dir: Path) -> bool:
    """Creates ``run_dir`` if no one has; False when it exists."""
    try:
        run_dir.mkdir()
    except FileExistsError:
        return False
    except OSError as exc:
        raise ConfigError(f"run.out_dir: cannot create {run_dir}: {exc.strerror or exc}") from None
    return True


def _sinks(cfg: Config, run_dir: Path, fresh: bool) -> tuple[Sink, ...]:
    """Extra trackers, and the storage mirror last (it copies what the others wrote). One
    that cannot start removes a fresh run directory."""
    sinks: list[Sink] = []
    try:
        if cfg.wandb.enabled:
            from .infra.wandb_sink import WandbSink  # wandb is imported only when asked for

            sinks.append(WandbSink(cfg, run_dir))
        if cfg.run.storage_path is not None:
            sinks.append(
                storage.RunMirror(storage.join(cfg.run.storage_path, run_dir.name), run_dir)
            )
    except UserError:
        for sink in sinks:
            sink.close()
        if fresh:
            shutil.rmtree(run_dir, ignore_errors=True)
            with contextlib.suppress(OSError):
                run_dir.parent.rmdir()  # run.out_dir too, if this run made it and it is empty
        raise
    return tuple(sinks)


@contextlib.contextmanager
def _signals_stop_the_run() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Stopped` (once: a second signal during the save is
    ignored). Installed after the pool exists, so it replaces Ray's own SIGTERM handler.
    The handler also remembers the signal: a signal that lands inside ``ray.get`` comes out
    of Ray as a plain KeyboardInterrupt, which would otherwise be reported as SIGINT."""
    received: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        received.append(signum)
        raise Stopped(signum)

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except KeyboardInterrupt as exc:
        if received and not isinstance(exc, Stopped):
            raise Stopped(received[0]) from None
        raise
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _execute(
    cfg: Config, task: Task, pool: WorkerPool, run_dir: Path, quiet: bool,
    resume_from: dict[str, Any] | None = None, pretrained_by: Path | None = None,
    progress_every: float = 600.0,
) -> None:  # fmt: skip
    """Runs the trainer in ``run_dir``: from the start, or from a checkpoint's state. A
    resumed run's state is restored first, so a checkpoint that does not fit leaves the
    run directory as it was; then the events of the cut unit leave metrics.jsonl.
    ``pretrained_by``: a new run starting from that run's pretraining (``resume_from``);
    the copied pretraining events also go to the trackers, so W&B shows the whole run."""
    learner = Learner(cfg)
    start: Position = START
    if resume_from is not None:
        learner.load_state_dict(resume_from["learner"])
        start = (resume_from["phase"], resume_from["step"])
        drop_events_from(run_dir, *start, POSITIONS)
    sinks = _sinks(cfg, run_dir, fresh=resume_from is None or pretrained_by is not None)
    if pretrained_by is not None:
        for event in read_metrics(run_dir):
            phase, step = event.pop("phase"), event.pop("step")
            for sink in sinks:
                sink.log(phase, step, event)
    logger = RunLogger(run_dir, quiet=quiet, sinks=sinks, progress_every=progress_every)
    try:
        threads = torch.get_num_threads()
        how = "init-from" if pretrained_by else "train" if resume_from is None else "resume"
        worker_cpus = [str(w.get("cpu")) for w in pool.describe()]
        code = provenance.record(run_dir, how, start, str(learner.device), threads, worker_cpus)
        logger.info(f"run directory {run_dir}; code {provenance.describe(code)}; "
                    f"torch {torch.__version__}, {threads} threads")  # fmt: skip
        others = [c for c in code["worker_cpus"] if c != code["cpu"]]
        if others:  # a cluster of mixed machines: the same run elsewhere rounds otherwise
            logger.info(f"note: rollout workers run on {', '.join(others)}, the learner on "
                        f"{code['cpu']}; processors round sums differently, so this run "
                        "repeats bit for bit only on the same kinds of machine")  # fmt: skip
        for sink in sinks:
            logger.info(f"tracking: {sink}")
        if pretrained_by is not None:
            logger.info(f"pretrained by {pretrained_by} (its MLE and D pretraining)")
        elif resume_from is not None:
            logger.info(f"resumed at {start[0]} {start[1]}")
        with _signals_stop_the_run():
            Trainer(cfg, learner, pool, task, logger, run_dir).run(start)
    except Stopped as exc:
        exc.run_dir = run_dir
        raise
    except KeyboardInterrupt:  # SIGINT before the handler was in place
        raise Stopped(signal.SIGINT, run_dir) from None
    finally:
        logger.close()


def set_cpu_threads(cfg: Config) -> None:
    """This process's torch CPU threads as ``run`` says: their number, then flush-to-zero,
    which has to come before any torch work so that every thread starts with it."""
    if cfg.run.threads is not None:
        torch.set_num_threads(cfg.run.threads)
    if cfg.run.flush_denormal:
        flush_denormals()


def _make_pool(cfg: Config, task: Task) -> WorkerPool:
    """The configured pool; with BLEU rewards (PG-BLEU) the workers get their references
    once, here."""
    if algorithm_of(cfg).reward != "bleu":
        return make_pool(cfg)
    return make_pool(cfg, reference_subset(task.train, cfg.seed))


def train(
    cfg: Config, quiet: bool = False, pool: WorkerPool | None = None,
    init_from: Path | str | None = None, progress_every: float = 600.0,
) -> Path:  # fmt: skip
    """Trains end to end as ``cfg`` says; returns the run directory. ``pool``: a pool built
    already (default: the one ``pool.backend`` names); it is closed at the end.
    ``init_from``: a run whose pretraining (MLE and D) this run starts from, skipping its
    own; the configs must agree on everything pretraining reads (``warm_start``).
    ``progress_every``: seconds between progress lines in plain output (0: none)."""
    check_task(cfg)  # the task's own rules, then sizes: both before any work
    check_fits(cfg)
    keep_freed_memory()  # D steps reallocate the same large buffers every step
    set_cpu_threads(cfg)
    # Data and workers first: a missing file or an impossible pool leaves no run dir behind.
    # The task may fill in what the data decides (the vocabulary size), so it comes first.
    task, cfg = build_task(cfg)
    source = None if init_from is None else Path(init_from)
    start = None if source is None else pretrained_state(source, cfg)
    pool = _make_pool(cfg, task) if pool is None else pool
    try:
        run_dir = new_run_dir(cfg)
        with own_run_dir(run_dir):  # a resume started meanwhile must wait for this run
            dump_config(cfg, run_dir / "config.yaml")
            task.save(run_dir)
            if source is not None:
                copy_pretraining(source, run_dir)
            _execute(cfg, task, pool, run_dir, quiet, start, source, progress_every)
    finally:
        pool.close()
    return run_dir


def latest_checkpoint(run_dir: Path) -> Path:
    """The checkpoint that is furthest along (interrupted, latest, pretrained or mle). A
    damaged one is passed over, with a warning on stderr, for the next best."""
    found = []
    for name in ("interrupted", "latest", "pretrained", "mle"):
        path = run_dir / "checkpoints" / f"{name}.pt"
        if not path.is_file():
            continue
        try:
            state = checkpoint.load(path)
        except DataError as exc:
            print(f"seqgan: warning: passing over {exc}", file=sys.stderr)
            continue
        if state.get("phase") in POSITIONS:
            found.append(((POSITIONS.index(state["phase"]), state["step"]), path))
    if not found:
        raise DataError(f"{run_dir}: no usable checkpoint to resume from (checkpoints/*.pt)")
    best = max(found, key=lambda f: f[0])[1]
    return best


def mirror_destination(uri: str) -> Path:
    """Where a run mirrored at ``uri`` (``run.storage_path``/<name>) goes locally: its
    config's ``run.out_dir``/<name>."""
    with tempfile.TemporaryDirectory() as tmp:
        storage.fetch_file(storage.join(uri, "config.yaml"), Path(tmp) / "config.yaml")
        cfg = load_config(Path(tmp) / "config.yaml")
    return runs_root(cfg.run.out_dir) / uri.rstrip("/").rsplit("/", 1)[-1]


def resume(
    run: Path | str, checkpoint_name: str | None = None, quiet: bool = False,
    progress_every: float = 600.0,
) -> Path:  # fmt: skip
    """Continues a run from its furthest checkpoint (or ``checkpoint_name``) with the run's
    own config; the result is the same as if it had never stopped. ``metrics.jsonl`` loses
    the events of the unit that was cut short and gets them again. ``run`` is a run
    directory, or the URI of its storage mirror (fetched first). One process at a time:
    a run directory another train or resume holds is refused in one line."""
    if storage.is_uri(str(run)):
        run_dir = mirror_destination(str(run))
        run_dir.mkdir(parents=True, exist_ok=True)
        with own_run_dir(run_dir):  # fetched only by its owner: no overwriting a live run
            storage.fetch(str(run), run_dir)
            return _resume_owned(run_dir, checkpoint_name, quiet, progress_every)
    run_dir = Path(run)
    load_run_config(run_dir)  # "no such run directory" / "not a run directory" first
    with own_run_dir(run_dir):
        return _resume_owned(run_dir, checkpoint_name, quiet, progress_every)


def _resume_owned(
    run_dir: Path, checkpoint_name: str | None, quiet: bool, progress_every: float
) -> Path:
    cfg = load_run_config(run_dir)
    check_fits(cfg)
    keep_freed_memory()
    set_cpu_threads(cfg)
    if checkpoint_name:
        path = run_dir / "checkpoints" / f"{checkpoint_name}.pt"
    else:
        path = latest_checkpoint(run_dir)
    state = checkpoint.load(path)
    phase = state.get("phase")
    if phase not in POSITIONS:
        raise UserError(f"{path} records no position to resume from (phase {phase!r})")
    if phase == "done":
        raise UserError(f"{run_dir} has finished ({path.name}); nothing to resume")
    task = rebuild_task(run_dir, cfg)  # the data must give the run's vocabulary again
    pool = _make_pool(cfg, task)
    try:
        _execute(cfg, task, pool, run_dir, quiet, resume_from=state, progress_every=progress_every)
    finally:
        pool.close()
    return run_dir
