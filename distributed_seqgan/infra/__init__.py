"""Run infrastructure shared by both sides: atomic checkpoints, the run log
(metrics.jsonl, console, W&B) and the process's memory setting."""
