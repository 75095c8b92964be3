#!/usr/bin/env bash
# Wheels the GPU machine lacks (Ray and its jsonschema stack, for gpu.sh's Ray step), made
# here, carried there. The Ray wheel (~79 MB) is over one device call's 64 MiB, so it goes
# in two halves, in two calls made back to back (the machine stays warm ~30 s):
#
#   bash benchmarks/gpu_wheels.sh            # here: .gpu-wheels-1/ and .gpu-wheels-2/ (git-ignored)
#   call 1, carry [".gpu-wheels-1"]:  cp .gpu-wheels-1/* /tmp/
#   call 2, carry [".gpu-wheels-2"]:  bash benchmarks/gpu_wheels.sh join /tmp/wheels \
#                                       && WHEELS=/tmp/wheels OUT=$OUT bash benchmarks/gpu.sh
#
# Without call 1 gpu.sh still runs; it skips the Ray step (3b) and says so. The versions
# are this checkout's .venv ones, for CPython 3.12 on manylinux x86-64 (the machine's).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = join ]; then  # on the device machine, after call 1 left half 1 in /tmp
  dest=${2:?usage: gpu_wheels.sh join DIR}
  mkdir -p "$dest"
  name=$(cat .gpu-wheels-2/ray-wheel-name)
  cat /tmp/ray-part-1 .gpu-wheels-2/ray-part-2 > "$dest/$name"
  cp .gpu-wheels-2/*.whl "$dest/"
  echo "wheels in $dest: $(ls "$dest" | tr '\n' ' ')"
  exit 0
fi
PY=${PYTHON:-.venv/bin/python}
version() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }
tmp=$(mktemp -d)
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$tmp" "ray==$(version ray)" "jsonschema==$(version jsonschema)" \
  "jsonschema-specifications==$(version jsonschema-specifications)" \
  "referencing==$(version referencing)" "rpds-py==$(version rpds-py)"
rm -rf .gpu-wheels-1 .gpu-wheels-2
mkdir -p .gpu-wheels-1 .gpu-wheels-2
ray=$(ls "$tmp"/ray-*.whl)
basename "$ray" > .gpu-wheels-2/ray-wheel-name
split -b 40M "$ray" "$tmp/part-"
[ ! -e "$tmp/part-ac" ] || { echo "gpu_wheels: $ray is over 80 MiB: two calls no longer carry it" >&2; exit 1; }
mv "$tmp/part-aa" .gpu-wheels-1/ray-part-1
mv "$tmp/part-ab" .gpu-wheels-2/ray-part-2
rm "$ray"
mv "$tmp"/*.whl .gpu-wheels-2/
rm -rf "$tmp"
du -sh .gpu-wheels-1 .gpu-wheels-2
