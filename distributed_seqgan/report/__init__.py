"""``seqgan report``: tables, curves and a markdown summary from run directories.

Everything comes from what a run wrote (``config.yaml``, ``metrics.jsonl`` and, with
``--checkpoints``, its checkpoints), so a report can be made again at any time and on any
machine that has the run directories.
"""

from .runs import RunRecord, load_runs
from .summary import write_report

__all__ = ["RunRecord", "load_runs", "write_report"]
