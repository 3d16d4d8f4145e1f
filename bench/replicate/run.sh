#!/usr/bin/env bash
# The FLYP paper's experiment in miniature (docs/results.md), through
# flyp-worker on Fashion-MNIST:
#   1. a broad, styled, captioned pretraining set (make_styled_set) and a tiny
#      CLIP pretrained on it (method pretrain, csv_caption);
#   2. a learning-rate grid per method on seed 0, scored on ID validation only;
#   3. zeroshot, lp, ft, l2sp, lpft, flyp (and flyp with same-class masking)
#      over seeds at the chosen learning rates, each with a WiSE-FT sweep;
#   4. few-shot runs (k in {4,16,32}) of zeroshot, lp, ft, flyp;
#   5. tables (mean ± std over seeds) and the alpha-curve SVG
#      (replicate_tables), with checks on the numbers.
#
# usage: run.sh [--quick] [--out DIR]   (default DIR: build-repl/replicate[-quick]; rerunning resumes)
# Binaries: $FLYP_WORKER, $FLYP_MAKE_STYLED_SET, $FLYP_REPLICATE_TABLES
# (CTest sets them); defaults: build/bin/flyp-worker and the tools in
# build-repl/bin. Knobs (env): SEEDS, LR_GRID, FT_STEPS, FEW_STEPS,
# PRE_COUNT, PRE_EPOCHS, N_VAL, N_TEST, ALPHAS, FEW_ALPHAS, FEW_K, FEW_SEEDS, METHODS,
# JOBS (concurrent runs), FLYP_THREADS (threads per run).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
QUICK=0
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "run.sh: unknown argument $1 (usage: run.sh [--quick] [--out DIR])" >&2; exit 2 ;;
  esac
done
WORKER="${FLYP_WORKER:-$ROOT/build/bin/flyp-worker}"
STYLED="${FLYP_MAKE_STYLED_SET:-$ROOT/build-repl/bin/flyp_make_styled_set}"
TABLES="${FLYP_REPLICATE_TABLES:-$ROOT/build-repl/bin/flyp_replicate_tables}"
for b in "$WORKER" "$STYLED" "$TABLES"; do
  [[ -x "$b" ]] || { echo "run.sh: missing binary $b (set FLYP_WORKER / FLYP_MAKE_STYLED_SET / FLYP_REPLICATE_TABLES)" >&2; exit 2; }
done
export FLYP_THREADS="${FLYP_THREADS:-2}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

if [[ $QUICK == 1 ]]; then
  OUT="${OUT:-$ROOT/build-repl/replicate-quick}"
  SEEDS="${SEEDS:-0}"            # one seed
  LR_GRID="${LR_GRID:-}"          # no grid: fixed learning rates below
  PRE_COUNT="${PRE_COUNT:-12000}"; PRE_EPOCHS="${PRE_EPOCHS:-1}"
  FT_COUNT="${FT_COUNT:-4000}";  FT_STEPS="${FT_STEPS:-20}"; FEW_STEPS="${FEW_STEPS:-10}"
  N_VAL="${N_VAL:-500}"; N_TEST="${N_TEST:-500}"
  ALPHAS="${ALPHAS:-[0, 0.5, 1]}"
  FEW_K="${FEW_K:-16}"
  METHODS="${METHODS:-zeroshot lp ft l2sp lpft flyp}"
else
  OUT="${OUT:-$ROOT/build-repl/replicate}"
  SEEDS="${SEEDS:-0 1 2}"
  LR_GRID="${LR_GRID:-1e-5 1e-4 1e-3}"
  PRE_COUNT="${PRE_COUNT:-30000}"; PRE_EPOCHS="${PRE_EPOCHS:-2}"
  FT_COUNT="${FT_COUNT:-20000}"; FT_STEPS="${FT_STEPS:-60}"; FEW_STEPS="${FEW_STEPS:-30}"
  N_VAL="${N_VAL:-1000}"; N_TEST="${N_TEST:-1000}"
  ALPHAS="${ALPHAS:-[0, 0.2, 0.4, 0.6, 0.8, 1]}"
  FEW_K="${FEW_K:-4 16 32}"
  METHODS="${METHODS:-zeroshot lp ft l2sp lpft flyp}"
fi
FEW_ALPHAS="${FEW_ALPHAS:-$ALPHAS}"
FEW_SEEDS="${FEW_SEEDS:-$SEEDS}"
# Concurrent worker runs; with JOBS > 1 each gets FLYP_THREADS threads.
JOBS="${JOBS:-1}"
BATCH=128
mkdir -p "$OUT/specs" "$OUT/logs"
START=$(date +%s)
log() { echo "[replicate $(( $(date +%s) - START ))s] $*"; }

MODEL='model:
  preset: custom
  vocab: byte
  architecture:
    embed_dim: 64
    activation: gelu
    vision: {width: 64, layers: 2, heads: 2, patch_size: 7, image_size: 28}
    text: {width: 64, layers: 2, heads: 2, context_length: 24, vocab_size: 514}'

