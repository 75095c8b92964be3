#!/usr/bin/env bash
# The one prepared script for a lent GPU machine (one CUDA device; under 9 minutes with
# the default budgets). From the repository root:
#   bash benchmarks/gpu.sh                       # everything below, results in $OUT (or ./gpu-results)
#   PAPER_BUDGET_S=300 bash benchmarks/gpu.sh    # a longer slice of the paper schedule
#   DEVICE=cpu PYTHON=.venv/bin/python bash benchmarks/gpu.sh   # its own logic on a CPU, tiny budgets
# Steps, each written to one folder:
#   1. tests/test_cuda.py: CUDA-graph D rounds, MLE epochs, sampling and rollouts against eager
#   2. seqgan bench --device cuda: fp32 with and without CUDA graphs, bf16, D as padded
#      GEMMs (discriminator.formulation=gemm); D's formulations and the samplers
#      (benchmarks/bench_d_formulations.py, bench_sampler.py)
#   3. fast path vs eager path, event by event, on a shortened paper config (same seed);
#      3b. with Ray installed: 2 Ray workers x 0.5 GPU against local mode, events and time;
#      an iteration's D rounds with negatives drawn first vs part by part (bench_overlap.py)
#   4. the paper schedule (configs/synthetic.yaml) for PAPER_BUDGET_S, per-phase times
#      extrapolated to the whole schedule
#   5. seeds sharing the GPU: 1, 4, 8 short runs at once (seqgan sweep --parallel N)
#   6. summary.md (benchmarks/gpu_summary.py): the bench variants against the targets and the
#      paper schedule extrapolated from its measured phases
# Wheels the machine lacks (Ray and its jsonschema stack: benchmarks/gpu_wheels.sh makes and
# joins them) can be put in $WHEELS; they are installed with pip --no-index --no-deps into a
# private folder first (their other needs are in the machine's image).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
RES=${OUT:-$PWD/gpu-results}
mkdir -p "$RES"
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
log() { echo "== $(date -u +%H:%M:%S) $*" | tee -a "$RES/gpu.log"; }
"$PY" -c "import torch; print('device:', torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu', 'torch', torch.__version__, 'cuda', torch.version.cuda)" | tee "$RES/gpu.log"

log "1. CUDA tests"
if "$PY" -c "import pytest" 2>/dev/null; then
  "$PY" -m pytest -q -s -p no:cacheprovider tests/test_cuda.py 2>&1 | tee -a "$RES/gpu.log"
else
  log "pytest not installed here: put its wheels in \$WHEELS (step 1 skipped)"
fi

log "2. seqgan bench"
BENCH=(--out "$RES/benchmark-log.md")
[ "$DEVICE" = cpu ] && BENCH+=(--config configs/smoke.yaml --quick)
"${SEQGAN[@]}" bench --device "$DEVICE" "${BENCH[@]}" 2>&1 | tee -a "$RES/gpu.log"
if [ "$DEVICE" = cuda ]; then
  # the adversarial iteration only in the default run: it is 5 D rounds + one G step
  "${SEQGAN[@]}" bench --device cuda "${BENCH[@]}" --quick --set run.cuda_graphs=false 2>&1 | tee -a "$RES/gpu.log"
  "${SEQGAN[@]}" bench --device cuda "${BENCH[@]}" --quick --bf16 2>&1 | tee -a "$RES/gpu.log"
  # D as three padded GEMMs instead of 12 convolutions (AUTO_FORMULATION's CUDA entry)
  "${SEQGAN[@]}" bench --device cuda "${BENCH[@]}" --quick --set discriminator.formulation=gemm 2>&1 | tee -a "$RES/gpu.log"
fi

if [ "$DEVICE" = cuda ]; then  # D's formulations and the samplers side by side on this GPU
  "$PY" benchmarks/bench_d_formulations.py --device cuda --out "$RES/benchmark-log.md" 2>&1 | tee -a "$RES/gpu.log" \
    || log "bench_d_formulations failed"
  "$PY" benchmarks/bench_sampler.py --device cuda --out "$RES/benchmark-log.md" 2>&1 | tee -a "$RES/gpu.log" \
    || log "bench_sampler failed"
fi

log "3. fast path vs eager path, event by event"
RUNS=$(mktemp -d)
CUT=(--set schedule.mle_epochs=2 --set schedule.d_pretrain_rounds=2 --set schedule.adv_iterations=2
     --set schedule.adv_eval_every=1 --set schedule.mle_eval_every=1)
