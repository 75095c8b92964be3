"""Nottingham folk tunes as pitch-token sequences (the paper's music task).

Source: the Boulanger-Lewandowski piano-roll ``Nottingham.mat`` (registry name
``nottingham-mat``), chosen over the MIDI files because it carries the standard
train/valid/test split (694 / 173 / 170 tunes). Each tune is a binary (steps, 88) roll with
melody and chords merged. The paper used the solo track, one pitch per time step, as
integers 1..88 in sequences of 32. We get the nearest equivalent:
- melody = the highest key sounding at each roll step (the tune lies above its chords);
- token = key index + 1 (1..88), or 0 for a silent step (a rest; also the start token);
- each tune is cut into non-overlapping windows of ``seq_len`` steps; the remainder is
  dropped.
The roll's own time step is used, not the paper's resampling to 0.4 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DataError

NUM_KEYS = 88
VOCAB_SIZE = NUM_KEYS + 1  # 0 = rest, 1..88 = piano keys A0..C8
REST = 0


def melody(roll: np.ndarray) -> np.ndarray:
    """Highest active key per step: roll (steps, 88) -> (steps,) tokens in 0..88."""
    on = roll.astype(bool)  # (S, 88)
    top = NUM_KEYS - np.argmax(on[:, ::-1], axis=1)  # (S,) 1-based index of the highest key
    return np.where(on.any(axis=1), top, REST).astype(np.int64)


def windows(tokens: np.ndarray, seq_len: int) -> np.ndarray:
    """Non-overlapping windows (n, seq_len) of one tune's tokens."""
    n = len(tokens) // seq_len
    return tokens[: n * seq_len].reshape(n, seq_len)


def load_splits(path: Path, seq_len: int, max_tunes: int | None = None) -> dict[str, torch.Tensor]:
    """``train``, ``valid`` and ``test`` pitch windows, each (n, seq_len) int64, from all
    tunes or the first ``max_tunes`` of each split."""
    try:
        from scipy.io import loadmat
    except ImportError:  # pragma: no cover - scipy is a dependency
        raise DataError("the music task needs scipy (pip install scipy)") from None
    try:
        mat = loadmat(str(path))
    except Exception as exc:  # scipy raises several types for a malformed file
        raise DataError(f"cannot read {path} as a MATLAB file: {exc}") from None
    out: dict[str, torch.Tensor] = {}
    for split in ("train", "valid", "test"):
        key = f"{split}data"
        if key not in mat:
            raise DataError(f"{path}: no '{key}' array; expected the Nottingham piano-roll file")
        rolls = mat[key].ravel()[:max_tunes]
        parts = [windows(melody(np.asarray(r)), seq_len) for r in rolls]
        seqs = np.concatenate(parts) if parts else np.zeros((0, seq_len), dtype=np.int64)
        if len(seqs) == 0:
            raise DataError(f"{path}: {key} has no tune of {seq_len} steps or more")
        out[split] = torch.from_numpy(seqs)
    return out
