"""The benchmark toolkit: the harness behind ``seqgan bench`` (``harness``), FLOPs counted
by hand (``flops``), and what every benchmark shares (``common``: timing, ceilings, the
device label, the table writer). Imported only by the CLI's ``bench`` command and the
scripts in ``benchmarks/``; training never imports it."""
