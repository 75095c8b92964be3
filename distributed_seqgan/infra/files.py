"""Writing inside a run directory without following symlinks, atomically, and with one clear
error when the disk refuses.

A symlink planted in a run directory (``checkpoints/latest.pt.tmp``, ``metrics.jsonl``)
must not redirect a write outside it, so files are opened with ``O_NOFOLLOW`` and
temporary files are created exclusively after removing whatever link stood in their
place. A failed write (full disk, file-size limit) removes its temporary file, leaves the
previous version in place, and raises :class:`~distributed_seqgan.errors.DataError`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from ..errors import DataError


def _refuse_link(path: Path) -> None:
    if path.is_symlink():
        raise DataError(f"{path} is a symbolic link; refusing to write through it")


@contextlib.contextmanager
def _written(path: Path, what: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise DataError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


def write_atomic(path: Path, write: Callable[[IO[bytes]], None], what: str = "file") -> None:
    """``write(f)`` into ``<path>.tmp`` (created fresh, never through a link), then renamed
    over ``path``; on failure the temporary file is removed and ``path`` is untouched."""
    _refuse_link(path.parent)
    with _written(path.parent, "directory"):
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # a leftover, or a planted link: the link itself goes, not its target
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        with _written(path, what):
            fd = os.open(tmp, flags, 0o644)
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)  # replaces a link at path itself, never its target
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def open_append(path: Path) -> IO[str]:
    """``path`` opened for appending text, refusing a symlink in its place."""
    _refuse_link(path)
    with _written(path, "file"):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    return os.fdopen(fd, "a", encoding="utf-8")


def append_line(f: IO[str], path: Path, line: str) -> None:
    with _written(path, "file"):
        f.write(line)
        f.flush()
