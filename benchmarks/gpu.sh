#!/usr/bin/env bash
# The one prepared script for a lent GPU machine (one CUDA device; done within DEADLINE_S,
# 540 s by default, so one 600 s device call holds it). From the repository root:
#   bash benchmarks/gpu.sh                       # everything below, results in $OUT (or ./gpu-results)
#   PAPER_BUDGET_S=300 bash benchmarks/gpu.sh    # a longer slice of the paper schedule
#   DEVICE=cpu PYTHON=.venv/bin/python bash benchmarks/gpu.sh   # its own logic on a CPU, tiny budgets
# Steps, each written to one folder, in order of what the GPU issue needs first:
#   1. tests/test_cuda.py: CUDA-graph D rounds, MLE epochs, sampling and rollouts against eager
#   2. seqgan bench --device cuda: every phase against the targets and the GPU's ceilings
#   3. fast path vs eager path, event by event, on a shortened paper config (same seed);
#      if the fast path's run fails, steps 4-6 run eagerly (run.cuda_graphs=false) and say so
#   4. the paper schedule (configs/synthetic.yaml) for PAPER_BUDGET_S, per-phase times
#      extrapolated to the whole schedule
#   5. seeds sharing the GPU: 1, 4, 8 short runs at once (seqgan sweep --parallel N)
#   6. with Ray installed: 2 Ray workers x 0.5 GPU against local mode, events and time; an
#      iteration's D rounds with negatives drawn first vs part by part (bench_overlap.py)
#   7. bench variants: CUDA graphs off, bf16, D as padded GEMMs
#      (discriminator.formulation=gemm); D's formulations and the samplers side by side
#      (benchmarks/bench_d_formulations.py, bench_sampler.py)
#   8. summary.md (benchmarks/gpu_summary.py): the bench variants against the targets, the
#      paper schedule extrapolated from its measured phases, and any step cut for time
# The whole script keeps to DEADLINE_S (default 540 s, inside one 600 s device call): each
# step runs under its own limit and under what is left of the deadline, a step with under
# 10 s left is skipped and logged, and the archive and summary always get the last 20 s.
# What comes back ($OUT, at most 8 files at any moment): gpu.log, benchmark-log.md,
# fast-vs-eager.md, ray-vs-local.md, paper-metrics.jsonl, runs-and-logs.tgz (every run
# without checkpoints, every step's log), summary.md.
# Wheels the machine lacks (Ray and its jsonschema stack: benchmarks/gpu_wheels.sh makes them
# in .gpu-wheels/, one call's worth) can be put in $WHEELS; they are installed with pip
# --no-index --no-deps into a private folder first (their other needs are in the image):
#   device call: carry [".gpu-wheels"], timeout_s 600,
#   WHEELS=.gpu-wheels OUT=$OUT SEQGAN_CODE_COMMIT=<this checkout's commit> bash benchmarks/gpu.sh
#   (the files arrive without .git: the variable names the code in each run's versions.jsonl)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
RES=${OUT:-$PWD/gpu-results}
DEADLINE_S=${DEADLINE_S:-540}
RESERVE_S=20  # the archive and the summary
mkdir -p "$RES"
RUNS=$(mktemp -d)  # run directories and every step's log; archived into $RES at the end
LOGS=$RUNS/logs
mkdir -p "$LOGS"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
if [ -n "${WHEELS:-}" ] && [ -d "$WHEELS" ]; then
  "$PY" -m pip install -q --no-index --no-deps --target /tmp/gpu-sh-site "$WHEELS"/*.whl \
    && export PYTHONPATH=$PYTHONPATH:/tmp/gpu-sh-site
fi
if [ "$DEVICE" = cuda ]; then
  if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu.sh: torch sees no CUDA device" >&2
    exit 2
  fi
  BUDGET=${PAPER_BUDGET_S:-150}; SEEDS_N=(1 4 8)
  CFG=(--config configs/synthetic.yaml)
else  # the script's logic on CPU: the smoke config, seconds each
  BUDGET=${PAPER_BUDGET_S:-20}; SEEDS_N=(1 2)
  CFG=(--config configs/smoke.yaml)
fi
SEQGAN=("$PY" -m distributed_seqgan)
exec 3>&1  # the script's own output: log lines go there and to gpu.log once, never into a pipe
log() { echo "== $(date -u +%H:%M:%S) $*" | tee -a "$RES/gpu.log" >&3; }
# within NAME LIMIT CMD...: CMD under LIMIT seconds and under what is left of the deadline;
# with under 10 s left it is skipped (status 125); the log says when either cuts it
within() {
  local name=$1 limit=$2 left
  shift 2
  left=$((DEADLINE_S - RESERVE_S - SECONDS))
  if [ "$left" -lt 10 ]; then
    log "skipped for time: $name (deadline ${DEADLINE_S} s)"
    return 125
  fi
  [ "$left" -lt "$limit" ] && limit=$left
  timeout --signal=TERM --kill-after=10 "$limit" "$@"
  local rc=$?
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then log "stopped at its limit: $name ($limit s)"; fi
  return $rc
}
"$PY" -c "import torch; print('device:', torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu', 'torch', torch.__version__, 'cuda', torch.version.cuda)" | tee "$RES/gpu.log"

log "1. CUDA tests"
if "$PY" -c "import pytest" 2>/dev/null; then
  within "CUDA tests" 150 "$PY" -m pytest -q -s -p no:cacheprovider tests/test_cuda.py 2>&1 | tee -a "$RES/gpu.log"
else
  log "pytest not installed here: put its wheels in \$WHEELS (step 1 skipped)"
fi

log "2. seqgan bench"
BENCH=(--out "$RES/benchmark-log.md")
[ "$DEVICE" = cpu ] && BENCH+=(--config configs/smoke.yaml --quick)
within "seqgan bench" 150 "${SEQGAN[@]}" bench --device "$DEVICE" "${BENCH[@]}" 2>&1 | tee -a "$RES/gpu.log"

log "3. fast path vs eager path, event by event"
CUT=(--set schedule.mle_epochs=2 --set schedule.d_pretrain_rounds=2 --set schedule.adv_iterations=2
     --set schedule.adv_eval_every=1 --set schedule.mle_eval_every=1)
[ "$DEVICE" = cpu ] && CUT=()
# 2 D rounds an iteration here (5 in the paper): the eager run's rounds take ~7 s each on an
# H200, and both runs get the same config
COMPARE_CUT=("${CUT[@]}"); [ "$DEVICE" = cuda ] && COMPARE_CUT+=(--set schedule.d_steps=2)
GRAPHS=true  # what steps 4-6 run with: eager from here if the run with graphs fails
for graphs in true false; do
  within "run with cuda_graphs=$graphs" 150 "${SEQGAN[@]}" train "${CFG[@]}" --set run.device="$DEVICE" \
    --set run.out_dir="$RUNS" --set run.name="graphs-$graphs" --set run.cuda_graphs=$graphs "${COMPARE_CUT[@]}" \
    > "$LOGS/graphs-$graphs.log" 2>&1
  rc=$?
  case $rc in
    0|125) ;;
    124|137) log "graphs=$graphs run stopped at its limit (see logs/graphs-$graphs.log)" ;;
    *) log "graphs=$graphs run failed with status $rc (see logs/graphs-$graphs.log)"
       if [ "$graphs" = true ]; then
         GRAPHS=false
         log "eager from here: steps 4-6 run with run.cuda_graphs=false; the failure: $(grep -m1 -o 'capturing .* failed' "$LOGS/graphs-true.log" || tail -n1 "$LOGS/graphs-true.log")"
       fi ;;
  esac
done
"$PY" benchmarks/compare_events.py "$RUNS/graphs-true" "$RUNS/graphs-false" --out "$RES/fast-vs-eager.md" \
  | tee -a "$RES/gpu.log"

log "4. the paper schedule for ${BUDGET} s"
within "paper schedule" "$BUDGET" "${SEQGAN[@]}" train "${CFG[@]}" --set run.device="$DEVICE" \
  --set run.out_dir="$RUNS" --set run.name=paper --set run.cuda_graphs=$GRAPHS > "$LOGS/paper.log" 2>&1
cp "$RUNS/paper/metrics.jsonl" "$RES/paper-metrics.jsonl" 2>/dev/null

log "5. seeds sharing one device"
SEEDS_CUT=(--set schedule.mle_epochs=1 --set schedule.d_pretrain_rounds=2 --set schedule.adv_iterations=2)
[ "$DEVICE" = cpu ] && SEEDS_CUT=()
for n in "${SEEDS_N[@]}"; do
  t0=$(date +%s.%N)
  within "$n seeds at once" 150 "${SEQGAN[@]}" sweep "${CFG[@]}" --seeds "1-$n" --parallel "$n" \
    --name "share$n" --set run.device="$DEVICE" --set run.out_dir="$RUNS" --set run.cuda_graphs=$GRAPHS "${SEEDS_CUT[@]}" \
    > "$LOGS/share$n.log" 2>&1
  rc=$?
  [ $rc -eq 125 ] && continue
  [ $rc -ne 0 ] && log "sweep of $n stopped or failed (see logs/share$n.log)"
  t1=$(date +%s.%N)
  "$PY" - "$RUNS" "$n" "$t0" "$t1" <<'PYEOF' | tee -a "$RES/gpu.log"
import json, statistics, sys
from pathlib import Path
runs, n, t0, t1 = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
its = [e["iteration_s"] for s in range(1, n + 1) if (runs / f"share{n}-s{s}" / "metrics.jsonl").exists()
       for e in map(json.loads, open(runs / f"share{n}-s{s}" / "metrics.jsonl")) if "iteration_s" in e]
if not its:
    sys.exit(f"{n} runs at once: no adversarial iteration finished (see logs/share{n}.log)")
med = statistics.median(its)
print(f"{n} runs at once: {t1 - t0:.1f} s wall, median adversarial iteration {med:.3f} s, "
      f"{n / (t1 - t0) * 60:.2f} runs per minute")
PYEOF
done

log "6. Ray workers on this device against local mode (2 workers each)"
if "$PY" -c "import ray" 2>/dev/null; then
  GPUS=0.5; [ "$DEVICE" = cpu ] && GPUS=0
  for backend in ray local; do
    within "pool.backend=$backend run" 150 "${SEQGAN[@]}" train "${CFG[@]}" --set run.device="$DEVICE" \
      --set run.out_dir="$RUNS" --set run.name="pool-$backend" --set pool.backend=$backend \
      --set pool.workers=2 --set ray.gpus_per_worker=$GPUS --set run.cuda_graphs=$GRAPHS "${CUT[@]}" \
      > "$LOGS/pool-$backend.log" 2>&1 \
      || [ $? -eq 125 ] || log "pool.backend=$backend run stopped or failed (see logs/pool-$backend.log)"
  done
  "$PY" benchmarks/compare_events.py "$RUNS/pool-ray" "$RUNS/pool-local" --out "$RES/ray-vs-local.md" \
    | tee -a "$RES/gpu.log"
  "$PY" - "$RUNS" <<'PYEOF' | tee -a "$RES/gpu.log"
import json, statistics, sys
from pathlib import Path
for b in ("ray", "local"):
    f = Path(sys.argv[1]) / f"pool-{b}" / "metrics.jsonl"
    its = [e["iteration_s"] for e in map(json.loads, f.open()) if "iteration_s" in e] if f.exists() else []
    print(f"pool {b}: median adversarial iteration {statistics.median(its):.3f} s" if its else f"pool {b}: no iterations")
PYEOF
  OVERLAP=(); [ "$DEVICE" = cpu ] && OVERLAP=(--config configs/smoke.yaml --set schedule.d_steps=3)
  within "bench_overlap" 120 "$PY" benchmarks/bench_overlap.py --device "$DEVICE" --backend ray "${OVERLAP[@]}" \
    --set run.cuda_graphs=$GRAPHS --out "$RES/benchmark-log.md" 2>&1 | tee -a "$RES/gpu.log"
else
  log "ray not installed here: put its wheels in \$WHEELS (step 6 skipped)"
fi

log "7. bench variants"
if [ "$DEVICE" = cuda ]; then
  # the adversarial iteration only in step 2's run: it is 5 D rounds + one G step
  within "bench, CUDA graphs off" 90 "${SEQGAN[@]}" bench --device cuda "${BENCH[@]}" --quick \
    --set run.cuda_graphs=false 2>&1 | tee -a "$RES/gpu.log"
  within "bench, bf16" 60 "${SEQGAN[@]}" bench --device cuda "${BENCH[@]}" --quick --bf16 2>&1 \
    | tee -a "$RES/gpu.log"
  # D as three padded GEMMs instead of 12 convolutions (AUTO_FORMULATION's CUDA entry)
  within "bench, D as GEMMs" 60 "${SEQGAN[@]}" bench --device cuda "${BENCH[@]}" --quick \
    --set discriminator.formulation=gemm 2>&1 | tee -a "$RES/gpu.log"
  within "bench_d_formulations" 60 "$PY" benchmarks/bench_d_formulations.py --device cuda \
    --out "$RES/benchmark-log.md" 2>&1 | tee -a "$RES/gpu.log"
  within "bench_sampler" 60 "$PY" benchmarks/bench_sampler.py --device cuda \
    --out "$RES/benchmark-log.md" 2>&1 | tee -a "$RES/gpu.log"
else
  log "the variants need CUDA (step 7 skipped on $DEVICE)"
fi

# at most 8 files come back from the device machine: the runs and the steps' logs as one archive
tar czf "$RES/runs-and-logs.tgz" -C "$RUNS" --exclude='*.pt' .
log "8. summary: every bench variant against the targets, the schedule extrapolated"
"$PY" benchmarks/gpu_summary.py "$RES" | tee -a "$RES/gpu.log"
log "done in ${SECONDS} s (deadline ${DEADLINE_S} s); results in $RES (summary.md first)"
