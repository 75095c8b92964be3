#!/usr/bin/env bash
# One entry point for people and CI. It creates (or reuses) .venv, installs what is
# needed, then runs:
#   ./run.sh main           the main job: local mode, synthetic task, configs/synthetic-cpu.yaml
#   ./run.sh test           lint + the test suite
#   ./run.sh seqgan ARGS    any seqgan command inside the environment
#
# torch: installed first, so the package's open `torch>=2.3` requirement is then already
# met. With an NVIDIA GPU (nvidia-smi works) the normal PyPI build is installed; without
# one, torch==2.13.0, which here is a CPU wheel on local disk. Override with
# SEQGAN_TORCH_SPEC (e.g. "torch==2.13.0") and SEQGAN_TORCH_INDEX (e.g. PyTorch's CPU
# wheel index) on other machines.
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
  if ! "$vpy" -c "import torch" 2>/dev/null; then
    local spec=${SEQGAN_TORCH_SPEC:-}
    if [ -z "$spec" ]; then
      if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        spec="torch>=2.3"
      else
        spec="torch==2.13.0"
      fi
    fi
    echo "run.sh: installing $spec" >&2
    if [ -n "${SEQGAN_TORCH_INDEX:-}" ]; then
      "$vpy" -m pip install -q --extra-index-url "$SEQGAN_TORCH_INDEX" "$spec"
    else
      "$vpy" -m pip install -q "$spec"
    fi
  fi
  # Reinstall the package only when its metadata changed (editable: code changes need none).
  local stamp="$VENV/.seqgan-installed"
  local want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "run.sh: installing distributed_seqgan and its dependencies" >&2
    "$vpy" -m pip install -q -e ".[dev]"
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
    "$VENV/bin/ruff" check distributed_seqgan tests benchmarks scripts
    "$VENV/bin/ruff" format --check distributed_seqgan tests benchmarks scripts
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
