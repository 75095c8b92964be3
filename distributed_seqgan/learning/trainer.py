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
from .learner import Learner

PHASES = ("init", "mle", "ss", "d_pretrain", "adversarial", "done")  # in run order
Position = tuple[str, int]  # (phase, next step in it)


def first_position(cfg: Config) -> Position:
    """Where a fresh run starts: the untrained generator's evaluation (the paper's Random
    row), before any update."""
    return ("init", 0)


def first_training_position(cfg: Config) -> Position:
    """Scheduled sampling trains from scratch; the other algorithms start with MLE."""
    return ("ss", 0) if cfg.algorithm == "ss" else ("mle", 0)


class Trainer:
    def __init__(
        self, cfg: Config, learner: Learner, pool: WorkerPool, task: Task, logger: RunLogger,
        run_dir: Path,
    ) -> None:  # fmt: skip
        self.cfg, self.learner, self.pool, self.task = cfg, learner, pool, task
        self.logger, self.run_dir = logger, run_dir
        # (position, learner state at its start): what interrupted.pt holds. One attribute,
        # set in one assignment, so a signal can never find the two out of step.
        self._unit_start: tuple[Position, dict] = (first_position(cfg), learner.state_dict())
        self._published_at: int | None = None  # learner.updates at the last publish
        s = cfg.schedule
        self.n_generated = whole_batches(s.generated_num, s.batch_size)

    # ------------------------------------------------------------------ helpers
    def publish(self) -> None:
        """Sends the learner's weights to the workers, unless they already hold them."""
        if self._published_at != self.learner.updates:
            self.pool.publish(self.learner.weights())
            self._published_at = self.learner.updates

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
        drawn in one pool call: one publish, one fan-out to the workers.
        """
        self.publish()
        n = self.n_generated
        negatives = self.pool.sample(n * rounds, f"negatives/{stream}", step)  # (rounds * n, T)
        stats: dict[str, float] = {}
        for j in range(rounds):
            stats = self.learner.d_round(
                self.positives, negatives[j * n : (j + 1) * n], stream, step, j
            )
        return stats

    # ------------------------------------------------------------------ phases
    def prepare_data(self) -> None:
        """Positives (the official generate_samples(target_lstm) on the synthetic task) and
        the held-out test set, both made by the task."""
        self.positives, self.test = self.task.train, self.task.test  # (n, T) each
        self.logger.info(self.task.summary())

    def generator_epochs(
        self, phase: str, first_epoch: int, epoch: Callable[[int], dict[str, float]], title: str
    ) -> None:
        """``schedule.mle_epochs`` epochs of ``epoch`` (MLE or scheduled sampling), evaluated
        every ``mle_eval_every`` and at the end; latest.pt every ``checkpoint_every``."""
        s, log = self.cfg.schedule, self.logger
        if first_epoch < s.mle_epochs:
            log.info(title)
        log.begin(phase, first_epoch)
        for e in range(first_epoch, s.mle_epochs):
            self.start_unit(phase, e)
            t0 = time.perf_counter()
            stats = epoch(e)
            log.log(phase, e, **stats, epoch_s=time.perf_counter() - t0)
            if e % s.mle_eval_every == 0 or e == s.mle_epochs - 1:
                self.publish()
                self.evaluate(phase, e)
            if (e + 1) % s.checkpoint_every == 0 and e + 1 < s.mle_epochs:
                self.save("latest", phase, e + 1)

    def pretrain_generator(self, first_epoch: int = 0) -> None:
        def mle_epoch(_epoch: int) -> dict[str, float]:
            return {"mle_loss": self.learner.mle_epoch(self.positives)}

        title = f"MLE pretraining: {self.cfg.schedule.mle_epochs} epochs"
        self.generator_epochs("mle", first_epoch, mle_epoch, title)
        self.save("mle", "mle", self.cfg.schedule.mle_epochs)

    def scheduled_sampling(self, first_epoch: int = 0) -> None:
        """The SS baseline: the MLE schedule with scheduled-sampling epochs."""

        def ss_epoch(epoch: int) -> dict[str, float]:
            loss, eps = self.learner.ss_epoch(self.positives, epoch)
            return {"ss_loss": loss, "eps": eps}

        coin = self.cfg.ss.coin
        if coin == "per_run":  # say what the one coin means for this run
            coin += f" = {official_ss_coin(self.cfg.seed):.4f} (teacher forcing while eps > it)"
        title = f"scheduled sampling: {self.cfg.schedule.mle_epochs} epochs, coin {coin}"
        self.generator_epochs("ss", first_epoch, ss_epoch, title)

    def pretrain_discriminator(self, first_round: int = 0) -> None:
        s, log = self.cfg.schedule, self.logger
        if first_round < s.d_pretrain_rounds:
            log.info(f"D pretraining: {s.d_pretrain_rounds} rounds x {s.d_epochs} epochs")
        log.begin("d_pretrain", first_round)
        for r in range(first_round, s.d_pretrain_rounds):
            self.start_unit("d_pretrain", r)
            t0 = time.perf_counter()
            stats = self.d_training("d_pretrain", r, 1)
            log.log("d_pretrain", r, **stats, round_s=time.perf_counter() - t0)
            if (r + 1) % s.checkpoint_every == 0 and r + 1 < s.d_pretrain_rounds:
                self.save("latest", "d_pretrain", r + 1)  # the paper's 50 rounds take hours on CPU
        self.save("pretrained", "d_pretrain", s.d_pretrain_rounds)

    def adversarial_iteration(self, it: int) -> None:
        cfg, s = self.cfg, self.cfg.schedule
        t0 = time.perf_counter()
        for k in range(s.g_steps):
            step = it * s.g_steps + k
            u = uniforms((s.batch_size, cfg.generator.seq_len), cfg.seed, "adv-samples", step)
            samples = self.learner.sample(u)  # (B, T)
            self.publish()
            rewards = self.pool.rollout_rewards(samples, s.rollout_num, step)  # (B, T)
            pg_loss = self.learner.pg_step(samples, rewards)
        self.learner.update_rollout_policy()
        if it % s.adv_eval_every == 0 or it == s.adv_iterations - 1:
            self.publish()
            self.evaluate("adversarial", it)
        t_g = time.perf_counter() - t0
        stats = self.d_training("adversarial", it, s.d_steps) if s.d_steps else {}
        var = self.pool.reward_variance  # of the last G step's Monte-Carlo estimate
        self.logger.log(
            "adversarial", it, pg_loss=pg_loss, mean_reward=rewards.mean().item(),
            **({} if var is None else {"reward_mc_var": var}), **stats,
            g_s=t_g, iteration_s=time.perf_counter() - t0, **self.pool.stats,
        )  # fmt: skip

    def adversarial_training(self, first_iteration: int = 0) -> None:
        s = self.cfg.schedule
        reward = "BLEU-3" if self.cfg.algorithm == "pg_bleu" else "D"
        self.logger.info(
            f"adversarial training: {s.adv_iterations} iterations, {s.rollout_num} rollouts, "
            f"{reward} rewards"
        )
        if self.cfg.algorithm == "pg_bleu" and s.rollout_num != 1:
            self.logger.info(f"note: the official PG-BLEU uses 1 rollout, this run {s.rollout_num}")
        self.logger.begin("adversarial", first_iteration)
        if first_iteration == 0:  # a run resumed later keeps its saved rollout policy
            self.learner.reset_rollout_policy()
        for it in range(first_iteration, s.adv_iterations):
            self.start_unit("adversarial", it)
            self.adversarial_iteration(it)
            if (it + 1) % s.checkpoint_every == 0:
                self.save("latest", "adversarial", it + 1)
        self.save("latest", "done", s.adv_iterations)

    def run(self, start: Position | None = None) -> None:
        """Algorithm 1 (see the module docstring), from ``start`` (a checkpoint's position)
        on. If the pool gives up (workers failing past their restart budget) or a signal
        stops the run, writes the state at the start of the unfinished unit to
        ``checkpoints/interrupted.pt``, with that unit's position, and re-raises."""
        start = first_position(self.cfg) if start is None else start
        if start[0] not in PHASES:
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

    def plan(self) -> list[tuple[str, int]]:
        """The phases this run's algorithm goes through and their units (progress bars)."""
        s, algorithm = self.cfg.schedule, self.cfg.algorithm
        if algorithm in ("ss", "mle"):
            return [(algorithm, s.mle_epochs)]
        return [("mle", s.mle_epochs), ("d_pretrain", s.d_pretrain_rounds),
                ("adversarial", s.adv_iterations)]  # fmt: skip

    def _run(self, phase: str, step: int) -> None:
        self.logger.plan(self.plan())
        self.prepare_data()
        if phase == "init":  # the paper's Random row: G before any update
            self.publish()
            self.evaluate("init", 0)
            phase, step = first_training_position(self.cfg)
        self._train(phase, step)
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

    def _train(self, phase: str, step: int) -> None:
        algorithm = self.cfg.algorithm
        if algorithm == "ss":  # a baseline: generator training only
            if phase == "ss":
                self.scheduled_sampling(step)
            self.save("latest", "done", 0)
            return
        if phase == "mle":
            self.pretrain_generator(step)
            if algorithm == "mle":  # the MLE baseline stops here
                self.save("latest", "done", 0)
                return
            phase, step = "d_pretrain", 0
        if phase == "d_pretrain":
            self.pretrain_discriminator(step)
            phase, step = "adversarial", 0
        if phase == "adversarial":
            self.adversarial_training(step)
