#!/usr/bin/env bash
# Multi-host scaling over TCP: the same contrastive training job (the tiny
# CLIP from random weights, global batch 128) as
#   1 host  x 1 rank   (the baseline),
#   1 host  x 2 ranks  (shared memory between the ranks),
#   2 hosts x 1 rank   (MPI over TCP across a veth link),
# with the mpirun settings flyp's hosts launcher uses (one app context per
# rank pinned with taskset to its own core, --bind-to none, OOB and BTL on
# the hosts' subnet). Prints each run's mean step time and phase breakdown,
# the speedup and scaling efficiency against the baseline, and for the
# 2-host run the bytes that crossed host 2's link per step against the
# model's size (a 2-rank ring all-reduce moves about twice the gradient
# bytes over the link per step, plus the embedding all-gather).
#
# "Hosts" are Linux network namespaces on a bridge with addresses from the
# benchmarking range 198.18.0.0/15 (never anything else), entered through an
# rsh agent that runs `ip netns exec`. They share this machine's CPUs: the
# ranks of every run are pinned to distinct cores, so the comparison
# isolates what the network costs. Needs root; removes everything it made,
# also when interrupted.
#
#   bench/multinode/run.sh [BIN_DIR] [STEPS]     (default build/bin, 40)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="$(realpath "${1:-build/bin}")"
steps="${2:-40}"
[[ $(id -u) -eq 0 ]] || { echo "multinode: needs root (network namespaces)" >&2; exit 2; }
command -v ip >/dev/null || { echo "multinode: iproute2's ip is missing" >&2; exit 2; }
[[ -x $bin/flyp-worker ]] || { echo "multinode: no $bin/flyp-worker (build it first)" >&2; exit 2; }
cores=$(nproc)
((cores >= 2)) || { echo "multinode: needs 2 CPUs (one per rank)" >&2; exit 2; }

tag="flypmn$$"
dir=$(mktemp -d)
# A /24 of 198.18.0.0/16 no interface uses.
used=$(ip -4 -o addr show | grep -o 'inet 198\.18\.[0-9]*\.' | cut -d. -f3 | sort -u || true)
net=""
for s in $(seq 200 254) $(seq 1 199); do
  if ! grep -qx "$s" <<<"$used"; then net="198.18.$s"; break; fi
done
[[ -n $net ]] || { echo "multinode: no free /24 in 198.18.0.0/16" >&2; exit 2; }

cleanup() {
  for h in 1 2; do
    for p in $(ip netns pids "${tag}h$h" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "${tag}h$h" 2>/dev/null || true
  done
  ip link del "${tag}br" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

ip link add "${tag}br" type bridge
ip addr add "$net.1/24" dev "${tag}br"
ip link set "${tag}br" up
for h in 1 2; do
  ip netns add "${tag}h$h"
  ip link add "${tag}v$h" type veth peer name eth0 netns "${tag}h$h"
  ip link set "${tag}v$h" master "${tag}br" up
  ip netns exec "${tag}h$h" ip addr add "$net.1$h/24" dev eth0
  ip netns exec "${tag}h$h" ip link set eth0 up
  ip netns exec "${tag}h$h" ip link set lo up
done

# The rsh agent: `agent HOST WORDS...`; Open MPI passes the words shell-quoted,
# so they run through sh -c, as sshd runs a remote command.
cat >"$dir/agent" <<AGENT
#!/usr/bin/env bash
host="\$1"; shift
case "\$host" in
  $net.11) ns=${tag}h1 ;;
  $net.12) ns=${tag}h2 ;;
  *) echo "agent: unknown host \$host" >&2; exit 255 ;;
esac
exec ip netns exec "\$ns" sh -c "\$*"
AGENT
chmod +x "$dir/agent"

