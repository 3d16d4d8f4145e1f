#!/usr/bin/env bash
# collectives_bench checks its results (see collectives_bench.cc): a 2-rank
# MPI world at 1 KiB .. 64 KiB must pass every check (exit 0, one "ok"
# VERIFY line per op and size, no mismatch), and with --corrupt-for-test
# (rank 1 adds 1 to the last element it contributes) every check must fail
# (exit 1) naming the op, size, first bad index and the values.
#   check.sh MPIEXEC COLLECTIVES_BENCH
set -uo pipefail
mpiexec=$1
bench=$2
run() { "$mpiexec" --allow-run-as-root --oversubscribe -np 2 "$bench" --max_bytes 65536 --iters 5 "$@" 2>&1; }
fails=0
bad() { echo "check.sh: $*" >&2; fails=$((fails + 1)); }
expect_line() { grep -qxF -- "$2" <<<"$1" || bad "missing line: $2"; }

out=$(run)
rc=$?
echo "$out"
[[ $rc == 0 ]] || bad "clean run exited $rc, expected 0"
for bytes in 1024 4096 16384 65536; do
  expect_line "$out" "VERIFY all_reduce size=$bytes ok ($((bytes / 4)) elements on each of 2 ranks)"
  expect_line "$out" "VERIFY all_gather size=$bytes ok ($((bytes / 4)) elements on each of 2 ranks)"
done
[[ $(grep -c '^VERIFY' <<<"$out") == 8 ]] || bad "clean run: expected 8 VERIFY lines"
grep -q 'MISMATCH\|FAILED' <<<"$out" && bad "clean run reported a mismatch"

out=$(run --corrupt-for-test)
rc=$?
echo "$out"
[[ $rc == 1 ]] || bad "corrupted run exited $rc, expected 1"
# 1 KiB = 256 floats. all_reduce: index 255 must be 3 · (1 + 255 mod 127) = 6;
# rank 1 sent 2 · 2 + 1, so both ranks get 7. all_gather: 128 floats per
# rank, rank 1's last one lands at 255 and holds 256.
for r in 0 1; do
  expect_line "$out" "MISMATCH all_reduce size=1024 rank=$r: first bad index 255: expected 6, got 7 (1 of 256 elements wrong)"
  expect_line "$out" "MISMATCH all_gather size=1024 rank=$r: first bad index 255: expected 255, got 256 (1 of 256 elements wrong)"
done
for bytes in 1024 4096 16384 65536; do
  expect_line "$out" "VERIFY all_reduce size=$bytes FAILED: 2 wrong elements on 2 of 2 ranks"
  expect_line "$out" "VERIFY all_gather size=$bytes FAILED: 2 wrong elements on 2 of 2 ranks"
done
grep -q 'collectives_bench: 8 check(s) failed' <<<"$out" || bad "corrupted run: no '8 check(s) failed'"

if [[ $fails != 0 ]]; then
  echo "check.sh: $fails problem(s)" >&2
  exit 1
fi
echo "check.sh: verification passes when right and fails when one element is wrong"
