#!/usr/bin/env bash
# Is the loader fast enough? Measures what the loader produces per thread
# (flyp_bench_loader: decode + resize + crop + normalise, train transform)
# and what a training step consumes on this machine (flyp_bench_step: the
# FLYP step on all cores), and prints the ratio for
#   demo:     Fashion-MNIST at 28 px, tiny preset, global batch 128;
#   ViT-B-16: JPEG 500x375 -> 224 px, ViT-B-16, batch 8 (CPU).
# ratio = loader images/s on ONE thread / step images/s on all cores: >= 3
# means one loader thread feeds the step three times over (the target of
# issue 9), so the loader can never be the bottleneck.
#
#   bench/loader/run.sh [--build DIR] [--threads N]
# Needs: ninja -C build flyp_bench_loader flyp_bench_step; Fashion-MNIST
# (dataset-fashion-mnist) for the demo row.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build"
threads=$(nproc)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    *) echo "run.sh: unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done
for b in flyp_bench_loader flyp_bench_step; do
  [[ -x "$build/bin/$b" ]] || { echo "run.sh: $build/bin/$b missing: ninja -C $build $b" >&2; exit 1; }
done

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); step threads=$threads"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$build/bin/flyp_bench_loader" --images 512 --threads 1,2 --fashion-res 28 | tee "$log"

# images/s of the 1-thread train-transform loader row for a dataset name.
loader_rate() { awk -v n="$1" '$1 == n && $2 == "loader" && $3 == "train" && $4 == 1 { print $6 }' "$log"; }

# images/s a FLYP step consumes: batch / median step seconds.
step_rate() {
  local out
  out=$("$build/bin/flyp_bench_step" "$@" --threads "$threads" --fused-adamw | tee >(cat >&2) | grep '^RESULT')
  awk -v out="$out" 'BEGIN {
    split(out, kv, " "); for (i in kv) { split(kv[i], p, "="); v[p[1]] = p[2] }
    printf "%.2f", v["batch"] / (v["median_ms"] / 1000) }'
}

echo "== consumption: FLYP steps on $threads thread(s)"
demo_step=$(step_rate --preset tiny --batch 128 --steps 5 --warmup 2)
vit_step=$(step_rate --preset ViT-B-16 --batch 8 --steps 2 --warmup 1)
demo_load=$(loader_rate fashion-mnist@28)
vit_load=$(loader_rate jpeg@224)

echo
printf '%-10s %-34s %14s %14s %8s\n' setting data "loader_img/s" "step_img/s" ratio
printf '%-10s %-34s %14s %14s %8s\n' demo "fashion-mnist 28 px, tiny, b128" "${demo_load:-n/a}" "$demo_step" \
  "$([[ -n $demo_load ]] && awk -v a="$demo_load" -v b="$demo_step" 'BEGIN { printf "%.1f", a / b }' || echo n/a)"
printf '%-10s %-34s %14s %14s %8s\n' ViT-B-16 "jpeg 500x375 -> 224, b8" "$vit_load" "$vit_step" \
  "$(awk -v a="$vit_load" -v b="$vit_step" 'BEGIN { printf "%.1f", a / b }')"
echo "(loader: ONE thread, train transform; step: $threads thread(s); ratio >= 3: the loader is never the bottleneck)"
