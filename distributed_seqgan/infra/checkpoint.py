"""Atomic checkpoints: write to a temporary file, then rename, so a crash never leaves a
half-written checkpoint where a good one stood."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..errors import DataError


def save(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(f"checkpoint not found: {path}")
    return torch.load(path, map_location="cpu", weights_only=True)
