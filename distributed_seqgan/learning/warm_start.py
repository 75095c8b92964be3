"""Starting a run from another run's pretraining: ``seqgan train --init-from RUN``.

A sweep over settings that only the adversarial phase reads (the rollout count, most
often) would repeat MLE and D pretraining identically in every run: same seed, data,
models and updates. On a CPU that is a third or more of each run. A run started from
RUN's ``pretrained.pt`` skips both and goes on exactly as a full run with its own config
would (all randomness is keyed by seed and position, see ``trainer``), so its numbers equal
that full run's. RUN's pretraining events are copied into the new run's metrics.jsonl, so
its log and plots read as one whole run.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..config import (
    Config,
    changes_results,
    flatten,
    load_config,
    read_by_adversarial_only,
    to_dict,
)
from ..errors import ConfigError, DataError
from ..infra import checkpoint
from .algorithms import algorithm_of

COPIED_CHECKPOINTS = ("mle", "pretrained")


def may_differ(key: str) -> bool:
    """What pretraining never depends on, as the schema marks it: keys that change no
    results (where and how a run runs) and keys only the adversarial phase reads."""
    return not changes_results(key) or read_by_adversarial_only(key)


def pretraining_differences(a: Config, b: Config) -> list[str]:
    """Dotted keys on which ``a`` and ``b`` differ and that pretraining reads."""
    fa, fb = flatten(to_dict(a)), flatten(to_dict(b))
    return sorted(
        key for key in fa.keys() | fb.keys() if fa.get(key) != fb.get(key) and not may_differ(key)
    )


def pretrained_state(source: Path, cfg: Config) -> dict[str, Any]:
    """RUN's ``pretrained.pt``, after checking that ``cfg`` (with what the task filled in)
    would have pretrained exactly as RUN did. Errors name what differs."""
    if not (source / "config.yaml").is_file() or not (source / "metrics.jsonl").is_file():
        raise ConfigError(
            f"--init-from: {source} is not a run directory (no config.yaml and metrics.jsonl)"
        )
    if not algorithm_of(cfg).adversarial:
        raise ConfigError(f"--init-from: algorithm {cfg.algorithm} has no adversarial phase")
    diff = pretraining_differences(load_config(source / "config.yaml"), cfg)
    if diff:
        shown = ", ".join(diff[:6]) + (f" and {len(diff) - 6} more" if len(diff) > 6 else "")
        free = sorted(k for k in flatten(to_dict(cfg)) if read_by_adversarial_only(k))
        raise ConfigError(
            f"--init-from: {source} was pretrained with other settings ({shown}); only the "
            f"adversarial phase's keys ({', '.join(free)}) and where the run runs (run, pool, "
            "ray, wandb) may differ"
        )
    path = source / "checkpoints" / "pretrained.pt"
    if not path.is_file():
        raise DataError(f"--init-from: {source} has not finished pretraining (no {path.name})")
    state = checkpoint.load(path)
    if state.get("phase") != "d_pretrain":
        raise DataError(f"--init-from: {path} is not the end of D pretraining")
    return state


def copy_pretraining(source: Path, run_dir: Path) -> None:
    """RUN's metrics.jsonl (the new run's resume cuts it at the adversarial phase) and its
    MLE and pretrained checkpoints (for ``seqgan sample --checkpoint mle``, reports, and a
    ``resume`` before the first adversarial checkpoint)."""
    shutil.copyfile(source / "metrics.jsonl", run_dir / "metrics.jsonl")
    (run_dir / "checkpoints").mkdir(exist_ok=True)
    for name in COPIED_CHECKPOINTS:
        path = source / "checkpoints" / f"{name}.pt"
        if path.is_file():
            shutil.copyfile(path, run_dir / "checkpoints" / path.name)
