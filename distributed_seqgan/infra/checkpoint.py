"""Atomic checkpoints: written to a temporary file, then renamed, so a crash or a full disk
never leaves a half-written checkpoint where a good one stood (``files.write_atomic``).
Loading admits tensors and plain containers only (``weights_only``), and a damaged file
says which file it is."""

from __future__ import annotations

import copy
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import DataError
from .files import write_atomic


def save(path: Path, state: dict[str, Any]) -> None:
    write_atomic(path, lambda f: torch.save(state, f), "checkpoint")


def load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(f"checkpoint not found: {path}")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols it meets
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # weights_only refuses anything but tensors
        detail = [ln.strip() for ln in str(exc).splitlines() if "Unsupported" in ln]
        why = f" ({detail[0][:120]})" if detail else ""
        raise DataError(
            f"{path}: corrupt, or not a plain weights checkpoint; refused without running it{why}"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise DataError(f"{path}: corrupt or truncated checkpoint ({first})") from None
    if not isinstance(state, dict) or "learner" not in state:
        raise DataError(f"{path}: not a checkpoint of this project (no learner state)")
    return state


def restore(module: torch.nn.Module | torch.optim.Optimizer, state: Any, what: str) -> None:
    """``module.load_state_dict(state)``, with a checkpoint that does not fit the config
    (other sizes: was the config edited?) said in one line.

    An optimizer keeps the very tensors it is given where their dtype and device already
    fit, so one state loaded into two optimizers would make them share (and both update)
    their moments: it gets a copy."""
    if isinstance(module, torch.optim.Optimizer):
        state = copy.deepcopy(state)
    try:
        module.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1].strip()[:160]
        raise DataError(f"{what} does not fit the run's config ({first})") from None