# run_job NAME SPEC_TEXT: writes specs/NAME.yaml, runs the worker, logs to
# logs/NAME.log; skips a run whose report.json already exists (resumable).
run_job() {
  local name="$1" spec="$OUT/specs/$1.yaml"
  printf '%s\n' "$2" > "$spec"
  if [[ -f "$OUT/runs/$name/report.json" || -f "$OUT/runs/$name/final.safetensors" && $name == pretrain ]]; then
    log "$name: done before, skipped"; return 0
  fi
  local t0=$(date +%s)
  if ! "$WORKER" --spec "$spec" > "$OUT/logs/$name.log" 2>&1; then
    echo "run.sh: $name failed; last lines of $OUT/logs/$name.log:" >&2
    tail -20 "$OUT/logs/$name.log" >&2
    echo "$name" >> "$OUT/FAILED"
    exit 1
  fi
  log "$name: $(( $(date +%s) - t0 ))s"
}

# run_bg NAME SPEC_TEXT: run_job in the background, at most $JOBS at once.
run_bg() {
  while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
  run_job "$@" &
}
# join: waits for the background runs; stops the script if one failed.
join() {
  wait
  if [[ -s "$OUT/FAILED" ]]; then echo "run.sh: failed runs: $(tr '\n' ' ' < "$OUT/FAILED")" >&2; exit 1; fi
}
rm -f "$OUT/FAILED"

# ---------------------------------------------------------------- 1. pretrain
if [[ ! -f "$OUT/styled/captions.csv" ]]; then
  "$STYLED" --out "$OUT/styled" --count "$PRE_COUNT" --offset 0 --split train --seed 1
fi
run_job pretrain "$MODEL
name: pretrain
method: {name: pretrain}
data:
  train: {format: csv_caption, path: $OUT/styled/captions.csv}
optim: {learning_rate: 0.002, weight_decay: 0.05}
schedule: {epochs: $PRE_EPOCHS, batch_size: $BATCH, warmup_steps: 20, log_every_steps: 50, eval_every_epochs: 0}
run_policy: {checkpoint_every: 1000}
wise_ft: {enabled: false}
output: {dir: $OUT/runs/pretrain}"
CKPT="$OUT/runs/pretrain/final.safetensors"

# ------------------------------------------------------------ spec builders
# The narrow ID training set: clean train images disjoint from pretraining.
FT_OFFSET=30000
VAL_OFFSET=50000
ood_block() {
  cat <<EOF
  id_test: {name: id_test, format: fashion_mnist, split: test, limit: $N_TEST}
  ood:
    - {name: rotated, format: fashion_mnist, split: test, limit: $N_TEST, shifts: [{kind: rotate, severity: 30}]}
    - {name: inverted, format: fashion_mnist, split: test, limit: $N_TEST, shifts: [{kind: invert}]}
    - {name: noisy, format: fashion_mnist, split: test, limit: $N_TEST, shifts: [{kind: noise, severity: 0.3}]}
    - {name: blurred, format: fashion_mnist, split: test, limit: $N_TEST, shifts: [{kind: blur, severity: 1.5}]}
    - {name: occluded, format: fashion_mnist, split: test, limit: $N_TEST, shifts: [{kind: occlude, severity: 0.4}]}
EOF
}

# finetune_spec NAME METHOD LR SEED MASK KSHOT STEPS EVAL(full|val) BATCH
finetune_spec() {
  local name=$1 method=$2 lr=$3 seed=$4 mask=$5 k=$6 steps=$7 eval=$8 batch=$9
  local train="{format: fashion_mnist, split: train, offset: $FT_OFFSET, limit: $FT_COUNT, seed: $seed}"
  [[ $k -gt 0 ]] && train="{format: fashion_mnist, split: train, offset: $FT_OFFSET, limit: $FT_COUNT, k_shot: $k, seed: $seed}"
  local tests="" wise="wise_ft: {enabled: false}"
  if [[ $eval == full ]]; then
    tests="$(ood_block)"
    wise="wise_ft: {enabled: true, alphas: $ALPHAS}"
  fi
  local train_line="  train: $train"
  if [[ $method == zeroshot ]]; then  # evaluates the pretrained model only
    train_line=""; wise="wise_ft: {enabled: false}"
  fi
  cat <<EOF
$MODEL
  checkpoint: $CKPT
name: $name
method: {name: $method, mask_same_class: $mask, lp_steps: 200}
data:
$train_line
  id_val: {name: id_val, format: fashion_mnist, split: train, offset: $VAL_OFFSET, limit: $N_VAL}
$tests
  templates: {builtin: simple}
optim: {learning_rate: $lr, weight_decay: 0.1}
schedule: {epochs: 1000, max_steps: $steps, batch_size: $batch, warmup_steps: $(( steps / 10 )), seed: $seed, log_every_steps: 20, eval_every_epochs: 0}
run_policy: {checkpoint_every: 100000}
$wise
output: {dir: $OUT/runs/$name, save_final: false}
EOF
}

