#!/usr/bin/env bash
# Peak memory of the global contrastive loss (forward + backward) on one
# rank, full vs local_loss, global batches 1k..32k, one fresh process per
# configuration (flyp_bench_loss_memory; see its header).
#
#   bench/memory/run.sh [--build DIR] [--world 8] [--dim 512] [--max-full 16384] [--quick]
#
# full mode builds B×B logits: at B = 32768 one such float32 matrix is 4 GiB
# and the loss needs several, more than a small machine has, so full runs
# stop at --max-full (analytic figures above it). --quick: up to 8k.
# Prints a markdown table: measured peak growth (MiB), the size of one logits
# matrix R×B×4 bytes (R = B full, B/world local) and their ratio.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/build"
world=8
dim=512
max_full=16384
max_global=32768
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift ;;
    --world) world="$2"; shift ;;
    --dim) dim="$2"; shift ;;
    --max-full) max_full="$2"; shift ;;
    --quick) max_full=8192; max_global=8192 ;;
    *) echo "run.sh: unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done
bin="$build/bin/flyp_bench_loss_memory"
[[ -x "$bin" ]] || { echo "run.sh: $bin missing: ninja -C $build flyp_bench_loss_memory" >&2; exit 1; }

echo "| global B | mode | rows R | logits matrix R×B×4 (MiB) | measured peak (MiB) | peak / matrix | seconds |"
echo "|---:|---|---:|---:|---:|---:|---:|"
for ((b = 1024; b <= max_global; b *= 2)); do
  for mode in full local; do
    rows=$([[ $mode == full ]] && echo "$b" || echo $((b / world)))
    mat=$(awk -v r="$rows" -v c="$b" 'BEGIN { printf "%.1f", r * c * 4 / 1048576 }')
    if [[ $mode == full && $b -gt $max_full ]]; then
      echo "| $b | $mode | $rows | $mat | not run (> --max-full) | | |"
      continue
    fi
    line=$("$bin" --global "$b" --world "$world" --mode "$mode" --dim "$dim" | grep '^RESULT')
    peak=$(sed -E 's/.*peak_mib=([0-9.]+).*/\1/' <<<"$line")
    secs=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$line")
    ratio=$(awk -v p="$peak" -v m="$mat" 'BEGIN { printf "%.2f", p / m }')
    echo "| $b | $mode | $rows | $mat | $peak | $ratio | $secs |"
  done
done
echo
echo "world=$world (local rows = B/$world), feature dim=$dim, float32; $(nproc) cores"
