"""Results that outlive the machine: a run directory mirrored to a storage URI.

On a cluster the driver's disk goes away with the cluster (a KubeRay job deletes its pods
when it ends), so ``run.storage_path`` names durable storage: ``file://`` on a shared mount,
``s3://``, ``gs://`` or anything else fsspec knows. The run directory (config, vocabulary,
metrics.jsonl, checkpoints, W&B files) is copied to ``<storage_path>/<run name>`` as it is
written: after every logged event, only the files that changed since the last copy, each
one written under a temporary name and then moved into place, so a reader never sees a
half-copied checkpoint. ``seqgan resume --run <URI>`` fetches such a mirror and continues.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError


def is_uri(text: str) -> bool:
    return "://" in text


def _filesystem(uri: str) -> tuple[Any, str]:
    """fsspec's filesystem for ``uri`` and the path inside it; a missing backend (s3fs,
    gcsfs) is the user's to install, said in one line."""
    import fsspec  # only runs that use storage need it loaded

    try:
        return fsspec.core.url_to_fs(uri)
    except (ImportError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"run.storage_path {uri!r}: {first}") from None


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


class RunMirror:
    """Copies a run directory's new and changed files to ``uri`` (see the module doc)."""

    def __init__(self, uri: str, run_dir: Path) -> None:
        self.uri, self.run_dir = uri, run_dir
        self.fs, self.root = _filesystem(uri)
        self._sent: dict[str, tuple[int, int]] = {}  # relative path -> (size, mtime_ns)
        try:
            self.fs.makedirs(self.root, exist_ok=True)
        except OSError as exc:
            raise UserError(f"run.storage_path: cannot write {uri}: {exc}") from None

    def sync(self) -> int:
        """Copies what changed since the last call; returns how many files it copied."""
        copied = 0
        for path in sorted(self.run_dir.rglob("*")):
            if not path.is_file() or path.is_symlink() or path.name.endswith(".tmp"):
                continue
            rel = path.relative_to(self.run_dir).as_posix()
            try:
                st = path.stat()
            except FileNotFoundError:  # replaced while we looked (an atomic rename)
                continue
            stamp = (st.st_size, st.st_mtime_ns)
            if self._sent.get(rel) == stamp:
                continue
            target = join(self.root, rel)
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            try:
                self.fs.put_file(str(path), target + ".tmp")
            except FileNotFoundError:  # removed while copying (W&B's own temporaries)
                continue
            self.fs.mv(target + ".tmp", target)
            self._sent[rel] = stamp
            copied += 1
        return copied

    # the run logger's Sink interface: mirror after every event and at the end
    def log(self, phase: str, step: int, metrics: dict[str, Any]) -> None:
        self.sync()

    def close(self) -> None:
        self.sync()

    def __str__(self) -> str:
        return f"storage mirror {self.uri}"


def fetch_file(uri: str, local: Path) -> None:
    fs, path = _filesystem(uri)
    if not fs.exists(path):
        raise UserError(f"{uri} not found (is it a run mirrored by run.storage_path?)")
    fs.get_file(path, str(local))


def fetch(uri: str, local_dir: Path) -> Path:
    """Copies the run directory at ``uri`` into ``local_dir`` (files there are replaced)."""
    fs, root = _filesystem(uri)
    if not fs.exists(join(root, "config.yaml")):
        raise UserError(f"{uri}: no run directory there (no config.yaml)")
    for remote in fs.find(root):
        rel = remote[len(root.rstrip("/")) + 1 :]
        if rel.endswith(".tmp"):
            continue
        dest = local_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(remote, str(dest))
    return local_dir
