#!/usr/bin/env bash
# run.sh's checks can fail: runs bench/step_breakdown/run.sh (with the real
# mpirun) against a stand-in flyp-worker, a shell script that logs the
# breakdown line as the training loop does (rank 0 only) and writes
# report.json, with faults chosen per case; seconds instead of two training
# runs. Checks exit status and verdict lines.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin"
# docs/performance.md's run: 150.79 ms/step at 1 rank, 97.46 at 2; the
# loop's wall time is the phases' over FAKE_COVER<ranks> (default 0.98).
# FAKE_CASE: words crash<ranks>, noline<ranks>, noreport<ranks>.
cat >"$dir/bin/flyp-worker" <<'SH'
#!/usr/bin/env bash
while [[ $# -gt 0 ]]; do [[ $1 == --output ]] && out=$2; shift; done
rank=${OMPI_COMM_WORLD_RANK:-0} size=${OMPI_COMM_WORLD_SIZE:-1}
fault() { [[ " ${FAKE_CASE:-} " == *" $1$size "* ]]; }
fault crash && { echo "terminate called after throwing an instance of 'c10::Error'" >&2; exit 134; }
((rank == 0)) || exit 0
if ((size == 1)); then
  phases="data 0.86 forward+gather 59.39 backward 89.99 allreduce ${FAKE_RED1:-0.00} optimizer 0.55"
  cover=${FAKE_COVER1:-0.98}
else
  phases="data 0.81 forward+gather 37.18 backward 54.90 allreduce ${FAKE_RED2:-3.96} optimizer 0.61"
  cover=${FAKE_COVER2:-0.98}
fi
fault noline || echo "I1202 13:40:00.000 train_loop.cc:166] step time breakdown over 40 steps (mean ms/step): $phases"
mkdir -p "$out"
fault noreport && exit 0
secs=$(awk -v p="$phases" -v c="$cover" 'BEGIN {
  n = split(p, f, " "); for (i = 2; i <= n; i += 2) m += f[i]; printf "%.4f", m * 40 / 1000 / c }')
echo "{\"steps\": 40, \"timings\": {\"train_seconds\": $secs, \"eval_seconds\": 0}}" >"$out/report.json"
SH
chmod +x "$dir/bin/flyp-worker"

# shellcheck source=../script_check.sh
source "$here/../script_check.sh"

b="$dir/bin"
run "the documented run" 0 -- "$b"
has '^PASS: ranks=1 allreduce 0\.00 ms, phases cover 0\.980 of the loop; ranks=2 allreduce 3\.96 ms, phases cover 0\.980 '
has '^ranks=2 threads/rank=[0-9]+: step time breakdown over 40 steps \(mean ms/step\): data 0\.81 forward\+gather 37\.18 '
run "all-reduce where there is none, none where there is one" 1 FAKE_RED1=0.40 FAKE_RED2=0.00 -- "$b"
has '^FAIL ranks=1: allreduce 0\.40 ms > target 0\.05 ms'
has '^FAIL ranks=2: allreduce 0\.00 ms, target > 0'
run "phases that miss half the loop, or exceed it" 1 FAKE_COVER1=0.5 FAKE_COVER2=1.2 -- "$b"
has '^FAIL ranks=1: phases 150\.79 ms x 40 steps / train_seconds 12\.0632 s = 0\.500, outside target \[0\.95, 1\.01\]$'
has '^FAIL ranks=2: phases 97\.46 ms x 40 steps / train_seconds 3\.2487 s = 1\.200, outside target \[0\.95, 1\.01\]$'
run "a crash, a run without the line" 1 "FAKE_CASE=crash1 noline2" -- "$b"
has '^FAIL ranks=1: the worker exited [1-9][0-9]* and logged no breakdown line; its log ends:$'
has "^    terminate called after throwing"
has '^FAIL ranks=2: the worker exited 0 and logged no breakdown line'
has '^ranks=2 threads/rank=[0-9]+: no breakdown line \(worker exit 0\)$'
run "no report.json" 1 "FAKE_CASE=noreport1" -- "$b"
has '^FAIL ranks=1: no timings\.train_seconds in '
run "an argument too many" 2 -- "$b" extra
has 'usage: run.sh \[BIN_DIR\]'
run "no flyp-worker" 2 -- "$dir/nowhere"
has 'no .*/nowhere/flyp-worker'

finish
