"""Benchmarks the hot paths at the paper configuration; appends to docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_core.py [--bf16] [--quick] [--device cuda]

The same harness as ``seqgan bench`` (distributed_seqgan/bench.py); see its --help.
"""

import sys

from distributed_seqgan.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], prog="python benchmarks/bench_core.py"))
