#!/usr/bin/env bash
# Wheels the GPU machine lacks (Ray and its jsonschema stack, for gpu.sh's Ray step), made
# here and carried there in the same device call that runs gpu.sh:
#
#   bash benchmarks/gpu_wheels.sh            # here: .gpu-wheels/ (git-ignored, ~43 MiB)
#   one call, carry [".gpu-wheels"]:  WHEELS=.gpu-wheels OUT=$OUT bash benchmarks/gpu.sh
#
# Ray's wheel (~76 MiB) is over what one call carries (64 MiB with the working tree), so it
# is repacked without two folders a Python driver never loads (benchmarks/slim_wheel.py:
# ray/jars/, the Java worker's, and ray/dashboard/client/, the dashboard's web page; every
# other file byte for byte the released one). Without the wheels gpu.sh still runs; it skips
# the Ray step (6) and says so. The versions are this checkout's .venv ones, for CPython
# 3.12 on manylinux x86-64 (the machine's).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DEST=.gpu-wheels
LIMIT_MIB=56  # the call's 64 MiB, less the working tree (~3 MiB) and room for it to grow
version() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$tmp" "ray==$(version ray)" "jsonschema==$(version jsonschema)" \
  "jsonschema-specifications==$(version jsonschema-specifications)" \
  "referencing==$(version referencing)" "rpds-py==$(version rpds-py)"
rm -rf "$DEST"
mkdir -p "$DEST"
"$PY" benchmarks/slim_wheel.py "$tmp"/ray-*.whl "$DEST"
rm "$tmp"/ray-*.whl
mv "$tmp"/*.whl "$DEST/"
size=$(du -sm "$DEST" | cut -f1)
ls -l "$DEST"
if [ "$size" -gt "$LIMIT_MIB" ]; then
  echo "gpu_wheels: $DEST is $size MiB, over $LIMIT_MIB: one call no longer carries it" >&2
  exit 1
fi
echo "gpu_wheels: $DEST, $size MiB: carry it in the call that runs gpu.sh"