[ "$DEVICE" = cpu ] && CUT=()
for graphs in true false; do
  "${SEQGAN[@]}" train "${CFG[@]}" --set run.device="$DEVICE" --set run.out_dir="$RUNS" \
    --set run.name="graphs-$graphs" --set run.cuda_graphs=$graphs "${CUT[@]}" > "$RES/graphs-$graphs.log" 2>&1 \
    || log "graphs=$graphs run failed (see graphs-$graphs.log)"
done
"$PY" benchmarks/compare_events.py "$RUNS/graphs-true" "$RUNS/graphs-false" --out "$RES/fast-vs-eager.md" \
  | tee -a "$RES/gpu.log"

log "3b. Ray workers on this device against local mode (2 workers each)"
if "$PY" -c "import ray" 2>/dev/null; then
  GPUS=0.5; [ "$DEVICE" = cpu ] && GPUS=0
  for backend in ray local; do
    timeout 240 "${SEQGAN[@]}" train "${CFG[@]}" --set run.device="$DEVICE" --set run.out_dir="$RUNS" \
      --set run.name="pool-$backend" --set pool.backend=$backend --set pool.workers=2 \
      --set ray.gpus_per_worker=$GPUS "${CUT[@]}" > "$RES/pool-$backend.log" 2>&1 \
      || log "pool.backend=$backend run failed (see pool-$backend.log)"
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
  timeout 240 "$PY" benchmarks/bench_overlap.py --device "$DEVICE" --backend ray "${OVERLAP[@]}" \
    --out "$RES/benchmark-log.md" 2>&1 | tee -a "$RES/gpu.log" || log "bench_overlap failed"
else
  log "ray not installed here: put its wheels in \$WHEELS (step 3b skipped)"
fi

log "4. the paper schedule for ${BUDGET} s"
timeout "$BUDGET" "${SEQGAN[@]}" train "${CFG[@]}" --set run.device="$DEVICE" \
  --set run.out_dir="$RUNS" --set run.name=paper > "$RES/paper.log" 2>&1
cp "$RUNS/paper/metrics.jsonl" "$RES/paper-metrics.jsonl" 2>/dev/null

log "5. seeds sharing one device"
SEEDS_CUT=(--set schedule.mle_epochs=1 --set schedule.d_pretrain_rounds=2 --set schedule.adv_iterations=2)
[ "$DEVICE" = cpu ] && SEEDS_CUT=()
for n in "${SEEDS_N[@]}"; do
  t0=$(date +%s.%N)
  timeout 150 "${SEQGAN[@]}" sweep "${CFG[@]}" --seeds "1-$n" --parallel "$n" \
    --name "share$n" --set run.device="$DEVICE" --set run.out_dir="$RUNS" "${SEEDS_CUT[@]}" \
    > "$RES/share$n.log" 2>&1 || log "sweep of $n failed (see share$n.log)"
  t1=$(date +%s.%N)
  "$PY" - "$RUNS" "$n" "$t0" "$t1" <<'PYEOF' | tee -a "$RES/gpu.log"
import json, statistics, sys
from pathlib import Path
runs, n, t0, t1 = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
its = [e["iteration_s"] for s in range(1, n + 1) if (runs / f"share{n}-s{s}" / "metrics.jsonl").exists()
       for e in map(json.loads, open(runs / f"share{n}-s{s}" / "metrics.jsonl")) if "iteration_s" in e]
if not its:
    sys.exit(f"{n} runs at once: no adversarial iteration finished (see share{n}.log)")
med = statistics.median(its)
print(f"{n} runs at once: {t1 - t0:.1f} s wall, median adversarial iteration {med:.3f} s, "
      f"{n / (t1 - t0) * 60:.2f} runs per minute")
PYEOF
done
# at most 8 files come back from the device machine: the logs and short runs as one archive
(cd "$RES" && tar czf runs-and-logs.tgz -C "$RUNS" --exclude='*.pt' . -C "$RES" $(ls graphs-*.log pool-*.log \
  paper.log share*.log 2>/dev/null) && rm -f graphs-*.log pool-*.log paper.log share*.log)
log "6. summary: every bench variant against the targets, the schedule extrapolated"
"$PY" benchmarks/gpu_summary.py "$RES" | tee -a "$RES/gpu.log"
log "done; results in $RES (summary.md first)"
