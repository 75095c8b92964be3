#!/usr/bin/env bash
# Table 1's GPU rows (docs/results.md): SeqGAN at a full D schedule, one run per seed,
# the runs sharing one GPU (`seqgan sweep --parallel`), every run directory in one folder.
# From the repository root on the GPU machine:
#   bash docs/table1_gpu.sh                                         # the 2017 code: configs/synthetic.yaml
#   CONFIG=configs/synthetic-paper.yaml bash docs/table1_gpu.sh     # the paper-era code
#   DEVICE=cpu PYTHON=.venv/bin/python bash docs/table1_gpu.sh      # its own logic on a CPU (smoke config)
# Settings (environment): CONFIG; SEEDS (88-92); PARALLEL (runs at once, default every
# seed); BUDGET_S (seconds before every run is stopped, default 540: one device call);
# NAME (run names <NAME>-s<seed>, default <config>-gpu); SETS (config overrides for new
# runs, space-separated KEY=VALUE); RUNS (the run directories, default /tmp/table1-gpu:
# kept while the machine stays warm); OUT (what comes back); SEQGAN_CODE_COMMIT (the commit
# of the files sent, for each run's versions.jsonl, where they arrive without .git).
# When BUDGET_S ends, every run gets SIGTERM and saves interrupted.pt (the sweep is killed
# 30 s later if still there, so with the archive the call stays under 600 s); the same command
# again on the same machine resumes each where it stopped and skips finished ones.
# Checkpoints (~90 MB a run) stay on the machine; what comes back, in $OUT:
#   <NAME>-runs.tgz  config.yaml, metrics.jsonl, versions.jsonl and the log of every run
#   <NAME>.md        each run's state, where it is, its last and best NLL-oracle
# Exit status: 0 when the runs finished or saved their state and the table was written;
# 3 when only the table failed; otherwise the sweep's.
# Then, here: tar xzf <NAME>-runs.tgz -C runs/ and, for each finished run,
#   python docs/table1_finals.py --add "SeqGAN, full D" runs/<NAME>-s88 ...
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
if [ "$DEVICE" = cuda ]; then
  CONFIG=${CONFIG:-configs/synthetic.yaml}; SEEDS=${SEEDS:-88-92}; BUDGET_S=${BUDGET_S:-540}
else
  CONFIG=${CONFIG:-configs/smoke.yaml}; SEEDS=${SEEDS:-1-2}; BUDGET_S=${BUDGET_S:-60}
fi
NAME=${NAME:-$(basename "$CONFIG" .yaml)-gpu}
RUNS=${RUNS:-/tmp/table1-gpu}
RES=${OUT:-$PWD/table1-gpu-results}
mkdir -p "$RES" "$RUNS"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
n_seeds=$("$PY" -c "from distributed_seqgan.runs.sweep import parse_seeds as p; print(len(p('$SEEDS')))") || exit 2
PARALLEL=${PARALLEL:-$n_seeds}
SET_ARGS=()
for kv in ${SETS:-}; do SET_ARGS+=(--set "$kv"); done

echo "== $(date -u +%H:%M:%S) $CONFIG, seeds $SEEDS, $PARALLEL at once on $DEVICE, for $BUDGET_S s, in $RUNS"
timeout --signal=TERM --kill-after=30 "$BUDGET_S" "$PY" -m distributed_seqgan sweep \
  --config "$CONFIG" --seeds "$SEEDS" --parallel "$PARALLEL" --name "$NAME" --status-every 60 \
  --set run.device="$DEVICE" --set run.out_dir="$RUNS" "${SET_ARGS[@]}"
code=$?
case $code in
  0) echo "== every run finished" ;;
  124|143) echo "== budget spent: the runs saved interrupted.pt; the same command continues them" ;;
  *) echo "== the sweep exited $code (see the runs' logs)" ;;
esac

# at most 8 files come back from the device machine: the runs without checkpoints as one archive
(cd "$RUNS" && tar czf "$RES/$NAME-runs.tgz" --exclude=checkpoints "$NAME"-s*)
"$PY" - "$RUNS" "$NAME" "$RES/$NAME.md" <<'PYEOF'
import sys
from pathlib import Path

sys.path.insert(0, "docs")
from table1_finals import finals_row  # the end and best that Table 1 itself takes

from distributed_seqgan.runs.sweep import run_state

runs, name, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
lines = ["| run | state | NLL-oracle, last evaluation | best (at) | NLL-test, last | wall (s) |",
         "|---|---|---|---|---|---|"]
for d in sorted(p for p in runs.glob(f"{name}-s*") if p.is_dir()):
    try:
        r = finals_row("", d, d)
    except (IndexError, OSError):  # no evaluation yet
        lines.append(f"| `{d.name}` | {run_state(d)} | - | - | - | - |")
        continue
    lines.append(f"| `{d.name}` | {run_state(d)} | {r['end']} | {r['best']} ({r['best_at']}) | "
                 f"{r['nll_test']} | {r['wall_s']} |")
out.write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PYEOF
table=$?
if [ $table -ne 0 ]; then
  echo "== the status table failed (above); $RES/$NAME-runs.tgz has the runs"
  case $code in 0|124|143) exit 3 ;; esac
else
  echo "== results in $RES: $NAME-runs.tgz, $NAME.md"
fi
case $code in 0|124|143) exit 0 ;; *) exit "$code" ;; esac
