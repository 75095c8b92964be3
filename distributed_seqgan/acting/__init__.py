"""The acting side: rollout workers that sample from G and score Monte-Carlo rollouts with
D, and the pools that spread their work (in process, or as Ray actors).

- ``messages``: weights, shard specs and results, the learner's interface to the workers;
- ``rollout``: the batched Monte-Carlo rollout engine (pure torch);
- ``worker``: ``RolloutWorker``, one plain class for both backends;
- ``pool``: the ``WorkerPool`` interface, shard planning and combining, ``LocalPool``;
- ``backend``: ``make_pool``, the pool a config asks for;
- ``ray_pool``: ``RayPool``, the only module of the package that imports ray.
"""