cat >"$dir/job.yaml" <<YAML
name: multinode
model: {preset: tiny, vocab: byte, architecture: {text: {vocab_size: 514}}}
method: {name: pretrain}
data: {train: {format: fashion_mnist, split: train, limit: $((128 * steps))}}
schedule: {epochs: 1, batch_size: 128, warmup_steps: 5, log_every_steps: 1000}
run_policy: {checkpoint_every: 0}
wise_ft: {enabled: false}
YAML

mpirun=(mpirun --allow-run-as-root --oversubscribe --tag-output --bind-to none
        --mca plm_rsh_agent "$dir/agent" --mca plm_rsh_no_tree_spawn 1
        --mca oob_tcp_if_include "$net.0/24" --mca btl_tcp_if_include "$net.0/24")
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 FLYP_THREADS=1

# run NAME HOST_OF_RANK0 [HOST_OF_RANK1]: prints the breakdown line; mean ms/step in $ms
run() {
  local name="$1"; shift
  local args=() r=0 n=$#
  for host in "$@"; do
    local on_host=0
    for h in "$@"; do [[ $h == "$host" ]] && on_host=$((on_host + 1)); done
    ((r > 0)) && args+=(":")
    args+=(-np 1 --host "$net.1$host:$on_host" -x OMP_WAIT_POLICY -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS
           -x FLYP_THREADS -x PATH -x LD_LIBRARY_PATH
           /usr/bin/taskset -c "$r" "$bin/flyp-worker" --spec "$dir/job.yaml" --no-resume --output "$dir/out-$name")
    r=$((r + 1))
  done
  local before after line
  before=$(( $(cat /sys/class/net/${tag}v2/statistics/rx_bytes) + $(cat /sys/class/net/${tag}v2/statistics/tx_bytes) ))
  line=$("${mpirun[@]}" "${args[@]}" 2>&1 | grep -o 'step time breakdown.*' | head -1)
  after=$(( $(cat /sys/class/net/${tag}v2/statistics/rx_bytes) + $(cat /sys/class/net/${tag}v2/statistics/tx_bytes) ))
  link_bytes=$((after - before))
  [[ -n $line ]] || { echo "multinode: run $name printed no breakdown" >&2; exit 1; }
  # "data 0.86 forward+gather 59.39 backward 89.99 allreduce 0.00 optimizer 0.55": the phases add up to the step
  ms=$(awk '{s = 0; for (i = 2; i <= NF; i += 2) s += $i; printf "%.1f", s}' <<<"${line#*ms/step): }")
  printf '%-16s %8s ms/step   %s\n' "$name" "$ms" "${line#*(mean ms/step): }"
}

echo "machine: $cores cores; hosts on $net.0/24; global batch 128; $steps steps; 1 thread per rank, each rank on its own core"
run "1 host x 1" 1;     t11=$ms
run "1 host x 2" 1 1;   t12=$ms; b12=$link_bytes
run "2 hosts x 1" 1 2;  t21=$ms; b21=$link_bytes
model=$(stat -c %s "$dir/out-2 hosts x 1/final.safetensors")
awk -v t11="$t11" -v t12="$t12" -v t21="$t21" -v b12="$b12" -v b21="$b21" -v steps="$steps" -v model="$model" 'BEGIN {
  printf "speedup vs 1 rank: 1 host x 2 = %.2fx (efficiency %.0f%%), 2 hosts x 1 = %.2fx (efficiency %.0f%%)\n",
         t11 / t12, 100 * t11 / t12 / 2, t11 / t21, 100 * t11 / t21 / 2
  printf "2 hosts x 1 vs 1 host x 2: %.2fx the step time (TCP over the veth instead of shared memory)\n", t21 / t12
  printf "host 2 link: %.2f MB/step in the 2-host run (%.0f bytes over %d steps; %.0f during the 1-host run), model %.2f MB (final.safetensors): %.2fx the model per step\n",
         b21 / steps / 1e6, b21, steps, b12, model / 1e6, b21 / steps / model
}'
