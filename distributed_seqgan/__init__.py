"""distributed_seqgan: SeqGAN (Yu et al., AAAI 2017) as an actor-learner system.

Local mode runs everything in one process; the trainer only ever sees a worker pool.
"""

__version__ = "0.1.0"
