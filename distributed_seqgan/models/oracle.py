"""The synthetic task's oracle ("target LSTM"): official parameters, TF's seeded N(0, 1)
draws as the official ``TARGET_LSTM`` makes them, or a seeded N(0, 1) draw of our own.

The official arrays use TF's row-vector convention (x @ W) with gates named i, f, og, c;
``nn.LSTM`` wants (4H, in) matrices in gate order i, f, g, o. The mapping below is the one
``shared/data/synthetic_oracle/README.md`` documents and checks to 8e-7.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from ..seeding import generator as keyed_generator
from .lstm_policy import LSTMPolicy
from .tf_random import tf_standard_normal


@dataclass(frozen=True)
class OracleShape:
    vocab_size: int
    emb_dim: int
    hidden_dim: int
    seq_len: int


OFFICIAL_SHAPE = OracleShape(vocab_size=5000, emb_dim=32, hidden_dim=32, seq_len=20)
"""The official oracle's sizes (``target_params.pkl``): the synthetic task's fixed shape."""

TF_GRAPH_SEED = 66
"""``tf.set_random_seed(66)`` in the official ``TARGET_LSTM``."""
TF_OPS_PER_PARAM = 9
"""Graph ops a ``tf.Variable(tf.random_normal(shape))`` adds (shape, mean, stddev, the draw,
mul, add; variable, assign, read): the op seeds of successive arrays are 9 apart."""
OFFICIAL_TF_OP_SEED = 2126
"""The op seed of the pickle's first array (``g_embeddings``); the rest follow 9 apart."""

OFFICIAL_KEYS = (
    "g_embeddings", "Wi", "Ui", "bi", "Wf", "Uf", "bf", "Wog", "Uog", "bog",
    "Wc", "Uc", "bc", "Wo", "bo",
)  # fmt: skip


def oracle_from_params(
    params: Mapping[str, np.ndarray], start_token: int = 0, seq_len: int = 20
) -> LSTMPolicy:
    """Builds the oracle from the 15 official arrays (keys as in ``target_lstm.py``)."""
    missing = [k for k in OFFICIAL_KEYS if k not in params]
    if missing:
        raise ValueError(f"oracle parameters lack {missing}")
    p = {k: torch.from_numpy(np.asarray(params[k], dtype=np.float32)) for k in OFFICIAL_KEYS}
    vocab, emb = p["g_embeddings"].shape
    hidden = p["Ui"].shape[0]
    model = LSTMPolicy(vocab, emb, hidden, seq_len, start_token)
    with torch.no_grad():
        model.embedding.weight.copy_(p["g_embeddings"])
        model.lstm.weight_ih_l0.copy_(torch.cat([p["Wi"], p["Wf"], p["Wc"], p["Wog"]], dim=1).T)
        model.lstm.weight_hh_l0.copy_(torch.cat([p["Ui"], p["Uf"], p["Uc"], p["Uog"]], dim=1).T)
        model.lstm.bias_ih_l0.copy_(torch.cat([p["bi"], p["bf"], p["bc"], p["bog"]]))
        model.lstm.bias_hh_l0.zero_()
        model.output.weight.copy_(p["Wo"].T)
        model.output.bias.copy_(p["bo"])
    return model.requires_grad_(False).eval()


def random_oracle(
    vocab_size: int, emb_dim: int, hidden_dim: int, seq_len: int, seed: int, start_token: int = 0
) -> LSTMPolicy:
    """The paper's recipe: every parameter drawn from N(0, 1), seeded; needs no file."""
    model = LSTMPolicy(vocab_size, emb_dim, hidden_dim, seq_len, start_token)
    model.reset_parameters_normal(1.0, keyed_generator(seed, "oracle-init"))
    return model.requires_grad_(False).eval()


def tf_oracle(
    vocab_size: int, emb_dim: int, hidden_dim: int, seq_len: int, op_seed: int, start_token: int = 0
) -> LSTMPolicy:
    """The official ``TARGET_LSTM`` without its pickle: each array is TF's N(0, 1) draw with
    graph seed 66 and op seed ``op_seed + 9 k`` for the k-th array, in creation order. The op
    seed is the graph's op count when the oracle is built, so it depends on the script:
    ``OFFICIAL_TF_OP_SEED`` (2126) gives the pickle's arrays (to ~2e-6); the paper-era
    ``pg_bleu.py`` and ``schedule_sampling.py`` give other ones (docs/results.md)."""
    v, e, h = vocab_size, emb_dim, hidden_dim
    shapes = {
        "g_embeddings": (v, e), "Wi": (e, h), "Ui": (h, h), "bi": (h,), "Wf": (e, h),
        "Uf": (h, h), "bf": (h,), "Wog": (e, h), "Uog": (h, h), "bog": (h,), "Wc": (e, h),
        "Uc": (h, h), "bc": (h,), "Wo": (h, v), "bo": (v,),
    }  # fmt: skip
    params = {
        key: tf_standard_normal(shapes[key], TF_GRAPH_SEED, op_seed + TF_OPS_PER_PARAM * k)
        for k, key in enumerate(OFFICIAL_KEYS)
    }
    return oracle_from_params(params, start_token=start_token, seq_len=seq_len)
