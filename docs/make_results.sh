#!/usr/bin/env bash
# Regenerate the tables and figures of docs/results.md from run directories.
#
#   bash docs/make_results.sh [SECTION...]     # default: every section
#
# SECTION: table1 | table1_within | official | main | rollouts | poems | obama | music.
# Each section runs `seqgan report` over the run directories that section of results.md
# names (under $RUNS, default runs/; table1 and rollouts read the records kept in
# $RECORDS, default docs/runs/, so they work on a fresh checkout), writes $OUT/<section>/
# (default report/: summary.md with the tables, one CSV per run, PNGs) and copies the
# figures that results.md shows into $FIGURES (default docs/). The train commands that
# make the runs are printed next to each table in results.md. A section whose runs are
# missing is skipped with their names; the exit status is then 1. $SEQGAN is the command
# that runs seqgan (default: seqgan).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs}
RECORDS=${RECORDS:-docs/runs}
OUT=${OUT:-report}
FIGURES=${FIGURES:-docs}
SEQGAN=${SEQGAN:-seqgan}
missing=0

report() {  # SECTION RUN... -- REPORT-ARGS...
  local section=$1 runs=() args=()
  shift
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do runs+=("$1"); shift; done
  shift
  args=("$@")
  local absent=()
  for r in "${runs[@]}"; do [ -f "$RUNS/$r/metrics.jsonl" ] || absent+=("$RUNS/$r"); done
  if [ ${#absent[@]} -gt 0 ]; then
    echo "make_results: $section skipped; missing runs: ${absent[*]}" >&2
    missing=1
    return 1
  fi
  echo "== $section"
  $SEQGAN report $(for r in "${runs[@]}"; do echo --run "$RUNS/$r"; done) \
    --out "$OUT/$section" "${args[@]}" > /dev/null
  echo "$OUT/$section/summary.md"
}

table1() {
  # figures and run-level tables of every Table 1 run whose record is kept ($RECORDS: each
  # run's config.yaml + metrics.jsonl, enough for curves; results.md's statistics over all
  # five seeds come from docs/table1_finals.py and docs/table1-runs.csv)
  RUNS=$RECORDS report table1 seqgan-long-s90 seqgan-long-s91 seqgan-long-s92 \
    baseline-mle-s91 baseline-mle-s92 baseline-ss-s91 baseline-ss-s92 \
    baseline-ss_per_run-s89 baseline-ss_per_run-s90 baseline-ss_per_run-s91 \
    baseline-ss_per_run-s92 baseline-pg_bleu-s91 baseline-pg_bleu-s92 \
    -- --label algorithm,ss.coin --metrics nll_oracle,nll_test || return 0
  cp "$OUT/table1/nll_oracle.png" "$FIGURES/table1_nll_oracle.png"
  cp "$OUT/table1/nll_test.png" "$FIGURES/table1_nll_test.png"
}

table1_within() {
  # the within-run per-sample test (--significance): needs each run's final checkpoint,
  # so run directories (seeds 88-90; SeqGAN 88-89, as published), not records
  report table1_within seqgan-long-s88 seqgan-long-s89 \
    baseline-mle-s88 baseline-mle-s89 baseline-mle-s90 \
    baseline-ss-s88 baseline-ss-s89 baseline-ss-s90 \
    baseline-pg_bleu-s88 baseline-pg_bleu-s89 baseline-pg_bleu-s90 \
    -- --label algorithm --metrics nll_oracle --significance 100000 || return 0
}

official() {
  report official official-s88 -- --metrics nll_oracle \
    --reference "official log=docs/official-log.csv" || return 0
  cp "$OUT/official/nll_oracle.png" "$FIGURES/official_vs_log.png"
}

main_job() {
  report main main-cpu-s88 main-cpu-s89 main-cpu-s88-bf16 -- --metrics nll_oracle,nll_test \
    --label discriminator.bf16_train \
    || return 0
  cp "$OUT/main/nll_oracle.png" "$FIGURES/nll_oracle_cpu.png"
}

rollouts() {  # seeds 90-92, from their kept records (88-89's runs are gone)
  local runs=()
  for n in 4 16 64 256; do for s in 90 91 92; do runs+=("rollouts-n$n-s$s"); done; done
  RUNS=$RECORDS report rollouts "${runs[@]}" -- --metrics nll_oracle,nll_test \
    --versus schedule.rollout_num || return 0
  cp "$OUT/rollouts/versus.png" "$FIGURES/rollout_study.png"
}

text_task() {  # TASK METRIC-FOR-THE-FIGURE
  report "$1" "$1-cpu-s88" "$1-cpu-s1" -- --checkpoints || return 0
  cp "$OUT/$1/$2.png" "$FIGURES/$1_cpu.png"
}

sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(table1 table1_within official main rollouts poems obama music)
for s in "${sections[@]}"; do
  case $s in
    table1 | table1_within | official | rollouts) "$s" ;;
    main) main_job ;;
    poems) text_task poems bleu2 ;;
    obama) text_task obama bleu3 ;;
    music) text_task music bleu4 ;;
    *) echo "make_results: unknown section '$s' (table1 table1_within official main rollouts poems obama music)" >&2
       exit 2 ;;
  esac
done
exit $missing
