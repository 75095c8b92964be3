"""The learning side: the central learner (G, the rollout policy, D, their optimizers and
update rules) and the trainer, which runs the paper's Algorithm 1 against a worker pool."""
