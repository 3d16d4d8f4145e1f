#!/usr/bin/env bash
# run.sh's check can fail: runs bench/loader/run.sh against stand-in
# benchmarks (shell scripts printing canned lines in the real formats, so
# the test takes a second and does not depend on this machine's speed) and
# checks the exit status and the verdict lines:
#   ratios >= 3 pass; a row below the target, --target above every row, a
#   step with no RESULT line, a failing step, no Fashion-MNIST row: exit 1
#   naming the row (after the table); usage errors: exit 2.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin"

# The loader rows run.sh reads: 1-thread train rows, images/s in field 6.
cat >"$dir/bin/flyp_bench_loader" <<'SH'
#!/usr/bin/env bash
echo "JPEG 500x375 -> 224 (512 images)"
echo "jpeg@224               loader train  1 threads        ${FAKE_JPEG_RATE:-234.0} images/s     234.0 /s/thread"
echo "jpeg@224               loader train  2 threads        447.0 images/s     223.5 /s/thread"
if [[ -z ${FAKE_NO_FASHION:-} ]]; then
  echo "fashion-mnist@28       loader train  1 threads     178653.0 images/s  178653.0 /s/thread"
else
  echo "fashion-mnist skipped: not found"
fi
SH
# A step bench whose RESULT keys come in another order than the real one's,
# with a key run.sh does not know: run.sh must read them by name.
cat >"$dir/bin/flyp_bench_step" <<'SH'
#!/usr/bin/env bash
preset=""; batch=""
while [[ $# -gt 0 ]]; do
  case "$1" in --preset) preset=$2 ;; --batch) batch=$2 ;; esac
  shift
done
[[ -z ${FAKE_STEP_FAILS:-} ]] || { echo "step: out of memory" >&2; exit 3; }
[[ -z ${FAKE_NO_RESULT:-} ]] || { echo "no result today"; exit 0; }
ms=$([[ $preset == tiny ]] && echo 171.4 || echo "${FAKE_VIT_MS:-6279.1}")
echo "RESULT median_ms=1 batch=1 (an earlier line: the last one counts)"
echo "RESULT impl=flyp new_key=7 median_ms=$ms preset=$preset threads=2 batch=$batch mean_ms=$ms min_ms=$ms steps=2 peak_rss_mib=9"
SH
chmod +x "$dir/bin/"*

# shellcheck source=../script_check.sh
source "$here/../script_check.sh"

# demo 178653.0 / 746.79 = 239.2; ViT-B-16 234.0 / 1.27 = 184.3 (docs/performance.md §5).
run "both rows meet 3" 0 -- --build "$dir"
has '^PASS: every row'
has '^ViT-B-16 +jpeg 500x375 -> 224, b8 +234\.0 +1\.27 +184\.3$'
# ViT-B-16: 232.0 images/s against 8 / 0.1 s = 80 images/s: ratio 2.90 < 3.
run "a row below 3" 1 FAKE_VIT_MS=100 FAKE_JPEG_RATE=232.0 -- --build "$dir"
has '^FAIL ViT-B-16: ratio 2\.90 < target 3 \(loader 232\.0 images/s on 1 thread, step 80\.00 images/s\)$'
has '^demo +fashion-mnist 28 px, tiny, b128 +178653\.0 +746\.79 +239\.2$'
run "--target above every row" 1 -- --build "$dir" --target 1000
has '^FAIL demo: ratio 239\.23 < target 1000 '
has '^FAIL ViT-B-16: ratio 184\.25 < target 1000 '
run "no RESULT line" 1 FAKE_NO_RESULT=1 -- --build "$dir"
has '^FAIL demo: no step measurement'
run "the step fails" 1 FAKE_STEP_FAILS=1 -- --build "$dir"
has '^FAIL ViT-B-16: no step measurement'
run "no Fashion-MNIST" 1 FAKE_NO_FASHION=1 -- --build "$dir"
has '^FAIL demo: no loader measurement'
run "unknown flag" 2 -- --build "$dir" --frobnicate
has 'unknown flag --frobnicate'
run "bad --target" 2 -- --build "$dir" --target three
has '--target must be a non-negative number'
run "flag without value" 2 -- --build "$dir" --target
has '--target needs a value'
run "benchmark not built" 2 -- --build "$dir/nowhere"
has 'flyp_bench_loader missing: ninja'

finish
