"""The networks a config section describes, with seeded official initialisation, and the
device the config names. Each takes only its own section and the run seed: the learner and
the workers (which never see the whole config) build identical networks."""

from __future__ import annotations

import torch

from ..config import DiscriminatorConfig, GeneratorConfig
from ..errors import ConfigError
from ..seeding import generator as keyed_generator
from .discriminator import Discriminator
from .lstm_policy import LSTMPolicy


def resolve_device(name: str, tf32: bool = False) -> torch.device:
    """``cpu``, ``cuda`` or ``auto`` (CUDA when available) -> a torch device. On CUDA, sets
    this process's TF32 use for matmuls and cuDNN convolutions as ``run.tf32`` says."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("run.device: cuda requested but torch sees no CUDA device")
    if name == "cuda":
        set_tf32(tf32)
    return torch.device(name)


def set_tf32(on: bool) -> None:
    """TF32 for CUDA matmuls and cuDNN convolutions, both ways (process-wide flags)."""
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def parameter_counts(g: GeneratorConfig, d: DiscriminatorConfig) -> tuple[int, int]:
    """The parameters of G and D as built, counted on the meta device (no memory is
    allocated, so a size that would not fit can still be counted)."""
    with torch.device("meta"):
        gen = LSTMPolicy(g.vocab_size, g.emb_dim, g.hidden_dim, g.seq_len, g.start_token)
        disc = _discriminator(d, g.vocab_size)
    return sum(p.numel() for p in gen.parameters()), sum(p.numel() for p in disc.parameters())


def build_generator(g: GeneratorConfig, seed: int) -> LSTMPolicy:
    model = LSTMPolicy(g.vocab_size, g.emb_dim, g.hidden_dim, g.seq_len, g.start_token)
    model.reset_parameters_normal(g.init_std, keyed_generator(seed, "generator-init"))
    return model


def _discriminator(d: DiscriminatorConfig, vocab_size: int) -> Discriminator:
    return Discriminator(
        vocab_size, d.emb_dim, d.filter_sizes, d.num_filters, d.dropout, d.l2_reg,
        d.formulation, d.gemm_groups,
    )  # fmt: skip


def build_discriminator(d: DiscriminatorConfig, vocab_size: int, seed: int) -> Discriminator:
    model = _discriminator(d, vocab_size)
    model.reset_parameters_official(keyed_generator(seed, "discriminator-init"))
    return model