# Reads the finetuned id_val accuracy of a run.
id_val_acc() { "$TABLES" --id-val "$OUT/runs/$1/report.json"; }

# ------------------------------------------------- 2. learning-rate grid
# Default learning rates (used as is when LR_GRID is empty).
declare -A LR=([zeroshot]=1e-5 [lp]=1e-3 [ft]=1e-4 [l2sp]=1e-4 [lpft]=1e-4 [flyp]=1e-4 [flypmask]=1e-4)
VARIANTS=""
for m in $METHODS; do
  VARIANTS="$VARIANTS $m"
  [[ $m == flyp ]] && VARIANTS="$VARIANTS flypmask"
done
method_of() { [[ $1 == flypmask ]] && echo flyp || echo "$1"; }
mask_of() { [[ $1 == flypmask ]] && echo true || echo false; }
GRID_TSV="$OUT/grid.tsv"
if [[ -n "$LR_GRID" ]]; then
  printf 'variant\tlr\tid_val_acc\n' > "$GRID_TSV"
  for v in $VARIANTS; do
    # zeroshot has nothing to tune; lp's learning rate is lp_learning_rate
    # and its L2 strength is chosen on id_val inside the worker.
    [[ $v == zeroshot || $v == lp ]] && continue
    for lr in $LR_GRID; do
      name="grid-$v-lr$lr"
      run_bg "$name" "$(finetune_spec "$name" "$(method_of $v)" "$lr" 0 "$(mask_of $v)" 0 "$FT_STEPS" val $BATCH)"
    done
  done
  join
  for v in $VARIANTS; do
    [[ $v == zeroshot || $v == lp ]] && continue
    best=""; best_acc=-1
    for lr in $LR_GRID; do
      name="grid-$v-lr$lr"
      acc=$(id_val_acc "$name")
      printf '%s\t%s\t%s\n' "$v" "$lr" "$acc" >> "$GRID_TSV"
      if awk -v a="$acc" -v b="$best_acc" 'BEGIN{exit !(a>b)}'; then best=$lr; best_acc=$acc; fi
    done
    LR[$v]=$best
    log "grid $v: chosen lr $best (id_val $best_acc)"
  done
fi

# --------------------------------------------------------- 3. main runs
label_of() {
  case $1 in
    zeroshot) echo "Zeroshot" ;; lp) echo "LP" ;; ft) echo "FT" ;; l2sp) echo "L2-SP" ;;
    lpft) echo "LP-FT" ;; flyp) echo "FLYP" ;; flypmask) echo "FLYP (mask same class)" ;;
  esac
}
MANIFEST="$OUT/manifest.txt"
: > "$MANIFEST"
for seed in $SEEDS; do
  for v in $VARIANTS; do
    name="main-$v-s$seed"
    run_bg "$name" "$(finetune_spec "$name" "$(method_of $v)" "${LR[$v]}" "$seed" "$(mask_of $v)" 0 "$FT_STEPS" full $BATCH)"
    echo "Table 1 (full ID training set)|$(label_of $v)|$OUT/runs/$name/report.json" >> "$MANIFEST"
  done
done

join

# ------------------------------------------------------------ 4. few-shot
for k in $FEW_K; do
  b=$(( k * 10 < BATCH ? k * 10 : BATCH ))
  for seed in $FEW_SEEDS; do
    for v in zeroshot lp ft flyp; do
      [[ " $VARIANTS " == *" $v "* ]] || continue
      name="few-k$k-$v-s$seed"
      ALPHAS="$FEW_ALPHAS" run_bg "$name" "$(ALPHAS="$FEW_ALPHAS" finetune_spec "$name" "$v" "${LR[$v]}" "$seed" false "$k" "$FEW_STEPS" full $b)"
      echo "Few-shot k=$k|$(label_of $v)|$OUT/runs/$name/report.json" >> "$MANIFEST"
    done
  done
done

join

# -------------------------------------------------------------- 5. tables
{
  echo "learning rates used: $(for v in $VARIANTS; do printf '%s=%s ' "$v" "${LR[$v]}"; done)"
  echo "elapsed: $(( $(date +%s) - START ))s"
} > "$OUT/summary.txt"
EXPECT=""
for v in $VARIANTS; do
  l=$(label_of "$v"); EXPECT="$EXPECT,$l"; [[ $v != zeroshot ]] && EXPECT="$EXPECT,$l + WiSE-FT"
done
"$TABLES" --manifest "$MANIFEST" --md "$OUT/tables.md" --svg "$OUT/alpha.svg" \
  --svg-table "Table 1 (full ID training set)" --min-zeroshot-id 0.3 --expect "${EXPECT#,}"
cat "$OUT/summary.txt"
[[ -f "$GRID_TSV" ]] && cat "$GRID_TSV"
cat "$OUT/tables.md"
log "finished in $(( $(date +%s) - START ))s; tables: $OUT/tables.md, plot: $OUT/alpha.svg"
