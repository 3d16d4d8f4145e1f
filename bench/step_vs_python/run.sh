#!/usr/bin/env bash
# flyp vs plain PyTorch: the same FLYP training step (both towers forward,
# contrastive loss, backward, AdamW) timed in flyp_bench_step (C++) and in
# reference.py (Python, Debian's python3-torch = the same LibTorch 1.13).
#
#   bench/step_vs_python/run.sh [--quick] [--build DIR] [--threads N] [--rounds R]
#
# Configurations: tiny (batch 64) and ViT-B-32 (batch 8, 224 px), each under
# two environments, identical for both implementations:
#   default: the process environment as it is;
#   tuned:   OPENBLAS_CORETYPE=<SkylakeX|Haswell for this CPU> (OpenBLAS
#            0.3.21 falls back to generic SSE3 kernels on CPUs newer than
#            itself) and OMP_WAIT_POLICY=PASSIVE (no spinning OpenMP threads
#            fighting OpenBLAS's threads on few, shared cores).
# flyp runs twice: as the product's fast path (FusedAdamW, impl=flyp) and
# with torch::optim::AdamW (impl=flyp_torch_adamw), the optimiser the Python
# reference uses. Each round runs flyp then Python for every configuration, so load changes
# on a shared machine hit both; per run the median step time after warmup is
# taken, per implementation the best (lowest) of the rounds' medians. Prints
# every RESULT line and a table with ratio = flyp / python (< 1: flyp is
# faster) and ratio_torch_adamw = flyp_torch_adamw / python. Needs: the bench built (ninja flyp_bench_step) and
# /usr/bin/python3 with torch (scripts/install-deps --bench).
# Default: one round, about 12 minutes on 2 busy cores; --quick: tuned
# environment only, fewer steps, about 2 minutes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build"
threads=2
quick=0
rounds=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --build) build="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    *) echo "run.sh: unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done

bin="$build/bin/flyp_bench_step"
py=/usr/bin/python3
[[ -x "$bin" ]] || { echo "run.sh: $bin missing: ninja -C $build flyp_bench_step" >&2; exit 1; }
"$py" -c 'import torch' 2>/dev/null || { echo "run.sh: $py has no torch: scripts/install-deps --bench" >&2; exit 1; }

# name | common flags | steps warmup (full) | steps warmup (quick)
configs=(
  "tiny|--preset tiny --batch 64|10 3|5 2"
  "ViT-B-32|--preset ViT-B-32 --batch 8|3 1|2 1"
)

# The OpenBLAS kernels for this CPU (see worker/train/device_util.h).
if grep -qw avx512bw /proc/cpuinfo; then coretype=SkylakeX
elif grep -qw avx2 /proc/cpuinfo; then coretype=Haswell
else coretype=""; fi
envs=("tuned|OPENBLAS_CORETYPE=$coretype OMP_WAIT_POLICY=PASSIVE")
[[ $quick == 0 ]] && envs=("default|" "${envs[@]}")

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), threads=$threads"
echo "== torch (python): $("$py" -c 'import torch;print(torch.__version__)')"
results=$(mktemp)
run_log=$(mktemp)
trap 'rm -f "$results" "$run_log"' EXIT
for ((round = 1; round <= rounds; ++round)); do
  for e in "${envs[@]}"; do
    IFS='|' read -r envname envvars <<<"$e"
    for c in "${configs[@]}"; do
      IFS='|' read -r name flags full quickcfg <<<"$c"
      read -r steps warmup <<<"$([[ $quick == 1 ]] && echo "$quickcfg" || echo "$full")"
      common="$flags --steps $steps --warmup $warmup --threads $threads"
      for variant in --fused-adamw ""; do
        echo "== round $round, env $envname ($envvars): $name flyp: $bin $common $variant"
        # shellcheck disable=SC2086
        env $envvars "$bin" $common $variant | tee "$run_log"
        grep '^RESULT' "$run_log" | sed "s/^/$name\/$envname /" >>"$results"
      done
      flyp_params=$(grep -m1 -o 'params=[0-9]*' "$run_log")
      echo "== round $round, env $envname ($envvars): $name python: $py $here/reference.py $common"
      # shellcheck disable=SC2086
      env $envvars "$py" "$here/reference.py" $common | tee "$run_log"
      grep '^RESULT' "$run_log" | sed "s/^/$name\/$envname /" >>"$results"
      py_params=$(grep -m1 -o 'params=[0-9]*' "$run_log")
      if [[ "$flyp_params" != "$py_params" ]]; then
        echo "run.sh: $name differs: flyp $flyp_params, reference.py $py_params (update PRESETS in reference.py)" >&2
        exit 1
      fi
    done
  done
done

echo
echo "== summary (best of $rounds round(s) of median step times)"
awk '
  { name = $1; impl = ""; med = 0
    for (i = 2; i <= NF; ++i) { split($i, kv, "="); if (kv[1] == "impl") impl = kv[2]; if (kv[1] == "median_ms") med = kv[2] + 0 }
    key = name SUBSEP impl
    if (!(key in best) || med < best[key]) best[key] = med
    if (!(name in seen)) { seen[name] = 1; order[++n] = name } }
  END {
    printf "%-18s %10s %18s %10s %8s %18s\n", "config", "flyp_ms", "flyp_torch_adamw", "python_ms", "ratio", "ratio_torch_adamw"
    for (i = 1; i <= n; ++i) {
      f = best[order[i], "flyp"]; t = best[order[i], "flyp_torch_adamw"]; p = best[order[i], "python"]
      printf "%-18s %10.1f %18.1f %10.1f %8.3f %18.3f\n", order[i], f, t, p, (p > 0 ? f / p : 0), (p > 0 ? t / p : 0)
    }
  }' "$results"
