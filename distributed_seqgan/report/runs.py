"""A run directory as the report sees it: its config, its evaluations on one x axis, and
the config keys that tell it apart from the other runs of the report."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, changes_results, flatten, key_applies, load_run_config
from ..errors import UserError
from ..infra import provenance
from ..infra.tracking import read_metrics
from ..learning.algorithms import plan
from ..tasks import TASKS

NOT_METRICS = {"phase", "step", "eval_phase", "time_s"}
LOWER_IS_BETTER = ("nll_oracle", "nll_test", "mse")


@dataclass(frozen=True)
class EvalPoint:
    x: int  # MLE (or SS) epoch, then adversarial iteration after them; -1 before training
    phase: str  # init | mle | ss | adversarial
    step: int
    time_s: float
    metrics: dict[str, float]


@dataclass
class RunRecord:
    path: Path
    config: dict[str, Any]  # flattened: {"schedule.rollout_num": 16, ...}
    evals: list[EvalPoint]
    mle_epochs: int  # epochs before the adversarial phase (MLE or SS)
    wall_s: float  # seconds of logged work, over every process that wrote to the run
    label: str = field(default="")  # what tells it apart; set by load_runs
    reference: bool = False  # a published curve (--reference), not a run of ours
    adversarial: list[dict[str, float]] = field(default_factory=list)  # one per iteration
    unfinished: str = ""  # where a run that has not finished stands ("adversarial 132/800")
    code: str = ""  # the code that made it (versions.jsonl): "0c8e472"; '' where not recorded

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def seed(self) -> int:
        return int(self.config.get("seed", 0))

    @property
    def metric_names(self) -> list[str]:
        names: list[str] = []
        for point in self.evals:
            names += [m for m in point.metrics if m not in names]
        return names

    def series(self, metric: str) -> list[tuple[int, float]]:
        return [(p.x, p.metrics[metric]) for p in self.evals if metric in p.metrics]

    def final(self, metric: str) -> float | None:
        pts = self.series(metric)
        return pts[-1][1] if pts else None

    def best(self, metric: str) -> tuple[float, EvalPoint] | None:
        """The best value after training started (the init point is no result), for metrics
        with a direction (NLLs and MSE: lower); None for the others."""
        if metric not in LOWER_IS_BETTER:
            return None
        pts = [p for p in self.evals if metric in p.metrics and p.phase != "init"]
        if not pts:
            return None
        point = min(pts, key=lambda p: p.metrics[metric])
        return point.metrics[metric], point

    def adversarial_stats(self) -> dict[str, float]:
        """What an adversarial iteration gives and costs, over the run's iterations: the
        mean reward and reward variance, and median seconds (the median leaves out the
        iterations that also evaluate) of the G step (sampling, rollouts, update), of D
        training, and of the whole iteration."""
        its = self.adversarial
        if not its:
            return {}
        out = {"iterations": float(len(its))}
        for key in ("mean_reward", "reward_mc_var"):
            values = [it[key] for it in its if key in it]
            if values:
                out[key] = statistics.mean(values)
        timed = [it for it in its if "g_s" in it and "iteration_s" in it]
        if timed:
            out["g_s"] = statistics.median(it["g_s"] for it in timed)
            out["d_s"] = statistics.median(it["iteration_s"] - it["g_s"] for it in timed)
            out["iteration_s"] = statistics.median(it["iteration_s"] for it in timed)
        return out


def load_run(path: Path) -> RunRecord:
    """One run directory; one-line errors for what is not a finished-enough run."""
    cfg = load_run_config(path)
    if not (path / "metrics.jsonl").is_file():
        raise UserError(f"{path}: not a run directory (no metrics.jsonl)")
    config = dataclasses.asdict(cfg)  # defaults filled in
    events = read_metrics(path)
    pre = sum(1 for e in events if e["phase"] in ("mle", "ss"))
    evals = []
    for e in events:
        if e["phase"] != "eval":
            continue
        own = {"init": -1, "mle": e["step"], "ss": e["step"]}
        metrics = {k: float(v) for k, v in e.items() if k not in NOT_METRICS}
        x = own.get(e["eval_phase"], pre + e["step"])
        evals.append(EvalPoint(x, e["eval_phase"], e["step"], float(e["time_s"]), metrics))
    if not evals:
        raise UserError(f"{path}: no evaluations in metrics.jsonl yet")
    adversarial = [
        {k: float(v) for k, v in e.items() if k not in NOT_METRICS and isinstance(v, (int, float))}
        for e in events
        if e["phase"] == "adversarial"
    ]
    return RunRecord(path, flatten(config), evals, pre, _wall_time(events),
                     adversarial=adversarial, unfinished=_unfinished(cfg, events),
                     code=provenance.describe_run(path))  # fmt: skip


def _unfinished(cfg: Config, events: list[dict[str, Any]]) -> str:
    """The first phase of the run's plan with units not logged, as 'adversarial 132/800'
    ('' for a finished run): a run still going, or stopped, has latest values, not finals."""
    for phase, n in plan(cfg):
        done = len({e["step"] for e in events if e["phase"] == phase.name})
        if done < n:
            return f"{phase.name} {done}/{n}"
    return ""


def _wall_time(events: list[dict[str, Any]]) -> float:
    """Seconds of logged work: each ``seqgan resume`` starts its clock at 0 again, so the
    run's cost is the sum of each process's last time."""
    total, last = 0.0, 0.0
    for e in events:
        t = float(e.get("time_s", 0.0))
        if t < last:  # a new process
            total += last
        last = t
    return total + last


def _data_decided(run: RunRecord, key: str) -> bool:
    """A key the run's task fills in from its data (``TaskKind.data_keys``)."""
    kind = TASKS.get(str(run.config.get("task")))
    return kind is not None and key in kind.data_keys


