"""distributed_seqgan: SeqGAN (Yu et al., AAAI 2017) as an actor-learner system.

Local mode runs everything in one process; the trainer only ever sees a worker pool.
"""

import os

# Torch's OpenMP threads spin while they wait for each other. When the machine has other
# work (another run, a build, a shared cluster node), a spinning thread holds the core its
# partner needs and every parallel region waits out a scheduler slice: 30 MLE steps with
# 2 threads next to 2 busy processes took 53 s spinning and 1.1 s sleeping
# (benchmarks/bench_threads.py, docs/benchmarks.md). Set before torch loads; a value the
# user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
