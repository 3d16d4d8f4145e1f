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
#   bench/loader/run.sh [--build DIR] [--threads N] [--target R]
#
# Checked: every row's ratio >= R (default 3). After the table it prints
# `FAIL <row>: ratio <measured> < target <R> ...` for each row that misses
# it, or one `PASS ...` line.
# Exit: 0 every row meets the target; 1 a row misses it or has no
# measurement (a benchmark failed, printed no RESULT line, or Fashion-MNIST
# is missing); 2 usage (unknown flag, bad value, a benchmark not built).
# Needs: ninja -C build flyp_bench_loader flyp_bench_step; Fashion-MNIST
# (dataset-fashion-mnist) for the demo row.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build"
threads=$(nproc)
target=3
usage() { echo "run.sh: $1 (usage: run.sh [--build DIR] [--threads N] [--target R])" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build | --threads | --target) [[ $# -ge 2 ]] || usage "$1 needs a value" ;;&
    --build) build="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --target) target="$2"; shift ;;
    *) usage "unknown flag $1" ;;
  esac
  shift
done
[[ $threads =~ ^[1-9][0-9]*$ ]] || usage "--threads must be a positive integer, got '$threads'"
[[ $target =~ ^[0-9]+([.][0-9]+)?$ ]] || usage "--target must be a non-negative number, got '$target'"
for b in flyp_bench_loader flyp_bench_step; do
  [[ -x "$build/bin/$b" ]] || { echo "run.sh: $build/bin/$b missing: ninja -C $build $b" >&2; exit 2; }
done

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); step threads=$threads"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$build/bin/flyp_bench_loader" --images 512 --threads 1,2 --fashion-res 28 | tee "$log"; then
  echo "FAIL: flyp_bench_loader failed" >&2
  exit 1
fi

# images/s of the 1-thread train-transform loader row for a dataset name.
loader_rate() { awk -v n="$1" '$1 == n && $2 == "loader" && $3 == "train" && $4 == 1 { print $6 }' "$log"; }

# images/s a FLYP step consumes: batch / median step seconds, from the last
# RESULT line's batch= and median_ms= (by key, in any order); empty when the
# step failed or printed no usable RESULT line (the reason on stderr).
step_rate() {
  local out
  if ! out=$("$build/bin/flyp_bench_step" "$@" --threads "$threads" | tee >(cat >&2)); then
    echo "run.sh: flyp_bench_step $* failed" >&2
    return 0
  fi
  awk '/^RESULT / { line = $0 }
    END {
      n = split(line, kv, " ")
      for (i = 2; i <= n; ++i) { eq = index(kv[i], "="); if (eq > 0) v[substr(kv[i], 1, eq - 1)] = substr(kv[i], eq + 1) }
      if (line == "" || !(v["batch"] + 0 > 0) || !(v["median_ms"] + 0 > 0)) {
        print "run.sh: flyp_bench_step printed no RESULT line with batch= and median_ms= > 0" > "/dev/stderr"
        exit
      }
      printf "%.2f", v["batch"] / (v["median_ms"] / 1000) }' <<<"$out"
}

echo "== consumption: FLYP steps on $threads thread(s)"
demo_step=$(step_rate --preset tiny --batch 128 --steps 5 --warmup 2)
vit_step=$(step_rate --preset ViT-B-16 --batch 8 --steps 2 --warmup 1)
demo_load=$(loader_rate fashion-mnist@28)
vit_load=$(loader_rate jpeg@224)

# ratio (one decimal, for the table) or n/a when a side is missing.
ratio() { [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else printf "n/a" }' || echo n/a; }

echo
printf '%-10s %-34s %14s %14s %8s\n' setting data "loader_img/s" "step_img/s" ratio
printf '%-10s %-34s %14s %14s %8s\n' demo "fashion-mnist 28 px, tiny, b128" "${demo_load:-n/a}" "${demo_step:-n/a}" \
  "$(ratio "$demo_load" "$demo_step")"
printf '%-10s %-34s %14s %14s %8s\n' ViT-B-16 "jpeg 500x375 -> 224, b8" "${vit_load:-n/a}" "${vit_step:-n/a}" \
  "$(ratio "$vit_load" "$vit_step")"
echo "(loader: ONE thread, train transform; step: $threads thread(s); ratio >= $target: the loader is never the bottleneck)"

# The check: every row measured, and its ratio >= target.
failed=0
check() {  # row, loader images/s, step images/s
  if [[ -z $2 ]]; then
    echo "FAIL $1: no loader measurement (flyp_bench_loader printed no 1-thread train row; for demo: is dataset-fashion-mnist installed?)"
    failed=1
  elif [[ -z $3 ]]; then
    echo "FAIL $1: no step measurement (flyp_bench_step failed or printed no RESULT line with batch= and median_ms=; its output is on stderr)"
    failed=1
  elif ! awk -v a="$2" -v b="$3" -v t="$target" 'BEGIN { exit !(b > 0 && a / b >= t) }'; then
    awk -v r="$1" -v a="$2" -v b="$3" -v t="$target" 'BEGIN {
      printf "FAIL %s: ratio %.2f < target %s (loader %s images/s on 1 thread, step %s images/s)\n", r, (b > 0 ? a / b : 0), t, a, b }'
    failed=1
  fi
}
check demo "$demo_load" "$demo_step"
check ViT-B-16 "$vit_load" "$vit_step"
if ((failed)); then exit 1; fi
echo "PASS: every row's ratio >= target $target"
