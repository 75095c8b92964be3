#!/usr/bin/env bash
# One entry point for people and CI. It creates (or reuses) .venv, installs what is
# needed, then runs:
#   ./run.sh main           the main job: local mode, synthetic task, configs/synthetic-cpu.yaml
#   ./run.sh test           lint + the test suite
#   ./run.sh seqgan ARGS    any seqgan command inside the environment
#
# Versions: constraints.txt pins Ray, torch and the rest, as the container image and the
# cluster files do, so a laptop, a cluster node and CI run the same ones. torch is
# installed first, at the pinned version: PyPI's Linux build of it has CUDA; on machines
# that keep a CPU wheel of it on disk (as this project's CI does) pip takes that one. To
# get PyTorch's CPU-only build elsewhere, set SEQGAN_TORCH_INDEX to its wheel index
# (https://download.pytorch.org/whl/cpu).
set -euo pipefail
cd "$(dirname "$0")"
VENV=${SEQGAN_VENV:-.venv}
PY=${PYTHON:-python3}

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "run.sh: creating $VENV" >&2
    "$PY" -m venv "$VENV"
  fi
  local vpy="$VENV/bin/python"
  local torch_spec
  torch_spec=$(grep -E '^torch==' constraints.txt)
  if ! "$vpy" -c "import torch" 2>/dev/null; then
    echo "run.sh: installing $torch_spec" >&2
    if [ -n "${SEQGAN_TORCH_INDEX:-}" ]; then
      "$vpy" -m pip install -q --extra-index-url "$SEQGAN_TORCH_INDEX" -c constraints.txt "$torch_spec"
    else
      "$vpy" -m pip install -q -c constraints.txt "$torch_spec"
    fi
  fi
  # Reinstall only when the package's metadata or the pins changed (editable: code changes
  # need none).
  local stamp="$VENV/.seqgan-installed"
  local want
  want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "run.sh: installing distributed_seqgan and its dependencies (constraints.txt)" >&2
    "$vpy" -m pip install -q -c constraints.txt -e ".[dev]"
    echo "$want" >"$stamp"
  fi
}

# Tests and the main job read the shared datasets when this checkout sits beside them.
if [ -z "${SEQGAN_DATA_DIR:-}" ] && [ -d ../shared/data ]; then
  export SEQGAN_DATA_DIR
  SEQGAN_DATA_DIR=$(cd ../shared/data && pwd)
fi

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  main)
    setup
    exec "$VENV/bin/seqgan" train --config configs/synthetic-cpu.yaml "$@"
    ;;
  test)
    setup
    "$VENV/bin/ruff" check distributed_seqgan tests benchmarks
    "$VENV/bin/ruff" format --check distributed_seqgan tests benchmarks
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  seqgan)
    setup
    exec "$VENV/bin/seqgan" "$@"
    ;;
  *)
    echo "usage: ./run.sh main | test [pytest args] | seqgan ARGS" >&2
    exit 2
    ;;
esac
