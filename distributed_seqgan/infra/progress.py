"""Progress on a terminal: one tqdm bar per phase (MLE epochs, D pretraining rounds,
adversarial iterations) with its rate and ETA, and the whole run's time left.

The whole run's estimate adds, for the current phase and every phase after it, the units
left times that phase's seconds per unit: the mean wall time of its last ``WINDOW`` units
(evaluations included), so that the estimate follows the machine's load as it changes (a
test suite or a benchmark beside a long run) instead of averaging over hours. A phase that
has not run yet in this process has no rate; until every remaining phase has one, the
estimate counts only the measured ones and says so with "≥".
Only a terminal gets bars; a pipe or a file (CI, ``ray job logs``, nohup) gets the plain
event lines of :class:`~distributed_seqgan.infra.tracking.RunLogger` instead, and every
``progress_every`` seconds a line with the same position and estimate (:class:`Progress`).
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import TextIO

from tqdm import tqdm

LABELS = {"mle": "MLE", "ss": "SS", "d_pretrain": "D pretrain", "adversarial": "adversarial"}
UNITS = {"mle": "epoch", "ss": "epoch", "d_pretrain": "round", "adversarial": "it"}
# how a plain progress line starts after its "[  586.8s] " (``seqgan sweep`` finds it by this)
PROGRESS_LINE = "progress: "
# units a phase's rate is the mean of: a multiple of 5 and 10, so that a window holds the
# same number of evaluation units wherever it ends when evaluations come every 5 or 10 units
WINDOW = 20


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


def duration(seconds: float) -> str:
    """3725 -> '1h02m', 125 -> '2m05s', 9 -> '9s'."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


class Progress:
    """Where a run stands in its plan and how long the rest will take: units done per
    phase, and each phase's seconds per unit as measured in this process (the mean wall time
    between its last ``WINDOW`` units, evaluations included). The bars draw it on a
    terminal; plain output prints it as a line every so often, which ``seqgan sweep``
    repeats in its status lines."""

    def __init__(self, plan: list[tuple[str, int]]) -> None:
        self.plan = dict(plan)  # phase -> units in the whole run, in run order
        self.done = dict.fromkeys(self.plan, 0)
        # seconds of each phase's last WINDOW units, measured in this process
        self.recent: dict[str, deque[float]] = {p: deque(maxlen=WINDOW) for p in self.plan}
        self.phase: str | None = None
        self.t_last = time.perf_counter()

    def begin(self, phase: str, done: int) -> bool:
        """A phase starts (or resumes) with ``done`` of its units already done; the phases
        before it are complete. False for a phase with no units to show (not in the plan,
        or none: pg_bleu's D rounds)."""
        self.phase = None
        if not self.plan.get(phase):
            return False
        for p in self.plan:
            if p == phase:
                break
            self.done[p] = self.plan[p]
        self.phase, self.done[phase] = phase, done
        self.t_last = time.perf_counter()
        return True

    def advance(self, phase: str) -> bool:
        """One unit of ``phase`` finished; False if ``phase`` is not the one in progress."""
        if phase != self.phase:
            return False
        now = time.perf_counter()
        self.recent[phase].append(now - self.t_last)
        self.t_last = now
        self.done[phase] += 1
        return True

    def run_left(self) -> str:
        """The whole run's time left, '' before anything was measured."""
        total, unknown = 0.0, False
        for p, units in self.plan.items():
            left = units - self.done[p]
            if left <= 0:
                continue
            if self.recent[p]:
                total += left * sum(self.recent[p]) / len(self.recent[p])
            else:
                unknown = True
        if total == 0.0 and unknown:
            return ""
        return ("≥" if unknown else "") + duration(total)

    def summary(self) -> str:
        """'adversarial 107/800 it, run: 9h35m left' ('' outside a phase)."""
        if self.phase is None:
            return ""
        p = self.phase
        text = f"{LABELS.get(p, p)} {self.done[p]}/{self.plan[p]} {UNITS.get(p, 'units')}"
        left = self.run_left()
        return f"{text}, run: {left} left" if left else text


class PhaseBars:
    """One tqdm bar per phase, its postfix the whole run's time left (:class:`Progress`)."""

    def __init__(self, stream: TextIO, plan: list[tuple[str, int]]) -> None:
        self.stream = stream
        self.progress = Progress(plan)
        self.bar: tqdm | None = None

    @property
    def phase(self) -> str | None:
        return self.progress.phase

    def begin(self, phase: str, done: int) -> None:
        """A phase starts (or resumes) with ``done`` of its units already done."""
        self.close()
        if not self.progress.begin(phase, done):
            return
        width = _columns(self.stream)  # 0: a terminal that does not say (a bare pty)
        self.bar = tqdm(
            total=self.progress.plan[phase], initial=done, desc=LABELS.get(phase, phase),
            unit=UNITS.get(phase, "unit"), file=self.stream, leave=True,
            dynamic_ncols=width > 0, ncols=None if width > 0 else 100,
            nrows=None if width > 0 else 24,  # tqdm hides bars below a 0-row terminal
        )  # fmt: skip

    def advance(self, phase: str, postfix: str) -> None:
        """One unit of ``phase`` finished."""
        if self.bar is None or not self.progress.advance(phase):
            return
        left = self.progress.run_left()
        self.bar.set_postfix_str(f"run: {left} left, {postfix}" if left else postfix,
                                 refresh=False)  # fmt: skip
        self.bar.update(1)

    def write(self, line: str) -> None:
        """A line above the bar."""
        tqdm.write(line, file=self.stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
