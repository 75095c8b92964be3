"""Scoring a finished run: a checkpoint's generator, or the real data as a reference row.

Used by ``seqgan sample`` and ``seqgan eval``. The task is rebuilt from the run's config
(:func:`~distributed_seqgan.tasks.rebuild_task`), so it is the same data.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import Config, load_run_config
from ..data.text import Vocab
from ..errors import UserError
from ..infra import checkpoint
from ..infra.files import write_atomic
from ..learning.sizing import check_samples
from ..models import LSTMPolicy
from ..models.build import build_generator
from ..seeding import generator as keyed_generator
from ..seeding import uniforms
from ..tasks import rebuild_task
from ..tasks.base import Task
from ..tasks.metrics import per_sequence_nll
from ..tasks.synthetic import SyntheticTask


def load_generator(run: Path, name: str) -> tuple[Config, LSTMPolicy]:
    """The run's config and the generator of checkpoint ``name`` (latest | pretrained | mle)."""
    cfg = load_run_config(run)
    state = checkpoint.load(run / "checkpoints" / f"{name}.pt")
    gen = build_generator(cfg.generator, cfg.seed)
    checkpoint.restore(gen, state["learner"].get("generator"), f"{name}.pt's generator")
    return cfg, gen.eval()


@torch.no_grad()
def generate(gen: LSTMPolicy, n: int, seed: int, stream: str = "cli-sample") -> torch.Tensor:
    return gen.sample(uniforms((n, gen.seq_len), seed, stream))  # (n, T)


def render(run: Path, seqs: torch.Tensor, ids: bool = False) -> list[str]:
    """Samples (n, T) as lines: decoded text where the run has a vocabulary (unless
    ``ids``), else token ids."""
    vocab_file = run / "vocab.json"
    if vocab_file.is_file() and not ids:
        vocab = Vocab.load(vocab_file)
        return [vocab.decode(row) for row in seqs.tolist()]
    return [" ".join(map(str, row)) for row in seqs.tolist()]


@torch.no_grad()
def temper(gen: LSTMPolicy, temperature: float) -> LSTMPolicy:
    """G at a sampling temperature: its output layer divided by ``temperature``, so every
    logit is logit / T. Below 1 the samples are less diverse (higher self-BLEU); the
    metrics that score G itself (NLL-test) then score that tempered distribution. Comparing
    two generators at matched diversity means tempering one until their self-BLEU (or
    NLL-test) agree."""
    if not temperature > 0:
        raise UserError(f"--temperature must be > 0, not {temperature}")
    if temperature != 1.0:
        gen.output.weight.div_(temperature)
        gen.output.bias.div_(temperature)
    return gen


def evaluate_checkpoint(
    run: Path, name: str, n: int | None, seed: int, per_sequence: Path | None = None,
    temperature: float = 1.0,
) -> dict[str, float]:  # fmt: skip
    """The task's metrics of ``n`` fresh samples (default schedule.generated_num) of the
    checkpoint's G at ``temperature``. With ``per_sequence``, each sample's mean per-token
    NLL under the oracle goes to that file, one per line: what a significance test between
    two methods compares."""
    cfg, gen = load_generator(run, name)
    gen = temper(gen, temperature)
    n = cfg.schedule.generated_num if n is None else n
    if n < 2:
        raise UserError("-n must be >= 2")
    check_samples(n, gen.seq_len)
    task = rebuild_task(run, cfg)
    if per_sequence is not None and not isinstance(task, SyntheticTask):
        raise UserError(f"--per-sequence: task {cfg.task} has no oracle (synthetic task only)")
    samples = generate(gen, n, seed, "cli-eval")  # (n, T)
    if per_sequence is not None:
        nll = per_sequence_nll(task.oracle, samples).tolist()  # (n,)
        write_atomic(per_sequence, lambda f: f.write("".join(f"{x:.6f}\n" for x in nll).encode()))
    return {"samples": n, "temperature": temperature, **task.evaluate(samples, gen)}


def evaluate_real_data(task: Task, n: int, seed: int) -> dict[str, float]:
    """The same metrics for ``n`` training samples (no generator: no NLL-test): the level a
    perfect generator would reach, the paper's "real data" row."""
    pick = torch.randperm(len(task.train), generator=keyed_generator(seed, "real-data"))[:n]
    return {"samples": len(pick), **task.evaluate(task.train[pick], None)}


def official_oracle_nll(path: Path, data_dir: str | None = None) -> float:
    """``seqgan oracle-nll``: the mean per-token NLL under the official oracle LSTM of the
    sequences in ``path`` (one per line, space-separated token ids)."""
    from ..data.synthetic import build_oracle, read_sequences
    from ..models.oracle import OFFICIAL_SHAPE as O
    from ..tasks.metrics import mean_nll

    oracle = build_oracle("official", O.vocab_size, O.emb_dim, O.hidden_dim, O.seq_len, 0,
                          data_dir=data_dir)  # fmt: skip
    return mean_nll(oracle, read_sequences(path, oracle.vocab_size, oracle.seq_len))
