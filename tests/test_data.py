"""Data lookup, checksums, downloads (from a real local mirror), the safe unpickler and
sequence files."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest
import torch

from distributed_seqgan.data import registry
from distributed_seqgan.data.synthetic import (
    load_oracle_params,
    load_pickled_arrays,
    read_sequences,
)
from distributed_seqgan.errors import DataError
from distributed_seqgan.models.oracle import OFFICIAL_KEYS


def test_found_in_named_dir_and_verified(data_dir, isolated_env):
    path = registry.resolve("oracle-real-data", str(data_dir))
    assert path == data_dir / "synthetic_oracle" / "real_data.txt"


def test_env_dir_is_searched(data_dir, isolated_env, monkeypatch):
    monkeypatch.setenv("SEQGAN_DATA_DIR", str(data_dir))
    assert registry.resolve("oracle-params").name == "oracle_lstm_params.npz"


def test_checksum_mismatch_is_refused(data_dir, isolated_env):
    bad = isolated_env / "data" / "synthetic_oracle"
    bad.mkdir(parents=True)
    text = (data_dir / "synthetic_oracle" / "real_data.txt").read_text()
    (bad / "real_data.txt").write_text(text.replace("927", "928", 1))
    with pytest.raises(DataError, match="checksum mismatch"):
        registry.resolve("oracle-real-data", str(isolated_env / "data"))


def test_missing_offline_names_where_to_put_it(isolated_env):
    with pytest.raises(
        DataError, match=r"not found and SEQGAN_OFFLINE is set; put it at .*real_data.txt"
    ):
        registry.resolve("oracle-real-data", str(isolated_env / "nowhere"))


def test_download_from_mirror_verifies_and_caches(data_dir, isolated_env, monkeypatch):
    mirror = isolated_env / "mirror"
    shutil.copytree(data_dir / "synthetic_oracle", mirror / "synthetic_oracle")
    monkeypatch.delenv("SEQGAN_OFFLINE")
    monkeypatch.setenv("SEQGAN_DATA_MIRROR", mirror.as_uri())
    path = registry.resolve("oracle-real-data")
    assert path == isolated_env / "cache" / "synthetic_oracle" / "real_data.txt"
    assert path.read_bytes() == (data_dir / "synthetic_oracle" / "real_data.txt").read_bytes()
    (mirror / "synthetic_oracle" / "real_data.txt").write_text("tampered\n")
    path.unlink()
    with pytest.raises(DataError, match="checksum mismatch for download"):
        registry.resolve("oracle-real-data")
    assert not list((isolated_env / "cache" / "synthetic_oracle").iterdir())  # nothing half-written


def test_unreachable_download_is_a_clear_error(isolated_env, monkeypatch):
    monkeypatch.delenv("SEQGAN_OFFLINE")
    monkeypatch.setenv("SEQGAN_DATA_MIRROR", (isolated_env / "no-mirror").as_uri())
    with pytest.raises(DataError, match="cannot download .* put it at"):
        registry.resolve("oracle-real-data")


@pytest.mark.parametrize("protocol", [2, 4])
def test_safe_unpickler_loads_numpy_arrays(data_dir, tmp_path, protocol):
    params = load_oracle_params(data_dir / "synthetic_oracle" / "oracle_lstm_params.npz")
    blob = pickle.dumps([params[k] for k in OFFICIAL_KEYS], protocol=protocol)
    pkl = tmp_path / "target_params_py3.pkl"
    pkl.write_bytes(blob)
    loaded = load_oracle_params(pkl)
    for k in OFFICIAL_KEYS:
        np.testing.assert_array_equal(loaded[k], params[k])


class _Evil:
    def __reduce__(self):
        return (shutil.rmtree, ("/definitely/not/here",))


def test_safe_unpickler_refuses_code():
    with pytest.raises(DataError, match=r"refusing to unpickle shutil\.rmtree"):
        load_pickled_arrays(pickle.dumps([np.zeros(2), _Evil()]))
    with pytest.raises(DataError, match="malformed pickle"):
        load_pickled_arrays(b"\x80\x04not a pickle")


def test_read_sequences(tmp_path):
    f = tmp_path / "s.txt"
    f.write_text("1 2 3\n4 5 6\n\n")
    assert torch.equal(read_sequences(f, 10, 3), torch.tensor([[1, 2, 3], [4, 5, 6]]))
    cases = {
        "1 2 3\n4 5\n": r":2: expected 3 token ids, got 2",
        "1 2 3\n4 5 10\n": r":2: token id 10 out of range \[0, 10\)",
        "1 2 x\n": r":1: expected integer token ids",
        "1 2 -1\n": r"token id -1 out of range",
        "\n\n": "no sequences",
    }
    for text, message in cases.items():
        f.write_text(text)
        with pytest.raises(DataError, match=message):
            read_sequences(f, 10, 3)
    f.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(DataError, match="not a UTF-8 text file"):
        read_sequences(f, 10, 3)
    with pytest.raises(DataError, match="not found"):
        read_sequences(tmp_path / "missing.txt", 10, 3)
