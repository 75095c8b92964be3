"""Music-task samples as MIDI files you can play (``seqgan sample --midi``).

A sample is one pitch token per time step: 0 is a rest, k in 1..88 is piano key k, i.e.
MIDI note 20 + k (key 1 = A0 = MIDI 21, key 88 = C8 = MIDI 108). Equal tokens on adjacent
steps are one held note, as in the piano roll the melody came from (a roll cannot show a
re-struck note). The Nottingham ``.mat`` rolls do not store their time step; the default
here, 0.25 s per step (an eighth note at 120 beats per minute), plays the tunes at a
natural folk-dance pace. Notes are on an acoustic grand piano at velocity 100.

pretty-midi is an optional extra: ``pip install 'distributed_seqgan[music]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UserError
from .music import NUM_KEYS, REST

MIDI_OFFSET = 20  # key k (1..88) -> MIDI note 20 + k
STEP_SECONDS = 0.25  # an eighth note at 120 bpm
TEMPO_BPM = 120.0
VELOCITY = 100
PROGRAM = 0  # General MIDI: acoustic grand piano


def pretty_midi_module() -> Any:
    """pretty_midi, or a one-line error naming the extra that installs it."""
    try:
        import pretty_midi
    except ImportError:
        raise UserError(
            "--midi needs pretty-midi, which is not installed: "
            "pip install 'distributed_seqgan[music]'"
        ) from None
    return pretty_midi


def notes(tokens: Sequence[int]) -> list[tuple[int, int, int]]:
    """(token, first step, steps held) of each note: runs of one non-rest token."""
    out: list[tuple[int, int, int]] = []
    step = 0
    while step < len(tokens):
        token, start = int(tokens[step]), step
        while step < len(tokens) and int(tokens[step]) == token:
            step += 1
        if token != REST:
            if not 1 <= token <= NUM_KEYS:
                raise ValueError(f"token {token} is not a piano key (1..{NUM_KEYS}) or a rest")
            out.append((token, start, step - start))
    return out


def write_midi(tokens: Sequence[int], path: Path, step_s: float = STEP_SECONDS) -> None:
    """One sample (T,) of pitch tokens as a one-track MIDI file."""
    pm = pretty_midi_module()
    song = pm.PrettyMIDI(initial_tempo=TEMPO_BPM)
    piano = pm.Instrument(program=PROGRAM)
    for token, start, held in notes(tokens):
        piano.notes.append(pm.Note(velocity=VELOCITY, pitch=MIDI_OFFSET + token,
                                   start=start * step_s, end=(start + held) * step_s))  # fmt: skip
    song.instruments.append(piano)
    song.write(str(path))


def read_midi(path: Path, steps: int, step_s: float = STEP_SECONDS) -> list[int]:
    """The pitch token sounding in the middle of each of ``steps`` steps (0 where none): the
    inverse of :func:`write_midi` (trailing rests are not in a MIDI file, hence ``steps``)."""
    pm = pretty_midi_module()
    song = pm.PrettyMIDI(str(path))
    found = [n for inst in song.instruments for n in inst.notes]
    tokens = []
    for step in range(steps):
        t = (step + 0.5) * step_s
        sounding = [n.pitch - MIDI_OFFSET for n in found if n.start <= t < n.end]
        tokens.append(max(sounding, default=REST))  # the melody: the highest key
    return tokens
