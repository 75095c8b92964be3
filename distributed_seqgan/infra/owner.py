"""One process at a time per run directory.

Why: two ``seqgan resume`` of one run would both train and both write its checkpoints and
metrics.jsonl. With deterministic runs on one machine the damage hides (both write the
same bytes); with other thread counts or machines their writes interleave. The owner
holds an exclusive ``flock`` on the directory itself for as long as it runs: no lock file
to leave behind or mirror, and the kernel releases it when the process ends, however it
ends (``kill -9`` included).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import UserError


@contextlib.contextmanager
def own_run_dir(run_dir: Path) -> Iterator[None]:
    """Holds ``run_dir`` for this process; a second owner gets one line (exit 2)."""
    fd = os.open(run_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"{run_dir}: in use by another seqgan process (a train or resume of this run "
                "is still running); wait for it to end or stop it first"
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock
