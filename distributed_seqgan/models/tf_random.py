"""TensorFlow's ``RandomStandardNormal`` op in numpy: the draws that made the official oracle.

Why: the official ``target_params.pkl`` is exactly what TF's N(0, 1) op drew with graph seed
66 and op seeds 2126, 2135, ..., 2252 (``tests/test_tf_random.py``; docs/results.md,
"Which oracle"), so a TF-seeded oracle (``oracle.kind: tf``) can be rebuilt without
TensorFlow for any op seed, e.g. the ones the paper-era baseline scripts' graphs give.

TF's op (CPU and GPU alike): a Philox4x32-10 counter-based generator keyed by the op's
(seed, seed2); output group g (4 values) is the Philox block of counter (g, seed2), and each
pair of its 32-bit words becomes two normals by Box-Muller on floats in [0, 1) built from
the low 23 bits. Values agree with TF's to ~2e-6 (float32 sin, cos and log round differently
from TF's), not bit for bit.
"""

from __future__ import annotations

import numpy as np

_MUL = (np.uint64(0xD2511F53), np.uint64(0xCD9E8D57))
_WEYL = (np.uint32(0x9E3779B9), np.uint32(0xBB67AE85))
_ROUNDS = 10
_BOX_MULLER_EPS = np.float32(1.0e-7)  # TF clamps u1 at this before the log


def _lo_hi(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint64 -> its low and high uint32 words."""
    return (x & np.uint64(0xFFFFFFFF)).astype(np.uint32), (x >> np.uint64(32)).astype(np.uint32)


def philox4x32(
    counter: tuple[np.ndarray, ...], key: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, ...]:
    """Philox4x32-10 (Salmon et al. 2011) of 4 uint32 counter words under a 2-word key,
    elementwise over arrays of counters -> 4 uint32 output words."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(_ROUNDS):
        p0, p1 = _MUL[0] * c0.astype(np.uint64), _MUL[1] * c2.astype(np.uint64)
        (lo0, hi0), (lo1, hi1) = _lo_hi(p0), _lo_hi(p1)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0, k1 = k0 + _WEYL[0], k1 + _WEYL[1]
    return c0, c1, c2, c3


def _unit_float(x: np.ndarray) -> np.ndarray:
    """uint32 -> float32 in [0, 1): its low 23 bits as the mantissa of a float in [1, 2), less 1."""
    bits = np.uint32(127 << 23) | (x & np.uint32(0x7FFFFF))
    return bits.view(np.float32) - np.float32(1.0)


def _box_muller(x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u1 = np.maximum(_unit_float(x0), _BOX_MULLER_EPS)
    v1 = np.float32(2.0 * np.pi) * _unit_float(x1)
    r = np.sqrt(np.float32(-2.0) * np.log(u1))
    return np.sin(v1) * r, np.cos(v1) * r


def tf_standard_normal(shape: tuple[int, ...], seed: int, seed2: int) -> np.ndarray:
    """What ``tf.random_normal(shape)`` (stddev 1, mean 0) draws as an op with seeds
    (seed, seed2), e.g. ``tf.set_random_seed(seed)`` and an op created when the graph's last
    op id was ``seed2``: float32 array of ``shape``, row-major."""
    n = int(np.prod(shape, dtype=np.int64))
    groups = np.arange(-(-n // 4), dtype=np.uint64)  # (G,) one Philox block per 4 values
    ones = np.ones(groups.shape, dtype=np.uint64)
    s_lo, s_hi = _lo_hi(np.uint64(seed) * ones)
    t_lo, t_hi = _lo_hi(np.uint64(seed2) * ones)
    words = philox4x32((*_lo_hi(groups), t_lo, t_hi), (s_lo, s_hi))
    a, b = _box_muller(words[0], words[1])
    c, d = _box_muller(words[2], words[3])
    return np.stack([a, b, c, d], axis=1).ravel()[:n].reshape(shape)  # (G, 4) -> shape
