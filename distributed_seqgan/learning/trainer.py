"""SeqGAN's Algorithm 1, in the official code's order. The same loop for every backend and
every task: it sees a :class:`~distributed_seqgan.acting.pool.WorkerPool`, never how the
pool runs its work, and a :class:`~distributed_seqgan.tasks.Task`, never where the data came
from.

    positives <- the task's training set      # synthetic: generate_samples(target_lstm)
    pretrain G by MLE; evaluate every mle_eval_every epochs
    repeat d_pretrain_rounds: negatives <- G; train D d_epochs on pos + neg
    repeat adv_iterations:
        repeat g_steps: Y <- G; Q <- MC rollout rewards(Y); policy-gradient step on G
        rollout policy <- update (no-op for ``same``)
        evaluate every adv_eval_every iterations and at the end
        repeat d_steps: negatives <- G; train D d_epochs on pos + neg

Which phases run, in which order, is the algorithm's plan (``algorithms.py``): MLE, D
pretraining and adversarial training for SeqGAN and PG-BLEU, one phase for the MLE and
scheduled-sampling baselines. The trainer runs one loop over the plan.

Resuming: every unit of work (an MLE epoch, a D pretraining round, an adversarial
iteration) starts from a position (phase, step), and all randomness is keyed by position,
so a run restarted at a unit's start from that unit's state repeats it exactly. Each
checkpoint records the position to continue from; if the pool gives up mid-unit, the
state at the unit's start (an in-memory copy per unit; its cost is in docs/benchmarks.md)
is what goes into ``interrupted.pt``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path

from ..acting.pool import WorkerPool
from ..config import Config
from ..errors import WorkerPoolError
from ..infra import checkpoint
from ..infra.tracking import RunLogger, read_metrics
from ..seeding import official_ss_coin, uniforms
from ..tasks import Task, whole_batches
from .algorithms import POSITIONS, START, Phase, Position, algorithm_of, done_step, plan
from .learner import Learner


class Trainer:
    def __init__(
        self, cfg: Config, learner: Learner, pool: WorkerPool, task: Task, logger: RunLogger,
        run_dir: Path,
    ) -> None:  # fmt: skip
        self.cfg, self.learner, self.pool, self.task = cfg, learner, pool, task
        self.logger, self.run_dir = logger, run_dir
        self.algorithm = algorithm_of(cfg)
        # (position, learner state at its start): what interrupted.pt holds. One attribute,
        # set in one assignment, so a signal can never find the two out of step.
        self._unit_start: tuple[Position, dict] = (START, learner.state_dict())
        s = cfg.schedule
        self.n_generated = whole_batches(s.generated_num, s.batch_size)
        self.positives = task.train  # (n, T): the official generate_samples(target_lstm)
        # one unit of each phase: an epoch, a D round, an adversarial iteration
        self.units: dict[str, Callable[[int], None]] = {
            "mle": self.mle_epoch, "ss": self.ss_epoch,
            "d_pretrain": self.d_pretrain_round, "adversarial": self.adversarial_iteration,
        }  # fmt: skip

    # ------------------------------------------------------------------ helpers
    def publish(self) -> None:
        """Sends the learner's weights to the workers, unless they hold that version."""
        if self.pool.version != self.learner.updates:
            self.pool.publish(self.learner.weights())

    def evaluate(self, phase: str, step: int) -> None:
        """The task's metrics on fresh G samples (drawn by the workers): NLL-oracle and
        NLL-test on the synthetic task; BLEU, self-BLEU and NLL-test on text and music."""
        n = self.task.eval_samples(self.n_generated)  # only what the metrics score
        samples = self.pool.sample(n, f"eval/{phase}", step)  # (n, T)
        metrics = self.task.evaluate(samples, self.learner.generator)
        self.logger.log("eval", step, eval_phase=phase, **metrics)

    def save(self, name: str, phase: str, step: int) -> None:
        """Checkpoint ``name`` of the current state; a resumed run continues at (phase, step)."""
        state = {"phase": phase, "step": step, "learner": self.learner.state_dict()}
        checkpoint.save(self.run_dir / "checkpoints" / f"{name}.pt", state)

    def start_unit(self, phase: str, step: int) -> None:
        """Marks the start of a unit of work: where ``interrupted.pt`` resumes from."""
        state = copy.deepcopy(self.learner.state_dict())
        self._unit_start = ((phase, step), state)

    def d_training(self, stream: str, step: int, rounds: int) -> dict[str, float]:
        """``rounds`` x (fresh negatives from G, ``d_epochs`` on pos + neg); last round's stats.

        All negatives come from the same G (D training does not change G), so they are
        asked for at once: one publish, one fan-out, and workers that run apart from the
        learner draw round j+1's while D trains on round j's.
        """
        self.publish()
        parts = self.pool.sample_parts(self.n_generated, rounds, f"negatives/{stream}", step)
        stats: dict[str, float] = {}
        for j, negatives in enumerate(parts):  # (n, T) each
            stats = self.learner.d_round(self.positives, negatives, stream, step, j)
        return stats

    # ------------------------------------------------------------------ units
    def _generator_epoch(self, phase: str, e: int, stats: Callable[[], dict[str, float]]) -> None:
        """An MLE or SS epoch, evaluated every ``mle_eval_every`` and at the end."""
        s = self.cfg.schedule
        t0 = time.perf_counter()
        values = stats()
        self.logger.log(phase, e, **values, epoch_s=time.perf_counter() - t0)
        if e % s.mle_eval_every == 0 or e == s.mle_epochs - 1:
            self.publish()
            self.evaluate(phase, e)

    def mle_epoch(self, e: int) -> None:
        self._generator_epoch(
            "mle", e, lambda: {"mle_loss": self.learner.mle_epoch(self.positives)}
        )

    def ss_epoch(self, e: int) -> None:
        def stats() -> dict[str, float]:
            loss, eps = self.learner.ss_epoch(self.positives, e)
            return {"ss_loss": loss, "eps": eps}

        self._generator_epoch("ss", e, stats)

    def d_pretrain_round(self, r: int) -> None:
        t0 = time.perf_counter()
        stats = self.d_training("d_pretrain", r, 1)
        self.logger.log("d_pretrain", r, **stats, round_s=time.perf_counter() - t0)

    def adversarial_iteration(self, it: int) -> None:
        cfg, s = self.cfg, self.cfg.schedule
        t0 = time.perf_counter()
        for k in range(s.g_steps):
            step = it * s.g_steps + k
            u = uniforms((s.batch_size, cfg.generator.seq_len), cfg.seed, "adv-samples", step)
            samples = self.learner.sample(u)  # (B, T)
            self.publish()
            result = self.pool.rollout_rewards(samples, s.rollout_num, step)
            pg_loss = self.learner.pg_step(samples, result.rewards)
        self.learner.update_rollout_policy()
        if it % s.adv_eval_every == 0 or it == s.adv_iterations - 1:
            self.publish()
            self.evaluate("adversarial", it)
        t_g = time.perf_counter() - t0
        stats = self.d_training("adversarial", it, s.d_steps) if s.d_steps else {}
        var = result.mc_variance  # of the last G step's Monte-Carlo estimate
        self.logger.log(
            "adversarial", it, pg_loss=pg_loss, mean_reward=result.rewards.mean().item(),
            **({} if var is None else {"reward_mc_var": var}), **stats,
            g_s=t_g, iteration_s=time.perf_counter() - t0, **result.stats,
        )  # fmt: skip

    # ------------------------------------------------------------------ phases
    def begin_phase(self, phase: str, first: int, n: int) -> None:
        """What a phase says when it starts (and, for the adversarial phase, the rollout
        policy's start: a copy of the pretrained G, unless a resumed run saved its own)."""
        s, log = self.cfg.schedule, self.logger
        if phase == "adversarial":
            reward = "BLEU-3" if self.algorithm.reward == "bleu" else "D"
            log.info(f"adversarial training: {n} iterations, {s.rollout_num} rollouts, "
                     f"{reward} rewards")  # fmt: skip
            if self.algorithm.reward == "bleu" and s.rollout_num != 1:
                log.info(f"note: the official PG-BLEU uses 1 rollout, this run {s.rollout_num}")
        elif first < n:
            coin = self.cfg.ss.coin
            if coin == "per_run":  # say what the one coin means for this run
                coin += f" = {official_ss_coin(self.cfg.seed):.4f} (teacher forcing while eps > it)"
            log.info({
                "mle": f"MLE pretraining: {n} epochs",
                "ss": f"scheduled sampling: {n} epochs, coin {coin}",
                "d_pretrain": f"D pretraining: {n} rounds x {s.d_epochs} epochs",
            }[phase])  # fmt: skip
        log.begin(phase, first)
        if phase == "adversarial" and first == 0:
            self.learner.reset_rollout_policy()

    def run_phase(self, phase: Phase, first: int) -> None:
        """Units ``first``.. of ``phase``; latest.pt every ``checkpoint_every`` units, and
        the phase's own checkpoint at its end."""
        n = phase.units(self.cfg.schedule)
        self.begin_phase(phase.name, first, n)
        for i in range(first, n):
            self.start_unit(phase.name, i)
            self.units[phase.name](i)
            if (i + 1) % self.cfg.schedule.checkpoint_every == 0 and i + 1 < n:
                self.save("latest", phase.name, i + 1)
        if phase.checkpoint is not None:
            self.save(phase.checkpoint, phase.name, n)

    def run(self, start: Position = START) -> None:
        """Algorithm 1 (see the module docstring), from ``start`` (a checkpoint's position)
        on. If the pool gives up (workers failing past their restart budget) or a signal
        stops the run, writes the state at the start of the unfinished unit to
        ``checkpoints/interrupted.pt``, with that unit's position, and re-raises."""
        if start[0] not in POSITIONS:
            raise ValueError(f"unknown phase {start[0]!r}")
        try:
            self._run(*start)
        except (WorkerPoolError, KeyboardInterrupt) as exc:  # KeyboardInterrupt: also Stopped
            path = self.run_dir / "checkpoints" / "interrupted.pt"
            (phase, step), learner_state = self._unit_start
            state = {"phase": phase, "step": step, "learner": learner_state}
            checkpoint.save(path, state)
            why = "a signal" if isinstance(exc, KeyboardInterrupt) else exc
            self.logger.info(f"stopped by {why}; checkpoint {path} (resumes at {phase} {step})")
            raise

    def _run(self, phase: str, step: int) -> None:
        phases = plan(self.cfg)
        self.logger.plan([(p.name, n) for p, n in phases])
        self.logger.info(self.task.summary())
        if phase == "init":  # the paper's Random row: G before any update
            self.publish()
            self.evaluate("init", 0)
            phase, step = phases[0][0].name, 0
        names = [p.name for p, _ in phases]
        if phase in names:
            for p, _ in phases[names.index(phase) :]:
                self.run_phase(p, step if p.name == phase else 0)
            self.save("latest", "done", done_step(self.cfg))
        self.logger.end()
        self.logger.info("done")
        self.report_best()

    def report_best(self) -> None:
        """The final and the best NLL-oracle of the run so far (the official baselines
        report the best), from metrics.jsonl, so a resumed run counts its earlier part."""
        evals = [e for e in read_metrics(self.run_dir) if "nll_oracle" in e]
        if evals:
            best = min(evals, key=lambda e: e["nll_oracle"])
            self.logger.info(
                f"NLL-oracle: final {evals[-1]['nll_oracle']:.4f}, best {best['nll_oracle']:.4f} "
                f"({best['eval_phase']} {best['step']})"
            )
