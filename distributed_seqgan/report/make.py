"""``seqgan report``: the steps from run directories to a written report, in the order
that makes bad requests fail before any slow work."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import UserError
from .checkpoints import checkpoint_section
from .runs import check_versus, load_reference, load_runs
from .summary import chosen_metrics, make_out_dir, write_report


def make_report(
    run_paths: Sequence[Path], out: Path, *, label_keys: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None, references: Sequence[str] = (),
    checkpoints: bool = False, n: int | None = None, seed: int = 0, show: int = 5,
    versus: str | None = None, significance: int | None = None,
) -> list[Path]:  # fmt: skip
    """Writes the report of ``run_paths`` into ``out``; returns the files written. See
    ``seqgan report --help`` for what each argument adds."""
    runs = load_runs(list(run_paths), label_keys)
    refs = [load_reference(spec) for spec in references]
    sections = None
    if checkpoints:
        synthetic = [r.name for r in runs if r.config.get("task") == "synthetic"]
        if synthetic:
            raise UserError(f"--checkpoints: run {synthetic[0]} is synthetic (text and music only)")
        sections = {r.name: checkpoint_section(r.path, n, seed, show) for r in runs}
    chosen_metrics(runs, metrics)  # a bad --metrics fails before any slow work
    if versus is not None:
        check_versus(runs, versus)
    table = None
    if significance is not None:
        from .significance import significance_table

        if significance < 2:
            raise UserError("--significance must be >= 2")
        make_out_dir(out)
        table = significance_table(runs, significance, seed, out)
    return write_report(runs, out, metrics, sections, table, refs, versus=versus)
