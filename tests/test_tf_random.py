"""TF's N(0, 1) op in numpy, and the official oracle as TF's seed-66 draws (docs/results.md,
"Which oracle")."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from distributed_seqgan.config import load_config
from distributed_seqgan.data.synthetic import build_oracle, load_oracle_params, read_sequences
from distributed_seqgan.models.oracle import OFFICIAL_KEYS, OFFICIAL_TF_OP_SEED
from distributed_seqgan.models.tf_random import tf_standard_normal
from distributed_seqgan.tasks import build_task
from distributed_seqgan.tasks.metrics import mean_nll

# tf.raw_ops.RandomStandardNormal(shape=[8], dtype=tf.float32, seed=66, seed2=s2), TF 2.21 CPU
TF_DRAWS = {
    0: [0.69092965, 0.4254721, 0.9282073, 2.3335638, 1.3791821, 1.3333501, -0.0260594, 0.35099486],
    123: [0.50771886, -0.38020772, 0.5179352, 0.03364595, -0.37675357, 2.64486, -1.5895665,
          1.5868216],
    4567: [-0.47423497, -1.3522527, -0.07470961, -2.1221902, 0.82869065, 0.8739123, -0.9439265,
           -0.5490544],
}  # fmt: skip


@pytest.mark.parametrize("seed2", sorted(TF_DRAWS))
def test_draws_match_tensorflows_op(seed2):
    got = tf_standard_normal((8,), 66, seed2)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, TF_DRAWS[seed2], rtol=0, atol=1e-6)


def test_a_shape_is_filled_row_major_across_philox_blocks():
    flat = tf_standard_normal((30,), 66, 7)  # 8 blocks, the last one partly used
    np.testing.assert_array_equal(tf_standard_normal((5, 6), 66, 7), flat.reshape(5, 6))
    assert len(set(flat.tolist())) == 30  # every block and value its own


@pytest.fixture(scope="module")
def official(data_dir):
    return load_oracle_params(data_dir / "synthetic_oracle" / "oracle_lstm_params.npz")


def _tf_params(op_seed: int) -> dict[str, np.ndarray]:
    oracle = build_oracle("tf", 5000, 32, 32, 20, op_seed)
    return {
        "g_embeddings": oracle.embedding.weight.numpy(),
        "Wo": oracle.output.weight.T.numpy(),
        "bo": oracle.output.bias.numpy(),
        "bi": oracle.lstm.bias_ih_l0[:32].numpy(),
    }


def test_the_official_arrays_are_tfs_seed_66_draws(official):
    """Every array of target_params.pkl is TF's N(0, 1) with graph seed 66 and op seeds
    2126, 2135, ...: to float rounding, where any other op seed differs by whole units."""
    for k, key in enumerate(OFFICIAL_KEYS):
        draw = tf_standard_normal(official[key].shape, 66, OFFICIAL_TF_OP_SEED + 9 * k)
        assert np.abs(draw - official[key]).max() < 3e-6, key
    assert np.abs(tf_standard_normal((32, 32), 66, 2136) - official["Wi"]).max() > 1.0


def test_a_tf_oracle_at_the_official_op_seed_is_the_official_oracle(official, data_dir):
    for key, value in _tf_params(OFFICIAL_TF_OP_SEED).items():
        assert np.abs(value - official[key]).max() < 3e-6, key
    assert np.abs(_tf_params(OFFICIAL_TF_OP_SEED + 1)["bo"] - official["bo"]).max() > 1.0
    real = read_sequences(data_dir / "synthetic_oracle" / "real_data.txt", 5000, 20)
    nll = mean_nll(build_oracle("tf", 5000, 32, 32, 20, OFFICIAL_TF_OP_SEED), real)
    assert abs(nll - 5.76095) < 1e-5  # the official real_data.txt's NLL under the pickle


def test_oracle_kind_tf_in_a_config_builds_that_oracle():
    cfg = load_config(None, ["task=synthetic", "oracle.kind=tf", "oracle.seed=2067",
                             "generator.vocab_size=50", "generator.emb_dim=8",
                             "generator.hidden_dim=8", "oracle.emb_dim=8", "oracle.hidden_dim=8",
                             "data.num_positive=64", "data.num_test=64"])  # fmt: skip
    task, _ = build_task(cfg)
    want = torch.from_numpy(tf_standard_normal((50, 8), 66, 2067))
    assert torch.equal(task.oracle.embedding.weight, want)
