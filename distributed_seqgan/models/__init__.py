"""Networks: the LSTM policy (generator, rollout policy, oracle) and the CNN discriminator."""

from .discriminator import Discriminator
from .lstm_policy import LSTMPolicy, sample_from_logits
from .oracle import oracle_from_params, random_oracle

__all__ = [
    "Discriminator",
    "LSTMPolicy",
    "oracle_from_params",
    "random_oracle",
    "sample_from_logits",
]
