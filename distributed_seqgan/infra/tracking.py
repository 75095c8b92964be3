"""Run logging: console progress (plain lines, or bars on a terminal: :mod:`.progress`),
``metrics.jsonl`` (one JSON object per event) and any extra sinks (W&B:
:mod:`distributed_seqgan.infra.wandb_sink`).

Each event carries ``phase`` (mle | d_pretrain | adversarial | eval...), ``step`` (the
phase's epoch/round/iteration), wall-clock seconds since the run started, and metrics.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Protocol, TextIO

from ..errors import DataError
from .files import append_line, open_append, write_atomic
from .progress import PROGRESS_LINE, PhaseBars, Progress


class Sink(Protocol):
    def log(self, phase: str, step: int, metrics: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class RunLogger:
    def __init__(
        self,
        run_dir: Path,
        stream: TextIO | None = None,
        quiet: bool = False,
        sinks: tuple[Sink, ...] = (),
        bars: bool | None = None,
        progress_every: float = 600.0,
    ) -> None:
        """``progress_every``: without bars, the seconds between progress lines (where the
        run stands in its plan, and its time left; 0: none)."""
        self.sinks = sinks
        self.path = run_dir / "metrics.jsonl"
        self._file = open_append(self.path)
        self.stream = None if quiet else (stream or sys.stdout)  # sys.stdout as of now
        # progress bars on a terminal (bars=None: when the stream is one), plain lines else
        self._bars_wanted = self.stream is not None and (
            _is_terminal(self.stream) if bars is None else bars
        )
        self.bars: PhaseBars | None = None
        self.progress: Progress | None = None  # plain lines: the position, said now and then
        self.progress_every = progress_every
        self.t0 = self._said = time.perf_counter()

    def plan(self, phases: list[tuple[str, int]]) -> None:
        """The run's phases and their units, in order: what the bars and the whole run's
        time left are made of."""
        if self._bars_wanted and self.stream is not None:
            self.bars = PhaseBars(self.stream, phases)
        elif self.stream is not None and self.progress_every > 0:
            self.progress = Progress(phases)

    def begin(self, phase: str, done: int = 0) -> None:
        """A phase of the plan starts, with ``done`` units already done (a resumed run)."""
        if self.bars is not None:
            self.bars.begin(phase, done)
        elif self.progress is not None:
            self.progress.begin(phase, done)

    def end(self) -> None:
        """The last phase ended: its bar stays on screen, finished."""
        if self.bars is not None:
            self.bars.close()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def log(self, phase: str, step: int, **metrics: Any) -> None:
        event = {"phase": phase, "step": step, "time_s": round(self.elapsed(), 3), **metrics}
        append_line(self._file, self.path, json.dumps(event) + "\n")
        for sink in self.sinks:
            sink.log(phase, step, {"time_s": event["time_s"], **metrics})
        if self.stream is None:
            return
        if self.bars is not None and phase == self.bars.phase:  # a unit of the bar's phase
            shown = [(k, v) for k, v in metrics.items() if not k.endswith("_s")][:2]
            self.bars.advance(phase, " ".join(_format(k, v) for k, v in shown))
            return
        parts = " ".join(_format(k, v) for k, v in metrics.items())
        self._print(f"[{self.elapsed():7.1f}s] {phase:<12} {step:>4}  {parts}")
        if self.progress is not None and self.progress.advance(phase):
            now = time.perf_counter()
            if now - self._said >= self.progress_every:
                self._said = now
                self.info(PROGRESS_LINE + self.progress.summary())

    def info(self, text: str) -> None:
        if self.stream is not None:
            self._print(f"[{self.elapsed():7.1f}s] {text}")

    def _print(self, line: str) -> None:
        if self.bars is not None:
            self.bars.write(line)  # above the bar
        else:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bars is not None:
            self.bars.close()
        self._file.close()
        for sink in self.sinks:
            sink.close()


def _format(key: str, value: Any) -> str:
    return f"{key}={value:.4f}" if isinstance(value, float) else f"{key}={value}"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or exotic stream
        return False


def read_metrics(run_dir: str | Path, torn_ok: bool = True) -> list[dict[str, Any]]:
    """The events of ``metrics.jsonl``. A torn last line (the write that a crash or a full
    disk cut short) is left out when ``torn_ok``; a bad line anywhere else is an error."""
    path = Path(run_dir) / "metrics.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    events = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            if not isinstance(event, dict) or "phase" not in event or "step" not in event:
                raise ValueError("not an event")
        except ValueError:
            if torn_ok and all(not rest.strip() for rest in lines[i + 1 :]):
                break  # the torn last line
            raise DataError(
                f"{path}:{i + 1}: corrupt line; resume needs every earlier line"
            ) from None
        events.append(event)
    return events


def drop_events_from(run_dir: str | Path, phase: str, step: int, phases: tuple[str, ...]) -> int:
    """Rewrites ``metrics.jsonl`` without the events of unit (phase, step) and everything
    after it in run order (``phases``), and without a torn last line, so a resumed run's log
    reads as one uninterrupted run. Returns how many events were dropped."""
    order = {p: i for i, p in enumerate(phases)}

    def after(event: dict[str, Any]) -> bool:
        ev_phase = (
            event.get("eval_phase", event["phase"]) if event["phase"] == "eval" else event["phase"]
        )
        if ev_phase not in order:
            return False
        return (order[ev_phase], event["step"]) >= (order[phase], step)

    path = Path(run_dir) / "metrics.jsonl"
    if path.is_symlink():
        raise DataError(f"{path} is a symbolic link; refusing to write through it")
    events = read_metrics(run_dir) if path.exists() else []
    kept = [e for e in events if not after(e)]
    text = "".join(json.dumps(e) + "\n" for e in kept).encode("utf-8")
    write_atomic(path, lambda f: f.write(text), "metrics")
    return len(events) - len(kept)
