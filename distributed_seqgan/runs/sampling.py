"""``seqgan sample``: sequences from a run's checkpoint, as text lines or MIDI files."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..learning.sizing import check_samples
from .evaluation import generate, load_generator, render


def sample_lines(run: Path, checkpoint: str, n: int, seed: int, ids: bool) -> list[str]:
    """``n`` samples of the checkpoint, one line each: text for text tasks (``ids``:
    token ids), token ids otherwise."""
    if n < 1:
        raise UserError("-n must be >= 1")
    _, gen = load_generator(run, checkpoint)
    check_samples(n, gen.seq_len)
    return render(run, generate(gen, n, seed), ids)


def sample_midis(
    run: Path, checkpoint: str, n: int, seed: int, out: Path, step_s: float
) -> list[Path]:
    """``n`` samples of a music run's checkpoint as ``out/sample-NNNN.mid``; the paths."""
    from ..data.midi import pretty_midi_module, write_midi

    if n < 1:
        raise UserError("-n must be >= 1")
    if step_s <= 0:
        raise UserError("--step-seconds must be > 0")
    cfg, gen = load_generator(run, checkpoint)
    if cfg.task != "music":
        raise UserError(f"--midi: {run} is a {cfg.task} run; MIDI files are for music runs")
    check_samples(n, gen.seq_len)
    pretty_midi_module()  # the missing extra is named before anything is written
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--midi {out}: cannot create ({exc.strerror})") from None
    samples = generate(gen, n, seed).tolist()  # (n, T)
    width = max(4, len(str(n - 1)))
    paths = []
    for i, tokens in enumerate(samples):
        path = out / f"sample-{i:0{width}d}.mid"
        write_midi(tokens, path, step_s)
        paths.append(path)
    return paths
