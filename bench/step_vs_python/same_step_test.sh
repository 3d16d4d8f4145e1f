#!/usr/bin/env bash
# flyp_bench_step times the product's step, not a copy of it: it runs a FLYP
# job through train::RunJob and writes that job (--write-spec); flyp-worker
# train runs the written spec; both must report the same loss at every step
# (the same data order, template draws, forward, loss, backward and AdamW
# update — any step function of its own would drift within a step or two).
# Then the check is shown to be able to fail: the bench with another seed
# (another initialisation and data order) must not match the worker's losses.
#   same_step_test.sh FLYP_BENCH_STEP FLYP_WORKER
set -euo pipefail
bench=$1
worker=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE
unset FLYP_DATA_ROOTS FLYP_COORDINATOR FLYP_THREADS
[[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz || -d /usr/share/datasets/fashion-mnist ]] ||
  { echo "SKIP: Fashion-MNIST is not installed (dataset-fashion-mnist)"; exit 0; }

args=(--preset micro --batch 16 --steps 4 --warmup 1 --threads 1 --gemm-seconds 0)
# Bench losses, step 0.. (its lines: "step N timed|warmup X ms loss L (...) text C/T").
bench_losses() { grep '^step ' | sed -E 's/.* loss ([^ ]+) .*/\1/'; }
"$bench" "${args[@]}" --write-spec "$dir/spec.yaml" >"$dir/bench.log"
bench_losses <"$dir/bench.log" >"$dir/bench.txt"
"$worker" --spec "$dir/spec.yaml" --output "$dir/out" >"$dir/worker.log" 2>&1 ||
  { cat "$dir/worker.log"; echo "FAIL: flyp-worker train failed on the bench's spec"; exit 1; }
grep '"type":"progress"' "$dir/out/events.jsonl" | sed -E 's/.*"loss":([^,]+),.*/\1/' >"$dir/worker.txt"

n=$(wc -l <"$dir/bench.txt")
[[ $n -eq 5 ]] || { cat "$dir/bench.log"; echo "FAIL: the bench printed $n steps, expected 5 (1 warmup + 4)"; exit 1; }
[[ $(wc -l <"$dir/worker.txt") -eq 5 ]] || { cat "$dir/worker.log"; echo "FAIL: the worker logged $(wc -l <"$dir/worker.txt") steps, expected 5"; exit 1; }
# Same losses to the bench's 6 printed decimals; and they move (a constant
# loss would match anything that does nothing).
compare() {  # $1 $2: files of losses; prints the largest |difference|
  paste "$1" "$2" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.7f\n", m }'
}
diff_same=$(compare "$dir/bench.txt" "$dir/worker.txt")
echo "bench  losses: $(tr '\n' ' ' <"$dir/bench.txt")"
echo "worker losses: $(tr '\n' ' ' <"$dir/worker.txt")"
awk -v d="$diff_same" 'BEGIN { exit !(d <= 2e-6) }' ||
  { echo "FAIL: bench and worker losses differ by up to $diff_same"; exit 1; }
spread=$(awk 'NR == 1 { lo = hi = $1 } { if ($1 < lo) lo = $1; if ($1 > hi) hi = $1 } END { printf "%.6f\n", hi - lo }' "$dir/bench.txt")
awk -v s="$spread" 'BEGIN { exit !(s > 1e-4) }' || { echo "FAIL: the loss did not change over the steps ($spread)"; exit 1; }

"$bench" "${args[@]}" --seed 1 >"$dir/other.log"
bench_losses <"$dir/other.log" >"$dir/other.txt"
diff_other=$(compare "$dir/other.txt" "$dir/worker.txt")
echo "seed-1 bench losses: $(tr '\n' ' ' <"$dir/other.txt") (differ by up to $diff_other)"
awk -v d="$diff_other" 'BEGIN { exit !(d > 1e-3) }' ||
  { echo "FAIL: a bench of another seed matches the worker's losses: the comparison cannot tell steps apart"; exit 1; }
# The same text-tower work, step by step: distinct captions and their
# positions (the bench's "text C/T", the job's captions_encoded and
# caption_tokens).
sed -nE 's/^step .* text ([0-9]+)\/([0-9]+)$/\1 \2/p' "$dir/bench.log" >"$dir/bench-text.txt"
grep '"type":"progress"' "$dir/out/events.jsonl" |
  sed -nE 's/.*"captions_encoded":([0-9]+),"caption_tokens":([0-9]+).*/\1 \2/p' >"$dir/worker-text.txt"
echo "bench  text work (captions tokens): $(paste -sd, "$dir/bench-text.txt")"
echo "worker text work (captions tokens): $(paste -sd, "$dir/worker-text.txt")"
if [[ $(wc -l <"$dir/bench-text.txt") -ne 5 ]] || ! cmp -s "$dir/bench-text.txt" "$dir/worker-text.txt"; then
  echo "FAIL: the bench's text-tower work per step differs from the worker's"
  exit 1
fi
echo "PASS: the bench's steps are flyp-worker's (largest loss difference $diff_same, the same text work)"