def _label(run: RunRecord, keys: Sequence[str]) -> str:
    if not keys:
        algorithm = run.config.get("algorithm", "seqgan")
        return f"{run.config.get('task', '?')} {algorithm}"
    algorithm = str(run.config.get("algorithm", "seqgan"))
    shown = [k for k in keys if key_applies(k, algorithm)]  # no ss.coin on a SeqGAN run
    return ", ".join(f"{k}={run.config.get(k)}" for k in shown)


def load_runs(paths: Sequence[Path], label_keys: Sequence[str] | None = None) -> list[RunRecord]:
    """The runs, each labelled by the config keys in which the runs differ (seed and where
    they ran aside), or by ``label_keys`` where given (e.g. ``algorithm`` for Table 1, whose
    methods differ in many keys): runs with the same label are seeds of one experiment."""
    runs = [load_run(Path(p)) for p in paths]
    names = [r.name for r in runs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UserError(f"run {twice[0]!r} is named twice")
    if label_keys:
        missing = [(k, r.name) for k in label_keys for r in runs if k not in r.config]
        if missing:
            key, name = missing[0]
            raise UserError(f"--label: {key!r} is not a config key (of run {name})")
        for run in runs:
            run.label = _label(run, label_keys)
        return runs
    keys = sorted({k for r in runs for k in r.config})
    differ = [
        k for k in keys
        if k != "seed" and changes_results(k) and not all(_data_decided(r, k) for r in runs)
        and len({repr(r.config.get(k)) for r in runs}) > 1
    ]  # fmt: skip
    for run in runs:
        run.label = _label(run, differ)
    return runs


def load_reference(spec: str) -> RunRecord:
    """``LABEL=FILE``: a published curve as a CSV with the columns of a report's
    ``<run>.csv`` (``x,phase,step,<metric>...``; ``time_s`` optional), e.g. the official
    repository's training log."""
    label, sep, file = spec.partition("=")
    if not sep or not label or not file:
        raise UserError(f"--reference {spec!r}: expected LABEL=FILE.csv")
    path = Path(file)
    try:
        rows = [line.split(",") for line in path.read_text(encoding="utf-8").splitlines() if line]
    except OSError as exc:
        raise UserError(f"--reference {path}: cannot read ({exc.strerror})") from None
    if not rows or rows[0][:3] != ["x", "phase", "step"] or len(rows[0]) < 4:
        raise UserError(f"--reference {path}: the header must be x,phase,step,<metric>...")
    head, evals = rows[0], []
    for i, row in enumerate(rows[1:], start=2):
        try:
            cells = dict(zip(head, row, strict=True))
            metrics = {k: float(v) for k, v in cells.items()
                       if k not in ("x", "phase", "step", "time_s") and v != ""}  # fmt: skip
            point = EvalPoint(int(cells["x"]), cells["phase"], int(cells["step"]),
                              float(cells.get("time_s") or 0.0), metrics)  # fmt: skip
        except ValueError:
            raise UserError(
                f"--reference {path}:{i}: not {len(head)} numbers as the header says"
            ) from None
        evals.append(point)
    if not evals:
        raise UserError(f"--reference {path}: no rows")
    pre = max((p.x + 1 for p in evals if p.phase in ("mle", "ss")), default=0)
    return RunRecord(path, {}, evals, pre, 0.0, label=label, reference=True)


def check_versus(runs: Sequence[RunRecord], key: str) -> None:
    """``--versus KEY``: a numeric config key that takes two values or more in the runs."""
    missing = [r.name for r in runs if key not in r.config]
    if missing:
        raise UserError(f"--versus: {key!r} is not a config key (of run {missing[0]})")
    values = {r.config[key] for r in runs}
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise UserError(f"--versus: {key} is not a number in every run")
    if len(values) < 2:
        raise UserError(f"--versus: every run has {key}={values.pop()}; nothing to plot against")
