#!/usr/bin/env bash
# flyp vs plain PyTorch, and the benchmark vs a real job, on one FLYP step
# (both towers forward, contrastive loss, backward, AdamW):
#   flyp    flyp_bench_step: the product's training loop (train::RunJob, as
#           flyp-worker train runs it), with the GEMM roofline;
#   python  reference.py: the same step in plain PyTorch (Debian's
#           python3-torch = the same LibTorch 1.13, same kernels);
#   worker  the job flyp_bench_step ran (--write-spec), submitted to a local
#           flyp-coordinator and run by its launcher (mpirun, the rank pinned
#           to its slots), its step times read from the job's events.jsonl;
#           its text-tower work per step (captions_encoded, caption_tokens)
#           must equal flyp's, or the run fails (exit 2).
# Every round runs flyp, python and worker for every configuration, so a load
# change on a shared machine hits all three; each run's figure is its median
# step time after warmup. Ratios are paired within a round (flyp/python and
# worker/flyp of the same round); the summary prints their median over the
# rounds and the spread (min-max), and the roofline of the last round.
#
#   bench/step_vs_python/run.sh [--rounds 5] [--quick] [--build DIR] [--threads N]
#                               [--precision float32|bfloat16] [--target 0.67] [--no-worker]
#                               [--vocab FILE|byte]
#
# Configurations: tiny (batch 64, 28 px) and ViT-B-32 (batch 16, 224 px),
# and ViT-B-32/80t for information (below).
# Environment: the worker's own, identical for all three: flyp_bench_step and
# flyp-worker pick OpenBLAS's kernels for this CPU themselves (their
# re-execution with OPENBLAS_CORETYPE); python is given the same
# OPENBLAS_CORETYPE, and all run with the local launcher's
# OMP_WAIT_POLICY=PASSIVE and OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = threads.
# --precision bfloat16: both flyp and python run the encoders under bf16
# autocast (worth it only with AVX-512-BF16 or AMX; the ISA is printed).
#
# Exit status: 0 when, for every configuration, the median flyp/python ratio
# is <= --target (issue 20: 0.67, 1.5x faster) and the median worker/flyp
# ratio lies in [0.9, 1.1]; 1 when a target is missed (the summary says
# which); 2 for usage errors or a run that failed.
# --quick: 2 rounds, fewer steps (checks the pipeline, not the claim).
# --vocab: the tokenizer of flyp's captions (and the worker job's). Default:
# CLIP's BPE vocabulary, ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz
# beside the checkout, as a user's job has it ("a photo of a t-shirt/top."
# is 11 tokens); "byte" where that file is absent (the same caption is 27
# byte tokens). The text tower runs the positions up to a batch's last EOT,
# so the tokenizer changes flyp's work; reference.py runs all 77 positions
# of random token rows, as open_clip does, whatever the tokenizer.
# Needs: ninja -C build flyp_bench_step flyp-worker flyp-coordinator flypctl;
# /usr/bin/python3 with torch (scripts/install-deps --bench); Fashion-MNIST.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build"
threads=$(nproc)
rounds=5
quick=0
precision=float32
target=0.67
worker=1
vocab="$root/../shared/data/clip/bpe_simple_vocab_16e6.txt.gz"
[[ -r "$vocab" ]] || vocab=byte
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1; rounds=2 ;;
    --build) build="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --precision) precision="$2"; shift ;;
    --target) target="$2"; shift ;;
    --no-worker) worker=0 ;;
    --vocab) vocab="$2"; shift ;;
    *) echo "run.sh: unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds must be a positive integer (got '$rounds')" >&2; exit 2; }
[[ "$precision" == float32 || "$precision" == bfloat16 ]] ||
  { echo "run.sh: --precision must be float32 or bfloat16 (got '$precision')" >&2; exit 2; }

bin="$build/bin"
py=/usr/bin/python3
need=(flyp_bench_step)
[[ $worker == 1 ]] && need+=(flyp-worker flyp-coordinator flypctl)
for b in "${need[@]}"; do
  [[ -x "$bin/$b" ]] || { echo "run.sh: $bin/$b missing: ninja -C $build ${need[*]}" >&2; exit 2; }
done
if [[ "$vocab" != byte ]]; then
  [[ -r "$vocab" ]] || { echo "run.sh: --vocab $vocab: not a readable file" >&2; exit 2; }
  vocab=$(realpath "$vocab")
fi
"$py" -c 'import torch' 2>/dev/null || { echo "run.sh: $py has no torch: scripts/install-deps --bench" >&2; exit 2; }

