#!/usr/bin/env bash
# Keeps bench/gpu/standalone building: configures and builds it against the
# LibTorch found by Torch_DIR, then runs the benchmark for one step. Without
# a GPU the benchmark must refuse with exit code 3 and say why; with one it
# must finish (exit 0).
#   check.sh BUILD_DIR TORCH_DIR
set -euo pipefail
build=$1
torch_dir=$2
src=$(cd "$(dirname "$0")" && pwd)
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTorch_DIR="$torch_dir" >/dev/null
ninja -C "$build" flyp_gpu_bench
set +e
out=$("$build/flyp_gpu_bench" --batch 2 --steps 1 --warmup 0 --layers 1 2>&1)
rc=$?
set -e
echo "$out"
case $rc in
  0) echo "check.sh: ran on a GPU" ;;
  3) grep -q "no CUDA device" <<<"$out" || { echo "check.sh: exit 3 without the reason" >&2; exit 1; } ;;
  *) echo "check.sh: flyp_gpu_bench exited $rc" >&2; exit 1 ;;
esac
