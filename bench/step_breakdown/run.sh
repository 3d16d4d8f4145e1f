#!/usr/bin/env bash
# Where a FLYP step's time goes, 1 rank vs 2 ranks on this machine's CPU:
# runs the same small FLYP job (the demo's tiny CLIP from random weights,
# global batch 128, 40 steps) once as a single process and once as a 2-rank
# MPI world, and prints each run's breakdown (data, forward+gather, backward,
# all-reduce, optimizer) as logged by the training loop.
#   bench/step_breakdown/run.sh [BIN_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-build/bin}"
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
for ranks in 1 2; do
  threads=$(( cores / ranks > 0 ? cores / ranks : 1 ))
  line=$(FLYP_THREADS=$threads "${mpirun[@]}" -np "$ranks" "$bin/flyp-worker" --spec "$dir/job.yaml" --no-resume \
           --output "$dir/out$ranks" 2>&1 | grep -o 'step time breakdown.*')
  echo "ranks=$ranks threads/rank=$threads: $line"
done