# name | flags | steps warmup (full) | steps warmup (quick) | info
# flyp encodes each distinct caption of a batch once; with one template a
# batch repeats captions wherever it repeats a class (16 Fashion-MNIST images
# have ~8 distinct ones). ViT-B-32/80t draws one of 80 templates per image,
# so captions hardly repeat: the step without that saving, for information
# (no target, no worker run).
# ViT-B-32 warms up for 2 steps: its second step is still 10-30 % slower
# than the later ones (allocator, page faults), and with 3 timed steps that
# one step moved a run's median.
configs=(
  "tiny|--preset tiny --batch 64|10 3|4 1|"
  "ViT-B-32|--preset ViT-B-32 --batch 16|5 2|1 1|"
  "ViT-B-32/80t|--preset ViT-B-32 --batch 16 --templates openai_imagenet|5 2|1 1|info"
)

work=$(mktemp -d)
coord_pid=""
cleanup() {
  [[ -n "$coord_pid" ]] && { kill "$coord_pid" 2>/dev/null; wait "$coord_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"

if [[ $worker == 1 ]]; then
  vocab_root=()
  [[ "$vocab" != byte ]] && vocab_root=(--data-root "$(dirname "$vocab")")
  "$bin/flyp-coordinator" --listen 127.0.0.1:0 --port-file "$work/port" --db "$work/jobs.db" \
    --artifact-root "$work/artifacts" --data-root /usr/share/datasets --data-root "$work" \
    "${vocab_root[@]}" \
    --cpu-slots "$(nproc)" --metrics-listen off >"$work/coordinator.log" 2>&1 &
  coord_pid=$!
  for _ in $(seq 200); do [[ -s "$work/port" ]] && break; sleep 0.1; done
  [[ -s "$work/port" ]] || { echo "run.sh: the coordinator did not start:" >&2; cat "$work/coordinator.log" >&2; exit 2; }
  FLYP_SERVER="127.0.0.1:$(cat "$work/port")"
  export FLYP_SERVER FLYP_CONFIG="$work/no-config.yaml"
  unset FLYP_TOKEN FLYP_TOKEN_FILE FLYP_CONTEXT
fi

# "MEDIAN MIN MAX" of the numbers on stdin; median: the first of them.
spread() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }'; }
median() { spread | cut -d' ' -f1; }
# The value of key=VALUE in a RESULT line.
field() { grep -o "\b$1=[^ ]*" | head -1 | cut -d= -f2; }

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), threads=$threads, precision=$precision"
echo "== torch (python): $("$py" -c 'import torch;print(torch.__version__)')"
echo "== flyp's captions: vocab $vocab"
rows="$work/rows"  # config round flyp_ms python_ms worker_ms
: >"$rows"
for ((round = 1; round <= rounds; ++round)); do
  for c in "${configs[@]}"; do
    IFS='|' read -r name flags full quickcfg info <<<"$c"
    read -r steps warmup <<<"$([[ $quick == 1 ]] && echo "$quickcfg" || echo "$full")"
    common="$flags --steps $steps --warmup $warmup --threads $threads --precision $precision"
    spec="$work/${name//\//-}.yaml"
    echo "== round $round: $name flyp: $bin/flyp_bench_step $common"
    # shellcheck disable=SC2086
    "$bin/flyp_bench_step" $common --vocab "$vocab" --write-spec "$spec" --gemm-seconds "$([[ $round == "$rounds" ]] && echo 3 || echo 0)" \
      >"$work/flyp.log" 2>"$work/flyp.err" || { cat "$work/flyp.err" >&2; echo "run.sh: flyp_bench_step failed" >&2; exit 2; }
    grep -v '^step ' "$work/flyp.log"
    flyp_ms=$(grep '^RESULT' "$work/flyp.log" | field median_ms)
    core=$(grep -m1 -o 'openblas_core=[^ ]*' "$work/flyp.log" | cut -d= -f2)
    flyp_params=$(grep -m1 -o 'params=[0-9]*' "$work/flyp.log")
    [[ $round == "$rounds" ]] && grep '^ROOFLINE' "$work/flyp.log" | sed "s|^|$name |" >>"$work/roofline"

    echo "== round $round: $name python: OPENBLAS_CORETYPE=$core $py reference.py $common"
    # shellcheck disable=SC2086
    OPENBLAS_CORETYPE="$core" "$py" "$here/reference.py" $common >"$work/py.log" ||
      { echo "run.sh: reference.py failed" >&2; exit 2; }
    grep '^RESULT\|^reference' "$work/py.log"
    python_ms=$(grep '^RESULT' "$work/py.log" | field median_ms)
    py_params=$(grep -m1 -o 'params=[0-9]*' "$work/py.log")
    if [[ "$flyp_params" != "$py_params" ]]; then
      echo "run.sh: $name differs: flyp $flyp_params, reference.py $py_params (update PRESETS in reference.py)" >&2
      exit 2
    fi

    worker_ms=0
    if [[ $worker == 1 && -z "$info" ]]; then
      id=$("$bin/flypctl" submit "$spec")
      "$bin/flypctl" watch "$id" >"$work/watch.log" 2>&1 ||
        { echo "run.sh: worker job $id did not succeed:" >&2; "$bin/flypctl" logs "$id" | tail -20 >&2; exit 2; }
      grep '"type":"progress"' "$work/artifacts/$id/events.jsonl" |
        awk -v w="$warmup" -F'"step":' '{ split($2, a, ","); if (a[1] + 0 > w) print }' >"$work/timed.jsonl"
      worker_ms=$(grep -o '"step_seconds":[^,}]*' "$work/timed.jsonl" | cut -d: -f2 | awk '{ print 1000 * $1 }' | median)
      # The job must have done the benchmark's work: the same distinct
      # captions and text positions at every timed step.
      flyp_text=$(sed -nE 's/^step .* timed .* text ([0-9]+)\/([0-9]+)$/\1 \2/p' "$work/flyp.log" | paste -sd,)
      worker_text=$(sed -nE 's/.*"captions_encoded":([0-9]+),"caption_tokens":([0-9]+).*/\1 \2/p' "$work/timed.jsonl" | paste -sd,)
      [[ -n "$flyp_text" && "$flyp_text" == "$worker_text" ]] || {
        echo "run.sh: job $id's text-tower work per step (captions tokens: $worker_text) differs from flyp_bench_step's ($flyp_text)" >&2
        exit 2
      }
      echo "== round $round: $name worker: job $id (flyp-coordinator, local launcher) median ${worker_ms} ms"
    fi
    echo "$name $round $flyp_ms $python_ms $worker_ms" >>"$rows"
    awk -v n="$name" -v r="$round" -v f="$flyp_ms" -v p="$python_ms" -v w="$worker_ms" 'BEGIN {
      printf "== round %d: %s flyp/python %.3f", r, n, f / p; if (w > 0) printf ", worker/flyp %.3f", w / f; printf "\n" }'
  done
