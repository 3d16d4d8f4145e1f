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
#
# Checked (docs/performance.md §2: the peak is c logits matrices R×B×4 plus
# the gathered features 2·B·d·4 bytes, and local_loss divides the quadratic
# term by the world size), on the rows whose logits matrix is >= 32 MiB,
# where that term dominates the fixed costs (allocator and thread pages):
#   1. grows like R×B: c = (peak - 2·B·d·4 bytes) / matrix is within [3, 9]
#      (3: the product, the logits and a log-softmax output live together;
#      9: the analytic upper bound);
#   2. local beats full by about the world size: at each B where both modes
#      ran, peak(full) / peak(local) >= world / 2 (the quadratic term shrinks
#      by the world size; local keeps two products per row and the same
#      gathered features, hence the factor 2 of slack);
#   3. each check has at least one row to look at.
# After the table it prints `FAIL ...` (measured value and bound) for each
# violation, or one `PASS ...` line with the measured ranges.
# Exit: 0 all checks hold; 1 a check fails or a configuration failed to
# measure; 2 usage (unknown flag, bad value, the benchmark not built).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/build"
world=8
dim=512
max_full=16384
max_global=32768
min_matrix_mib=32
c_min=3
c_max=9
usage() {
  echo "run.sh: $1 (usage: run.sh [--build DIR] [--world N] [--dim D] [--max-full B] [--quick])" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build | --world | --dim | --max-full) [[ $# -ge 2 ]] || usage "$1 needs a value" ;;&
    --build) build="$2"; shift ;;
    --world) world="$2"; shift ;;
    --dim) dim="$2"; shift ;;
    --max-full) max_full="$2"; shift ;;
    --quick) max_full=8192; max_global=8192 ;;
    *) usage "unknown flag $1" ;;
  esac
  shift
done
for v in world dim max_full; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || usage "--${v/_/-} must be a positive integer, got '${!v}'"
done
((1024 % world == 0)) || usage "--world must divide 1024, got $world"
bin="$build/bin/flyp_bench_loss_memory"
[[ -x "$bin" ]] || { echo "run.sh: $bin missing: ninja -C $build flyp_bench_loss_memory" >&2; exit 2; }

# Value of KEY in a `RESULT k=v k=v ...` line (empty when absent).
field() { awk -v k="$1" '{ for (i = 2; i <= NF; ++i) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' <<<"$2"; }

verdicts=()      # FAIL lines, printed after the table
declare -A peak  # "B mode" -> measured peak (MiB)
c_lo="" c_hi="" c_rows=0
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
    rc=0
    out=$("$bin" --global "$b" --world "$world" --mode "$mode" --dim "$dim") || rc=$?
    line=$(grep '^RESULT ' <<<"$out" | tail -1 || true)
    p=$(field peak_mib "$line")
    secs=$(field seconds "$line")
    if [[ $rc -ne 0 || ! $p =~ ^[0-9]+([.][0-9]+)?$ ]]; then
      echo "| $b | $mode | $rows | $mat | failed (exit $rc) | | |"
      verdicts+=("FAIL B=$b $mode: no measurement (flyp_bench_loss_memory exit $rc, RESULT line '${line}')")
      continue
    fi
    peak["$b $mode"]=$p
    ratio=$(awk -v p="$p" -v m="$mat" 'BEGIN { printf "%.2f", p / m }')
    echo "| $b | $mode | $rows | $mat | $p | $ratio | $secs |"
    # Check 1 on the large rows.
    if awk -v m="$mat" -v t="$min_matrix_mib" 'BEGIN { exit !(m >= t) }'; then
      feat=$(awk -v b="$b" -v d="$dim" 'BEGIN { printf "%.1f", 2 * b * d * 4 / 1048576 }')
      c=$(awk -v p="$p" -v f="$feat" -v m="$mat" 'BEGIN { printf "%.2f", (p - f) / m }')
      c_rows=$((c_rows + 1))
      c_lo=$(awk -v a="${c_lo:-$c}" -v c="$c" 'BEGIN { print (c < a ? c : a) }')
      c_hi=$(awk -v a="${c_hi:-$c}" -v c="$c" 'BEGIN { print (c > a ? c : a) }')
      if ! awk -v c="$c" -v lo="$c_min" -v hi="$c_max" 'BEGIN { exit !(c >= lo && c <= hi) }'; then
        verdicts+=("FAIL B=$b $mode: (peak $p - gathered features $feat MiB) / logits matrix $mat MiB = $c matrices, outside target [$c_min, $c_max]")
      fi
    fi
  done
done
echo
echo "world=$world (local rows = B/$world), feature dim=$dim, float32; $(nproc) cores"

# Check 2: full / local at each B where both ran and the local matrix is large.
min_gain=$(awk -v w="$world" 'BEGIN { print w / 2 }')
gain_lo="" gain_at=()
for ((b = 1024; b <= max_global; b *= 2)); do
  local_mat=$(awk -v b="$b" -v w="$world" 'BEGIN { print b / w * b * 4 / 1048576 }')
  [[ -n ${peak["$b full"]:-} && -n ${peak["$b local"]:-} ]] || continue
  awk -v m="$local_mat" -v t="$min_matrix_mib" 'BEGIN { exit !(m >= t) }' || continue
  gain=$(awk -v f="${peak["$b full"]}" -v l="${peak["$b local"]}" 'BEGIN { printf "%.2f", (l > 0 ? f / l : 0) }')
  gain_at+=("$b")
  gain_lo=$(awk -v a="${gain_lo:-$gain}" -v g="$gain" 'BEGIN { print (g < a ? g : a) }')
  if ! awk -v g="$gain" -v t="$min_gain" 'BEGIN { exit !(g >= t) }'; then
    verdicts+=("FAIL B=$b: peak full ${peak["$b full"]} / local ${peak["$b local"]} MiB = $gain < target $min_gain (world/2)")
  fi
done
# Check 3: neither check may pass by looking at nothing.
((c_rows > 0)) || verdicts+=("FAIL: no row with a logits matrix >= $min_matrix_mib MiB to check the growth on (raise --max-full)")
((${#gain_at[@]} > 0)) ||
  verdicts+=("FAIL: no B with both modes measured and a local matrix >= $min_matrix_mib MiB to compare full with local on (raise --max-full)")

if ((${#verdicts[@]})); then
  printf '%s\n' "${verdicts[@]}"
  exit 1
fi
echo "PASS: (peak - gathered features) / logits matrix $c_lo..$c_hi within [$c_min, $c_max] on the $c_rows rows with a matrix >= $min_matrix_mib MiB;" \
  "peak full / local >= $gain_lo (target $min_gain = world/2) at B = ${gain_at[*]}"
