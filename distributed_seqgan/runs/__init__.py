"""Working with run directories after (or between) training: loading a checkpoint's
generator, scoring it, sampling from it, writing its samples as text or MIDI."""
