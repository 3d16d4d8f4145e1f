#!/usr/bin/env bash
# Totals per operator of a Chrome trace written by `flyp_bench_step --profile
# FILE` (LibTorch's operator profiler): name, calls, total ms (inclusive: a
# parent operator's time contains its children's), share of the wall time
# the trace spans.
#
#   bench/step_vs_python/trace_ops.sh FILE [TOP=30]
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: trace_ops.sh FILE [TOP]" >&2; exit 2; }
command -v jq >/dev/null || { echo "trace_ops.sh: needs jq (apt-get install jq)" >&2; exit 1; }
jq -r --argjson top "${2:-30}" '
  [.[] | select(.ph == "X")] as $ev
  | (($ev | map(.ts + .dur) | max) - ($ev | map(.ts) | min)) as $span
  | $ev | group_by(.name)
  | map({name: .[0].name, calls: length, ms: (map(.dur) | add / 1000)})
  | sort_by(-.ms) | .[:$top][]
  | "\(.name)\t\(.calls)\t\(.ms * 10 | round / 10)\t\(.ms * 100000 / $span | round / 1000 * 100 | round / 100)%"
' "$1" | column -t -s $'\t' -N operator,calls,total_ms,of_wall
