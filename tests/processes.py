"""Finding and stopping the processes a test started, through /proc (no psutil here):
`ray start` daemonizes, and `ray stop` would stop every Ray process on the machine."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def _table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process we can read."""
    out: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold spaces
        out[int(entry.name)] = (ppid, cmd)
    return out


def matching(marks: list[str]) -> set[int]:
    """Processes whose command line holds one of ``marks``, and all their descendants."""
    table = _table()
    found = {pid for pid, (_, cmd) in table.items() if any(m in cmd for m in marks)}
    found.discard(os.getpid())
    grew = True
    while grew:
        children = {pid for pid, (ppid, _) in table.items() if ppid in found} - found
        grew = bool(children)
        found |= children
    return found


def stop(marks: list[str], timeout: float = 15.0) -> set[int]:
    """SIGTERM to those processes, SIGKILL to what is left after ``timeout``; returns the
    pids that were found."""
    pids = matching(marks)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.2)
    return pids
