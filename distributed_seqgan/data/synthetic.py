"""The synthetic task's files: oracle parameters and token-id sequence files.

The official oracle ships as a Python pickle. ``pickle.load`` on a downloaded file runs
arbitrary code, so :func:`load_oracle_params` uses an unpickler that admits only what
numpy needs to rebuild arrays, and refuses everything else.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from ..models.lstm_policy import LSTMPolicy
from ..models.oracle import OFFICIAL_KEYS, oracle_from_params, random_oracle, tf_oracle
from .registry import resolve


def _numpy_reconstruct() -> Any:
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _numpy_scalar() -> Any:
    try:
        from numpy._core.multiarray import scalar  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import scalar
    return scalar


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays (and lists/tuples/dicts of them) and nothing else."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
        ("numpy.core.multiarray", "scalar"): _numpy_scalar,
        ("numpy._core.multiarray", "scalar"): _numpy_scalar,
        ("numpy", "ndarray"): lambda: np.ndarray,
        ("numpy", "dtype"): lambda: np.dtype,
        ("_codecs", "encode"): lambda: __import__("codecs").encode,  # bytes in protocol-2 pickles
    }

    def find_class(self, module: str, name: str) -> Any:
        make = self._ALLOWED.get((module, name))
        if make is None:
            raise DataError(f"refusing to unpickle {module}.{name}: only numpy arrays are allowed")
        return make()


def load_pickled_arrays(data: bytes) -> Any:
    try:
        return NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except DataError:
        raise
    except Exception as exc:  # malformed pickle: any of a dozen exception types
        raise DataError(f"malformed pickle: {exc}") from None


def load_oracle_params(path: Path) -> dict[str, np.ndarray]:
    """The 15 official arrays from the shared ``.npz`` or the upstream ``.pkl``."""
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in OFFICIAL_KEYS}
    arrays = load_pickled_arrays(path.read_bytes())
    if not isinstance(arrays, (list, tuple)) or len(arrays) != len(OFFICIAL_KEYS):
        raise DataError(f"{path}: expected a list of {len(OFFICIAL_KEYS)} arrays")
    return dict(zip(OFFICIAL_KEYS, (np.asarray(a) for a in arrays), strict=True))


def build_oracle(
    kind: str, vocab_size: int, emb_dim: int, hidden_dim: int, seq_len: int, seed: int,
    start_token: int = 0, data_dir: str | None = None,
) -> LSTMPolicy:  # fmt: skip
    """The oracle a config asks for: ``official`` (from the data files), ``tf`` (TF's draws
    at op seed ``seed``) or ``random``."""
    if kind == "official":
        params = load_oracle_params(resolve("oracle-params", data_dir))
        return oracle_from_params(params, start_token=start_token, seq_len=seq_len)
    if kind == "tf":
        return tf_oracle(vocab_size, emb_dim, hidden_dim, seq_len, seed, start_token)
    return random_oracle(vocab_size, emb_dim, hidden_dim, seq_len, seed, start_token)


def read_sequences(path: str | Path, vocab_size: int, seq_len: int) -> torch.Tensor:
    """Reads one sequence per line of space-separated ids -> (n, seq_len) int64.

    Every line must have exactly ``seq_len`` ids in [0, vocab_size); errors name the line.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"sequences file not found: {p}")
    rows: list[list[int]] = []
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{p}: not a UTF-8 text file") from None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            ids = [int(x) for x in parts]
        except ValueError:
            raise DataError(
                f"{p}:{lineno}: expected integer token ids, got {line.strip()[:40]!r}"
            ) from None
        if len(ids) != seq_len:
            raise DataError(f"{p}:{lineno}: expected {seq_len} token ids, got {len(ids)}")
        bad = [i for i in ids if not 0 <= i < vocab_size]
        if bad:
            raise DataError(f"{p}:{lineno}: token id {bad[0]} out of range [0, {vocab_size})")
        rows.append(ids)
    if not rows:
        raise DataError(f"{p}: no sequences")
    return torch.tensor(rows, dtype=torch.long)
