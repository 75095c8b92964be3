"""Music you can hear: samples written as MIDI files parse back to the sampled pitches and
rests, through the command a user runs; clear errors for other runs and a missing extra."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from distributed_seqgan.config import load_config
from distributed_seqgan.data.midi import MIDI_OFFSET, notes, read_midi, write_midi
from distributed_seqgan.runner import train

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "configs" / "smoke.yaml"


def seqgan(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "distributed_seqgan", *args], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=300)  # fmt: skip


def test_round_trip_keeps_pitches_rests_and_held_notes(tmp_path):
    rng = random.Random(0)
    for i in range(20):
        tokens = [rng.choice([0, 0, rng.randint(1, 88)]) for _ in range(rng.randint(1, 40))]
        tokens += [tokens[-1]] * rng.randint(0, 3)  # a held note (or trailing rests)
        path = tmp_path / f"{i}.mid"
        write_midi(tokens, path, step_s=0.2)
        assert read_midi(path, len(tokens), step_s=0.2) == tokens
    assert notes([0, 40, 40, 0, 88, 1]) == [(40, 1, 2), (88, 4, 1), (1, 5, 1)]
    with pytest.raises(ValueError, match="not a piano key"):
        notes([89])


def test_held_notes_are_one_midi_note_at_the_documented_pitch_and_time(tmp_path):
    import pretty_midi

    write_midi([0, 40, 40, 40, 3], tmp_path / "a.mid")  # 0.25 s per step by default
    (piano,) = pretty_midi.PrettyMIDI(str(tmp_path / "a.mid")).instruments
    got = [(n.pitch, round(n.start, 3), round(n.end, 3)) for n in piano.notes]
    assert got == [(MIDI_OFFSET + 40, 0.25, 1.0), (MIDI_OFFSET + 3, 1.0, 1.25)]


@pytest.fixture(scope="module")
def music_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    cfg = load_config(SMOKE, ["task=music", "data.corpus=nottingham-mat", "data.max_lines=6",
                              "generator.seq_len=16", "eval.bleu_samples=32",
                              "eval.self_bleu_samples=16", "pool.workers=1",
                              f"run.out_dir={out}", "run.name=m"])  # fmt: skip
    return train(cfg, quiet=True)


def test_seqgan_sample_midi_writes_the_sampled_tokens(music_run, tmp_path):
    res = seqgan("sample", "--run", str(music_run), "-n", "5", "--midi", str(tmp_path / "mid"))
    assert res.returncode == 0, res.stderr
    files = [Path(line) for line in res.stdout.splitlines()]
    assert [f.name for f in files] == [f"sample-{i:04d}.mid" for i in range(5)]
    ids = seqgan("sample", "--run", str(music_run), "-n", "5").stdout.splitlines()
    for f, row in zip(files, ids, strict=True):
        assert read_midi(f, 16) == [int(t) for t in row.split()]  # same seed, same samples
    assert any(notes([int(t) for t in row.split()]) for row in ids)  # not all rests


def test_midi_errors_are_one_line(music_run, tmp_path):
    smoke = train(load_config(SMOKE, [f"run.out_dir={tmp_path}", "run.name=s",
                                      "pool.workers=1"]), quiet=True)  # fmt: skip
    res = seqgan("sample", "--run", str(smoke), "--midi", str(tmp_path / "x"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "is a synthetic run; MIDI files are for music runs" in res.stderr
    # without the extra: a pretty_midi that cannot be imported shadows the installed one
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "pretty_midi.py").write_text("raise ImportError('blocked for the test')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")])}
    res = seqgan("sample", "--run", str(music_run), "--midi", str(tmp_path / "y"), env=env)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "pip install 'distributed_seqgan[music]'" in res.stderr
    assert not (tmp_path / "y").exists()  # nothing written
    res = seqgan("sample", "--run", str(music_run), "--midi", str(tmp_path / "z"),
                 "--step-seconds", "0")  # fmt: skip
    assert res.returncode == 2 and "--step-seconds must be > 0" in res.stderr
