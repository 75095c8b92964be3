"""Which oracle each paper-era official script builds: the op seeds of its TARGET_LSTM.

The paper-era ``pg_bleu.py`` and ``schedule_sampling.py`` (LantaoYu/SeqGAN commit 4152436)
do not load ``target_params.pkl``: their TARGET_LSTM draws its arrays with
``tf.set_random_seed(66)``, so each array's op seed is the graph's op count when it is
created, after the script's own generator graph. This builds each script's graph as its
``main()`` does (generator, then TARGET_LSTM), prints those op seeds and compares the draws
with the pickle's arrays (docs/results.md, "Which oracle"; ``oracle.kind: tf`` rebuilds an
oracle from its first op seed).

Runs on Python 2.7 with TensorFlow 0.12.1, the oldest TF on PyPI (the code asks for r0.10,
whose op counts may differ), not in this project's environment:

    pip download tensorflow==0.12.1 "numpy<1.17" "protobuf<3.18" six "mock<4" funcsigs pbr \
        --python-version 2.7 --platform manylinux1_x86_64 --implementation cp --abi cp27mu \
        --only-binary=:all: -d wheels/
    pip install --no-deps --no-index --target py27 --python-version 2.7 \
        --platform manylinux1_x86_64 --implementation cp --abi cp27mu wheels/*.whl
    touch py27/google/__init__.py
    git clone https://github.com/LantaoYu/SeqGAN && git -C SeqGAN checkout 4152436
    PYTHONPATH=py27 python2.7 docs/official_op_seeds.py SeqGAN \
        $SEQGAN_DATA_DIR/synthetic_oracle/oracle_lstm_params.npz

Python 2 syntax on purpose (the official scripts are Python 2).
"""

from __future__ import print_function

import importlib
import os
import random
import subprocess
import sys
import types

SCRIPTS = [("pg_bleu", "pg_bleu"), ("schedule_sampling", "schedule_sampling")]
KEYS = ["g_embeddings", "Wi", "Ui", "bi", "Wf", "Uf", "bf", "Wog", "Uog", "bog", "Wc", "Uc",
        "bc", "Wo", "bo"]  # fmt: skip


def one(checkout, folder, script, npz):
    """Builds one script's graph in this process and prints its oracle's op seeds."""
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.ops import control_flow_ops

    if not hasattr(control_flow_ops, "While"):  # r0.10's alias, gone by 0.12
        control_flow_ops.While = lambda cond, body, loop_vars, **kw: control_flow_ops.while_loop(
            cond, body, loop_vars, **kw
        )
    try:
        import nltk  # noqa: F401  (pg_bleu's rollout imports it; no BLEU is computed here)
    except ImportError:
        sys.modules["nltk"] = types.ModuleType("nltk")
    os.chdir(os.path.join(checkout, folder))
    sys.path.insert(0, ".")
    mod = importlib.import_module(script)
    random.seed(mod.SEED)
    np.random.seed(mod.SEED)
    graph = tf.get_default_graph()
    mod.get_trainable_model(5000)
    before = graph._last_id
    oracle = mod.TARGET_LSTM(5000, 64, 32, 32, 20, 0)
    seeds = [op.get_attr("seed2") for op in graph.get_operations()
             if op.type == "RandomStandardNormal" and op._id > before]  # fmt: skip
    sess = tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=1))
    sess.run(tf.initialize_all_variables())
    values = sess.run(oracle.g_params)
    pickle = np.load(npz)
    diff = max(float(np.abs(v - pickle[k]).max()) for k, v in zip(KEYS, values))
    print("%s/%s.py (TF %s): %d ops before TARGET_LSTM; op seeds %s; max |draw - pickle| %.3g"
          % (folder, script, tf.__version__, before, [int(s) for s in seeds], diff))  # fmt: skip


def main():
    if sys.argv[1] == "--one":
        one(*sys.argv[2:6])
        return
    checkout, npz = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    for folder, script in SCRIPTS:  # a process each: every script has its own model.py
        subprocess.check_call([sys.executable, os.path.abspath(__file__), "--one", checkout,
                               folder, script, npz])  # fmt: skip


if __name__ == "__main__":
    main()
