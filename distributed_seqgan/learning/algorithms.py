"""Each algorithm as data: the phases it runs, in order, and where its rewards come from.

Why: the trainer runs one loop over a plan instead of a switch per algorithm, and a run's
position (phase, unit) is a place in that plan, so checkpoints, resume, progress bars and
``--init-from`` all read the same table. Adding an algorithm is an entry here, its unit
function in the trainer if it needs a new kind of unit, and its config keys and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..config import Config, ScheduleConfig

Reward = Literal["discriminator", "bleu"]


@dataclass(frozen=True)
class Phase:
    """A phase of training: ``units`` of work (epochs, rounds, iterations), each a unit of
    resume, and the checkpoint written when the phase ends (None: none)."""

    name: str
    units: Callable[[ScheduleConfig], int]
    checkpoint: str | None = None


MLE = Phase("mle", lambda s: s.mle_epochs, checkpoint="mle")
SCHEDULED_SAMPLING = Phase("ss", lambda s: s.mle_epochs)
D_PRETRAIN = Phase("d_pretrain", lambda s: s.d_pretrain_rounds, checkpoint="pretrained")
ADVERSARIAL = Phase("adversarial", lambda s: s.adv_iterations)


@dataclass(frozen=True)
class Algorithm:
    name: str
    phases: tuple[Phase, ...]
    reward: Reward | None  # what scores the rollouts; None: no policy-gradient phase

    @property
    def adversarial(self) -> bool:
        return ADVERSARIAL in self.phases


ALGORITHMS: dict[str, Algorithm] = {
    # Algorithm 1: MLE, D pretraining, then policy gradient with D's rewards
    "seqgan": Algorithm("seqgan", (MLE, D_PRETRAIN, ADVERSARIAL), reward="discriminator"),
    # the same phases, rewards from BLEU-3 (its D phases have 0 units; config checks that)
    "pg_bleu": Algorithm("pg_bleu", (MLE, D_PRETRAIN, ADVERSARIAL), reward="bleu"),
    "mle": Algorithm("mle", (MLE,), reward=None),  # the MLE baseline
    "ss": Algorithm("ss", (SCHEDULED_SAMPLING,), reward=None),  # scheduled sampling
}

# Every position a checkpoint can record, in run order: before training, each phase, done.
POSITIONS = ("init", "mle", "ss", "d_pretrain", "adversarial", "done")
Position = tuple[str, int]  # (phase, next unit in it)
START: Position = ("init", 0)  # the untrained generator's evaluation (the paper's Random row)


def algorithm_of(cfg: Config) -> Algorithm:
    return ALGORITHMS[cfg.algorithm]


def plan(cfg: Config) -> list[tuple[Phase, int]]:
    """The run's phases with their unit counts, in order."""
    return [(p, p.units(cfg.schedule)) for p in algorithm_of(cfg).phases]


def done_step(cfg: Config) -> int:
    """The step of a finished run's ("done", step) position: its adversarial iterations."""
    return cfg.schedule.adv_iterations if algorithm_of(cfg).adversarial else 0
