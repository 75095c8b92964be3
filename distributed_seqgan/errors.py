"""User-facing errors.

Anything a user can cause by bad input (a config, a data directory, a sequences file)
raises :class:`UserError`. The CLI turns it into one line on stderr and exit code 2, so
users never see a traceback for their own mistakes; real bugs still show one.
"""

from __future__ import annotations


class UserError(Exception):
    """An error in the user's input, reported as one line with exit code 2."""


class ConfigError(UserError):
    """A config file or ``--set`` override that is missing, malformed or invalid."""


class DataError(UserError):
    """Missing, corrupt or malformed data (checksum mismatch, bad sequences file...)."""


class WorkerPoolError(UserError):
    """The worker pool cannot finish the work: workers keep failing past their restart
    budget. The trainer writes a checkpoint before this reaches the user."""


class Stopped(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT, SIGTERM: what Ctrl-C, `timeout`, Slurm,
    Kubernetes and `ray job stop` send). A KeyboardInterrupt, so that no library's
    ``except Exception`` swallows it; the trainer saves the state of the unit it cut short
    (``interrupted.pt``) before this reaches the user, and the CLI exits 128 + signal."""

    def __init__(self, signum: int, run_dir: object = None) -> None:
        super().__init__(signum)
        self.signum, self.run_dir = signum, run_dir
