#!/bin/bash
# GPU checks for flyp::dist, for a machine with a GPU and the binaries of a
# build directory (default build-dist): the NCCL unit tests and the NCCL
# collectives benchmark in a world of one (one GPU), and with mpirun when it
# is installed. Prints everything; exits non-zero if the NCCL test fails.
#   worker/dist/testdata/gpu_check.sh [build_dir]
set -u
B=${1:-build-dist}/bin
echo "== machine"; nvidia-smi -L 2>&1 | head -4; command -v mpirun || echo "no mpirun"
echo "== missing libraries"; for x in dist_nccl_test collectives_bench; do [ -x $B/$x ] && ldd $B/$x | grep "not found" | sed "s/^/$x: /"; done
echo "== dist_nccl_test"; $B/dist_nccl_test; rc=$?
if [ -x $B/collectives_bench ] && ! ldd $B/collectives_bench | grep -q "not found"; then
  echo "== collectives_bench nccl, 1 rank"
  timeout 120 $B/collectives_bench --backend nccl --min_bytes 1024 --max_bytes 67108864
fi
exit $rc
