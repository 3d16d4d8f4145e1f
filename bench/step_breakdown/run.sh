#!/usr/bin/env bash
# Where a FLYP step's time goes, 1 rank vs 2 ranks on this machine's CPU:
# runs the same small FLYP job (the demo's tiny CLIP from random weights,
# global batch 128, 40 steps) once as a single process and once as a 2-rank
# MPI world, and prints each run's breakdown (data, forward+gather, backward,
# all-reduce, optimizer) as logged by the training loop.
#   bench/step_breakdown/run.sh [BIN_DIR]
#
# Checked, for each run (after both have printed):
#   1. the worker exits 0 and logs the breakdown line;
#   2. 1 rank: allreduce <= 0.05 ms (no gradient reducer at world size 1,
#      the phase is two clock reads); 2 ranks: allreduce > 0 (the gradients
#      are all-reduced);
#   3. the phases add up to the run: (sum of the five phases) x steps over
#      the training loop's wall time (report.json timings.train_seconds of
#      rank 0) is within [0.95, 1.01] -- the phases are disjoint slices of
#      the loop, so they cannot exceed it (1 % for rounding), and what they
#      leave out (per-step hooks, starting the epoch) is small.
# It prints `FAIL ranks=N: ...` (measured value and bound) for each
# violation, or one `PASS ...` line.
# Exit: 0 all checks hold; 1 a check fails; 2 usage (an argument too many,
# no flyp-worker in BIN_DIR, mpirun or jq missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $# -le 1 ]] || { echo "step_breakdown: usage: run.sh [BIN_DIR]" >&2; exit 2; }
bin="${1:-build/bin}"
[[ -x $bin/flyp-worker ]] || { echo "step_breakdown: no $bin/flyp-worker (ninja -C build flyp-worker)" >&2; exit 2; }
for tool in mpirun jq; do
  command -v "$tool" >/dev/null || { echo "step_breakdown: $tool missing (scripts/install-deps)" >&2; exit 2; }
done
max_allreduce_1rank_ms=0.05
min_coverage=0.95
max_coverage=1.01
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE
cat >"$dir/job.yaml" <<YAML
name: step-breakdown
model: {preset: tiny, vocab: byte, architecture: {text: {vocab_size: 514}}}
method: {name: pretrain}
data: {train: {format: fashion_mnist, split: train, limit: 5120}}
schedule: {epochs: 1, batch_size: 128, warmup_steps: 5, log_every_steps: 1000}
run_policy: {checkpoint_every: 0}
output: {dir: $dir/out}
YAML
mpirun=(mpirun --oversubscribe)
[[ $(id -u) -eq 0 ]] && mpirun+=(--allow-run-as-root)
cores=$(nproc)
echo "machine: $cores cores; global batch 128; threads per rank = cores / ranks"
fails=()
summary=()
for ranks in 1 2; do
  threads=$(( cores / ranks > 0 ? cores / ranks : 1 ))
  rc=0
  FLYP_THREADS=$threads "${mpirun[@]}" -np "$ranks" "$bin/flyp-worker" --spec "$dir/job.yaml" --no-resume \
    --output "$dir/out$ranks" >"$dir/log$ranks" 2>&1 || rc=$?
  line=$(grep -o 'step time breakdown.*' "$dir/log$ranks" | tail -1 || true)
  echo "ranks=$ranks threads/rank=$threads: ${line:-no breakdown line (worker exit $rc)}"
  if [[ $rc -ne 0 || -z $line ]]; then
    fails+=("FAIL ranks=$ranks: the worker exited $rc and logged $([[ -n $line ]] && echo "its" || echo "no") breakdown line; its log ends:")
    fails+=("$(tail -n 15 "$dir/log$ranks" | sed 's/^/    /')")
    continue
  fi
  # steps data forward backward allreduce optimizer, by the line's labels.
  read -r steps data fwd bwd red opt < <(awk '{
    for (i = 1; i < NF; ++i) v[$i] = $(i + 1)
    print v["over"], v["data"], v["forward+gather"], v["backward"], v["allreduce"], v["optimizer"] }' <<<"$line")
  train_s=$(jq -r '.timings.train_seconds // empty' "$dir/out$ranks/report.json" 2>/dev/null || true)
  if [[ -z $train_s ]]; then
    fails+=("FAIL ranks=$ranks: no timings.train_seconds in $dir/out$ranks/report.json")
    continue
  fi
  if ((ranks == 1)) && ! awk -v r="$red" -v t="$max_allreduce_1rank_ms" 'BEGIN { exit !(r <= t) }'; then
    fails+=("FAIL ranks=1: allreduce $red ms > target $max_allreduce_1rank_ms ms (one rank has nothing to all-reduce)")
  fi
  if ((ranks > 1)) && ! awk -v r="$red" 'BEGIN { exit !(r > 0) }'; then
    fails+=("FAIL ranks=$ranks: allreduce $red ms, target > 0 (the gradients must be all-reduced)")
  fi
  read -r sum cover < <(awk -v s="$steps" -v t="$train_s" -v a="$data" -v b="$fwd" -v c="$bwd" -v d="$red" -v e="$opt" \
    'BEGIN { m = a + b + c + d + e; printf "%.2f %.3f\n", m, (t > 0 ? m * s / 1000 / t : 0) }')
  if ! awk -v c="$cover" -v lo="$min_coverage" -v hi="$max_coverage" 'BEGIN { exit !(c >= lo && c <= hi) }'; then
    fails+=("FAIL ranks=$ranks: phases $sum ms x $steps steps / train_seconds $train_s s = $cover, outside target [$min_coverage, $max_coverage]")
  fi
  summary+=("ranks=$ranks allreduce $red ms, phases cover $cover of the loop")
done
if ((${#fails[@]})); then
  printf '%s\n' "${fails[@]}"
  exit 1
fi
joined=$(printf "%s; " "${summary[@]}")
echo "PASS: ${joined%; } (targets: 1 rank allreduce <= $max_allreduce_1rank_ms ms, 2 ranks > 0, coverage in [$min_coverage, $max_coverage])"
