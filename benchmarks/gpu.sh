#!/usr/bin/env bash
# The benchmark harness, D's formulations and the samplers on one CUDA GPU, plus the wall
# time of the full paper schedule.
# Prepared as one short script for a lent GPU machine (well under 10 minutes with the
# default budget). Usage, from the repository root:
#   bash benchmarks/gpu.sh                 # harness fp32 + bf16, then the paper schedule
#   PAPER_BUDGET_S=300 bash benchmarks/gpu.sh
# Appends to docs/benchmark-log.md and prints the schedule timing; with $OUT set
# (the device tool), copies logs there too.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu.sh: torch sees no CUDA device" >&2
  exit 2
fi
"$PY" -m pip install -q --no-deps -e . 2>/dev/null || true
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
"$PY" -c "import torch; print('device:', torch.cuda.get_device_name(), 'torch', torch.__version__)"
"$PY" -m distributed_seqgan bench --device cuda
"$PY" -m distributed_seqgan bench --device cuda --bf16
# D's formulations and the samplers side by side on this GPU (the model's choices were
# measured on CPU). Not fatal: the paper schedule below still runs if one of them fails.
"$PY" benchmarks/bench_d_formulations.py --device cuda || echo "gpu.sh: bench_d_formulations failed" >&2
"$PY" benchmarks/bench_sampler.py --device cuda || echo "gpu.sh: bench_sampler failed" >&2
# The full paper schedule (configs/synthetic.yaml) on one GPU. Run it for PAPER_BUDGET_S
# seconds and extrapolate from metrics.jsonl: every phase is logged with its wall time.
BUDGET=${PAPER_BUDGET_S:-240}
RUN=$(mktemp -d)
timeout "$BUDGET" "$PY" -m distributed_seqgan train --config configs/synthetic.yaml \
  --set run.device=cuda --set run.out_dir="$RUN" --set run.name=paper || true
"$PY" - "$RUN/paper/metrics.jsonl" <<'PYEOF'
import json, sys, statistics
ev = [json.loads(l) for l in open(sys.argv[1])]
by = lambda p, k: [e[k] for e in ev if e["phase"] == p and k in e]
mle, dpre, adv = by("mle", "epoch_s"), by("d_pretrain", "round_s"), by("adversarial", "iteration_s")
est = 0.0
for name, xs, n in (("MLE epoch", mle, 120), ("D pretrain round (1 x 3 epochs)", dpre, 50), ("adversarial iteration", adv, 200)):
    if xs:
        m = statistics.median(xs)
        est += m * n
        print(f"{name}: median {m:.2f} s over {len(xs)} -> x{n} = {m * n / 60:.1f} min")
print(f"paper schedule estimate (phases measured so far): {est / 60:.1f} min")
PYEOF
if [ -n "${OUT:-}" ]; then cp docs/benchmark-log.md "$OUT/benchmark-log.md"; cp "$RUN/paper/metrics.jsonl" "$OUT/" 2>/dev/null || true; fi
