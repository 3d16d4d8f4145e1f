#!/usr/bin/env bash
# The paper's Table 1 protocol run by the service: a thin client of one sweep
# (examples/table1-mini.sweep.yaml; docs/sweeps.md, docs/results.md).
#   1. the styled, captioned pretraining set and the CLIP pretrained on it,
#      as run.sh makes them (skipped when the checkpoint exists);
#   2. a flyp-coordinator on 127.0.0.1 with its state in DIR (local mpirun
#      worlds; DIR/data is its data root, so the sweep finds the checkpoint);
#   3. flypctl sweep submit, watch, and the report (report.md, report.json,
#      report.svg in DIR). Rerunning with the same DIR resumes: the sweep is
#      submitted with an idempotency key, and the coordinator picks up its
#      trials where they were.
#
# usage: sweep.sh [--toy] [--spec FILE] [--out DIR]
#   --toy   the same protocol at toy size (1,000-image splits, 20 steps,
#           3 seeds, 3 alphas: 48 trials, minutes), to check the pipeline
# Binaries (env): FLYP_COORDINATOR, FLYPCTL, FLYP_WORKER, FLYP_MAKE_STYLED_SET;
# defaults: build/bin. Knobs (env): PRE_COUNT, PRE_EPOCHS, FLYP_THREADS.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TOY=0
OUT=""
SPEC="$ROOT/examples/table1-mini.sweep.yaml"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --toy) TOY=1; shift ;;
    --spec) SPEC="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "sweep.sh: unknown argument $1 (usage: sweep.sh [--toy] [--spec FILE] [--out DIR])" >&2; exit 2 ;;
  esac
done
BIN="$ROOT/build/bin"
COORD="${FLYP_COORDINATOR:-$BIN/flyp-coordinator}"
CTL="${FLYPCTL:-$BIN/flypctl}"
WORKER="${FLYP_WORKER:-$BIN/flyp-worker}"
STYLED="${FLYP_MAKE_STYLED_SET:-$BIN/flyp_make_styled_set}"
for b in "$COORD" "$CTL" "$WORKER" "$STYLED"; do
  [[ -x "$b" ]] || { echo "sweep.sh: missing binary $b (FLYP_COORDINATOR / FLYPCTL / FLYP_WORKER / FLYP_MAKE_STYLED_SET)" >&2; exit 2; }
done
[[ -f "$SPEC" ]] || { echo "sweep.sh: no sweep spec $SPEC" >&2; exit 2; }
if [[ $TOY == 1 ]]; then
  OUT="${OUT:-$ROOT/build-repl/sweep-toy}"
  PRE_COUNT="${PRE_COUNT:-12000}"; PRE_EPOCHS="${PRE_EPOCHS:-1}"
else
  OUT="${OUT:-$ROOT/build-repl/sweep}"
  PRE_COUNT="${PRE_COUNT:-30000}"; PRE_EPOCHS="${PRE_EPOCHS:-2}"
fi
export FLYP_THREADS="${FLYP_THREADS:-1}"  # per rank; the trials have 2 ranks
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
mkdir -p "$OUT/data/replicate"
OUT="$(cd "$OUT" && pwd)"
START=$(date +%s)
log() { echo "[sweep $(( $(date +%s) - START ))s] $*"; }

# ---------------------------------------------------------------- 1. pretrain
CKPT="$OUT/data/replicate/pretrain/final.safetensors"
if [[ ! -f "$CKPT" ]]; then
  [[ -f "$OUT/styled/captions.csv" ]] ||
    "$STYLED" --out "$OUT/styled" --count "$PRE_COUNT" --offset 0 --split train --seed 1
  cat > "$OUT/pretrain.yaml" <<EOF
name: pretrain
model:
  preset: custom
  vocab: byte
  architecture:
    embed_dim: 64
    activation: gelu
    vision: {width: 64, layers: 2, heads: 2, patch_size: 7, image_size: 28}
    text: {width: 64, layers: 2, heads: 2, context_length: 24, vocab_size: 514}
method: {name: pretrain}
data:
  train: {format: csv_caption, path: $OUT/styled/captions.csv}
optim: {learning_rate: 0.002, weight_decay: 0.05}
schedule: {epochs: $PRE_EPOCHS, batch_size: 128, warmup_steps: 20, log_every_steps: 50, eval_every_epochs: 0}
run_policy: {checkpoint_every: 1000}
wise_ft: {enabled: false}
output: {dir: $OUT/data/replicate/pretrain}
EOF
  log "pretraining ($PRE_COUNT styled images, $PRE_EPOCHS epochs)"
  FLYP_THREADS=2 "$WORKER" --spec "$OUT/pretrain.yaml" > "$OUT/pretrain.log" 2>&1 ||
    { tail -20 "$OUT/pretrain.log" >&2; exit 1; }
fi

# --------------------------------------------------------- 2. the coordinator
TOKEN="sweep-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
echo "$TOKEN replicate" > "$OUT/tokens.txt"
rm -f "$OUT/port"
"$COORD" --listen=127.0.0.1:0 --port-file="$OUT/port" --db="$OUT/sweep.db" --artifact-root="$OUT/artifacts" \
  --token-file="$OUT/tokens.txt" --cpu-slots=2 --gpus=0 --worker-binary="$WORKER" \
  --data-root="$OUT/data" --data-root=/usr/share/datasets --metrics-listen=127.0.0.1:0 \
  >> "$OUT/coordinator.log" 2>&1 &
COORD_PID=$!
trap 'kill "$COORD_PID" 2>/dev/null; wait "$COORD_PID" 2>/dev/null || true' EXIT
for _ in $(seq 200); do [[ -s "$OUT/port" ]] && break; sleep 0.1; done
[[ -s "$OUT/port" ]] || { echo "sweep.sh: the coordinator did not start:" >&2; tail "$OUT/coordinator.log" >&2; exit 1; }
export FLYP_SERVER="127.0.0.1:$(cat "$OUT/port")" FLYP_TOKEN="$TOKEN"
unset FLYP_TOKEN_FILE FLYP_TLS_CA FLYP_CONTEXT
export FLYP_CONFIG="$OUT/no-config.yaml"

# ------------------------------------------------------------- 3. the sweep
if [[ $TOY == 1 ]]; then
  sed -e 's/limit: 10000/limit: 1000/g; s/limit: 20000/limit: 4000/; s/max_steps: 60/max_steps: 20/' \
      -e 's/warmup_steps: 6/warmup_steps: 2/; s/range: \[0, 5\]/range: [0, 3]/g' \
      -e 's/alphas: \[0, 0.2, 0.4, 0.6, 0.8, 1\]/alphas: [0, 0.5, 1]/; s/^name: \(.*\)/name: \1-toy/' \
      "$SPEC" > "$OUT/sweep.yaml"
else
  cp "$SPEC" "$OUT/sweep.yaml"
fi
"$CTL" sweep validate "$OUT/sweep.yaml" | grep '^# [0-9]* trials' || true
ID=$("$CTL" sweep submit "$OUT/sweep.yaml" --idempotency-key "$(basename "$SPEC")-$TOY")
log "submitted $ID"
rc=0
"$CTL" sweep watch "$ID" > "$OUT/watch.log" || rc=$?
"$CTL" sweep get "$ID" > "$OUT/sweep.txt"
for f in md json svg; do "$CTL" sweep report "$ID" --format "$f" --out "$OUT/report.$f"; done
log "$ID ended (watch exit $rc); report: $OUT/report.md"
cat "$OUT/report.md"
exit "$rc"