done

echo
echo "== summary: $rounds round(s), per-round medians; ratios paired within a round (median [min-max])"
fail=0
printf "%-12s %10s %10s %10s %26s %26s\n" config flyp_ms python_ms worker_ms "flyp/python" "worker/flyp"
for c in "${configs[@]}"; do
  IFS='|' read -r name _ _ _ info <<<"$c"
  # The spread over the rounds of an awk expression of a row's columns.
  col() { awk -v n="$name" "\$1 == n { print $1 }" "$rows" | spread; }
  read -r f _ <<<"$(col '$3')"
  read -r p _ <<<"$(col '$4')"
  read -r w _ <<<"$(col '$5')"
  read -r r1 lo1 hi1 <<<"$(col '$3 / $4')"
  read -r r2 lo2 hi2 <<<"$(col '($5 > 0 ? $5 / $3 : 0)')"
  line=$(awk -v n="$name" -v target="$target" -v worker="$worker" -v info="$info" -v f="$f" -v p="$p" -v w="$w" \
    -v r1="$r1" -v lo1="$lo1" -v hi1="$hi1" -v r2="$r2" -v lo2="$lo2" -v hi2="$hi2" 'BEGIN {
      verdict = (r1 <= target ? "" : sprintf(" MISSED flyp/python %.3f > %.2f", r1, target))
      if (info != "") verdict = " (information: no target)"
      else if (worker == 1 && (r2 < 0.9 || r2 > 1.1)) verdict = verdict sprintf(" MISSED worker/flyp %.3f outside [0.9, 1.1]", r2)
      printf "%-12s %10.1f %10.1f %10.1f %8.3f [%.3f-%.3f]%8s %8.3f [%.3f-%.3f]%s\n", n, f, p, w, r1, lo1, hi1, "", r2, lo2, hi2, verdict
    }')
  echo "$line"
  [[ "$line" == *MISSED* ]] && fail=1
done
if [[ -s "$work/roofline" ]]; then
  echo
  echo "== roofline (last round; FLOPs per step from the model config, docs/performance.md)"
  cat "$work/roofline"
fi
exit "$fail"
