#!/usr/bin/env bash
# run.sh's checks can fail: runs bench/memory/run.sh --quick against a
# stand-in flyp_bench_loss_memory (a shell script printing RESULT lines whose
# peak is c·R·B·4 bytes + the gathered features + 20 MiB of fixed costs, c
# and the failures chosen per case), so it takes a second and does not
# depend on this machine's memory. Checks exit status and verdict lines.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin"
cat >"$dir/bin/flyp_bench_loss_memory" <<'SH'
#!/usr/bin/env bash
while [[ $# -gt 0 ]]; do
  case "$1" in --global) B=$2 ;; --world) N=$2 ;; --mode) mode=$2 ;; --dim) d=$2 ;; esac
  shift 2
done
[[ ${FAKE_CRASH_AT:-} != "$B $mode" ]] || { echo "terminate called after std::bad_alloc" >&2; exit 134; }
rows=$([[ $mode == full || -n ${FAKE_LOCAL_AS_FULL:-} ]] && echo "$B" || echo $((B / N)))
c=$([[ $mode == full ]] && echo "${FAKE_C_FULL:-5.1}" || echo "${FAKE_C_LOCAL:-6.3}")
peak=$(awk -v c="$c" -v r="$rows" -v b="$B" -v d="$d" -v k="${FAKE_CONSTANT:-}" 'BEGIN {
  printf "%.1f", k != "" ? k : c * r * b * 4 / 1048576 + 2 * b * d * 4 / 1048576 + 20 }')
echo "RESULT seconds=0.50 peak_mib=$peak mode=$mode global=$B world=$N local=$((B / N)) dim=$d logits_matrix_mib=1"
SH
chmod +x "$dir/bin/flyp_bench_loss_memory"

# shellcheck source=../script_check.sh
source "$here/../script_check.sh"

# --quick, world 8: the checked rows are full 4096 (64 MiB), full 8192
# (256 MiB) and local 8192 (32 MiB); full / local is compared at 8192.
run "the analytic model" 0 -- --build "$dir" --quick
has '^PASS: \(peak - gathered features\) / logits matrix 5\.18\.\.6\.9[23] within \[3, 9\] on the 3 rows .* >= 5\.35 \(target 4 = world/2\) at B = 8192$'
has '^\| 8192 \| local \| 1024 \| 32\.0 \| 253\.6 \| 7\.92 \| 0\.50 \|$'
run "the analytic model, default sizes" 0 -- --build "$dir"
has '^PASS: .* on the 6 rows .* at B = 8192 16384$'
run "c above 9" 1 FAKE_C_LOCAL=10.65 -- --build "$dir" --quick
has '^FAIL B=8192 local: \(peak 392\.8 - gathered features 32\.0 MiB\) / logits matrix 32\.0 MiB = 11\.28 matrices, outside target \[3, 9\]$'
run "c below 3" 1 FAKE_C_FULL=2.5 -- --build "$dir" --quick
has '^FAIL B=4096 full: \(peak 196\.0 - gathered features 16\.0 MiB\) / logits matrix 64\.0 MiB = 2\.81 matrices, outside target \[3, 9\]$'
# local_loss not in effect: local builds the whole B×B matrix too.
run "local as big as full" 1 FAKE_LOCAL_AS_FULL=1 -- --build "$dir" --quick
has '^FAIL B=8192: peak full 1357\.6 / local 1664\.8 MiB = 0\.82 < target 4 \(world/2\)$'
# A peak that does not grow with B at all.
run "no quadratic growth" 1 FAKE_CONSTANT=100 -- --build "$dir" --quick
has '^FAIL B=8192 full: \(peak 100\.0 - gathered features 32\.0 MiB\) / logits matrix 256\.0 MiB = 0\.27 matrices'
run "a configuration crashes" 1 "FAKE_CRASH_AT=8192 local" -- --build "$dir" --quick
has '^FAIL B=8192 local: no measurement \(flyp_bench_loss_memory exit 134'
has '^\| 8192 \| local \| 1024 \| 32\.0 \| failed \(exit 134\) \| \| \|$'
run "nothing to compare" 1 -- --build "$dir" --quick --max-full 4096
has '^FAIL: no B with both modes measured'
run "unknown flag" 2 -- --build "$dir" --frobnicate
has 'unknown flag --frobnicate'
run "bad --world" 2 -- --build "$dir" --world x
has '--world must be a positive integer'
run "--world not dividing B" 2 -- --build "$dir" --world 3
has '--world must divide 1024'
run "benchmark not built" 2 -- --build "$dir/nowhere"
has 'flyp_bench_loss_memory missing'

finish
