"""FLOPs of each training phase, counted by hand from the config (multiply-add = 2).

Only GEMM/conv work is counted: it is what the ceilings measure, and the elementwise work
(softmax, sampling, activations) is small in FLOPs though not always in time. Rollout
figures count the plain formulation (every completion scored in full), so a faster
formulation that skips work shows up as higher achieved GFLOP/s.
"""

from __future__ import annotations

from ..config import Config


def lstm_token(cfg: Config) -> float:
    """One LSTM step for one row: 4 gates over [x, h]."""
    g = cfg.generator
    return 2.0 * 4 * g.hidden_dim * (g.emb_dim + g.hidden_dim)


def projection_token(cfg: Config) -> float:
    """Hidden state to vocabulary logits for one row."""
    g = cfg.generator
    return 2.0 * g.hidden_dim * g.vocab_size


def d_forward(cfg: Config) -> float:
    """D forward for one sequence: convs + highway (F -> 2F) + output layer."""
    d, t = cfg.discriminator, cfg.generator.seq_len
    convs = sum(
        2.0 * (t - f + 1) * f * d.emb_dim * n
        for f, n in zip(d.filter_sizes, d.num_filters, strict=True)
    )
    feats = sum(d.num_filters)
    return convs + 2.0 * feats * 2 * feats + 2.0 * feats * 2


def d_train_step(cfg: Config) -> float:
    """Forward + backward (about 2x forward) for one batch."""
    return 3.0 * d_forward(cfg) * cfg.schedule.batch_size


def d_round(cfg: Config, n_negatives: int, n_positives: int) -> float:
    batches = (n_negatives + n_positives) // cfg.schedule.batch_size
    return cfg.schedule.d_epochs * batches * d_train_step(cfg)


def mle_epoch(cfg: Config, n_sequences: int) -> float:
    s, t = cfg.schedule, cfg.generator.seq_len
    tokens = (n_sequences // s.batch_size) * s.batch_size * t
    return 3.0 * tokens * (lstm_token(cfg) + projection_token(cfg))


def sampling(cfg: Config, n: int) -> float:
    return n * cfg.generator.seq_len * (lstm_token(cfg) + projection_token(cfg))


def rollout_batch(cfg: Config) -> float:
    """Rewards for one batch: completions (each prefix run once) + D on every completion
    and on each sample once."""
    b, n, t = cfg.schedule.batch_size, cfg.schedule.rollout_num, cfg.generator.seq_len
    row_steps = b * n * t * (t - 1) / 2  # drawn tokens over all completions
    completion = row_steps * (lstm_token(cfg) + projection_token(cfg)) + b * t * lstm_token(cfg)
    scored = b * n * (t - 1) + b
    return completion + scored * d_forward(cfg)


def adversarial_iteration(cfg: Config, n_generated: int, n_positives: int) -> float:
    s, t = cfg.schedule, cfg.generator.seq_len
    pg = s.g_steps * (
        rollout_batch(cfg) + 3.0 * s.batch_size * t * (lstm_token(cfg) + projection_token(cfg))
    )
    return pg + s.d_steps * (sampling(cfg, n_generated) + d_round(cfg, n_generated, n_positives))
