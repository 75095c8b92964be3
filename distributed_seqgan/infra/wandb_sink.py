"""Weights & Biases tracking: the run logger's events mirrored to a W&B run.

Only the learner logs (workers never touch W&B). Each phase counts its own steps (MLE
epochs, D rounds, adversarial iterations), so every phase gets its own x axis:
``<phase>/step`` is declared as the step metric of ``<phase>/*``. Evaluations go under
``eval/<eval phase>/`` (``eval/mle/bleu2``, ``eval/adversarial/nll_oracle``...).

wandb is imported only when a run asks for it (``wandb.enabled: true``). ``wandb.mode``
(or ``WANDB_MODE``) ``offline`` writes the run under the run directory for a later
``wandb sync``, with no login.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import Config, WandbConfig, to_dict
from ..errors import UserError


class WandbSink:
    def __init__(self, cfg: Config, run_dir: Path) -> None:
        import wandb  # only here: runs without W&B never import it

        w: WandbConfig = cfg.wandb
        self._declared: set[str] = set()
        id_file = run_dir / "wandb-run-id"  # a resumed run continues its W&B run
        run_id = id_file.read_text().strip() if id_file.is_file() else None
        try:
            self.run = wandb.init(
                project=w.project, entity=w.entity, group=w.group, tags=list(w.tags) or None,
                name=run_dir.name, dir=str(run_dir), config=to_dict(cfg), mode=w.mode,
                job_type=cfg.task, id=run_id, resume="allow" if run_id else None,
            )  # fmt: skip
        except Exception as exc:  # wandb raises its own types for login, network, settings
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(
                f"W&B could not start a run ({first}); run `wandb login`, or set "
                "wandb.mode=offline (sync later), or wandb.enabled=false"
            ) from None
        id_file.write_text(self.run.id + "\n")

    def log(self, phase: str, step: int, metrics: dict[str, Any]) -> None:
        prefix = phase if phase != "eval" else f"eval/{metrics.get('eval_phase', 'eval')}"
        if prefix not in self._declared:
            self.run.define_metric(f"{prefix}/step")
            self.run.define_metric(f"{prefix}/*", step_metric=f"{prefix}/step")
            self._declared.add(prefix)
        row = {f"{prefix}/{k}": v for k, v in metrics.items() if isinstance(v, (int, float))}
        self.run.log({f"{prefix}/step": step, **row})

    @property
    def path(self) -> Path:
        """The W&B run's directory (under the run directory)."""
        return Path(self.run.dir).parent

    def __str__(self) -> str:
        return f"W&B run {self.run.id} ({self.run.settings.mode}) in {self.path}"

    def close(self) -> None:
        self.run.finish()
