#!/usr/bin/env bash
# Data-parallel Burn training steps with 2 ranks on burn_mlp's model (MLP
# 2-32-1, Adam, batches of 32, each rank on its half): one gradient
# exchange per step (a model whose TrainStep::optimize calls
# rystematic_burn::optimize_averaged) vs one exchange per parameter tensor
# (a model that keeps Burn's optimize: the DataParallel optimizer averages
# each tensor), and the same training in one process on whole batches.
# Release build, modes alternated, median of ROUNDS each; rank 0's training
# time (validation included) per training step.
# Usage: bench/burn_dp.sh [ROUNDS] [SAMPLES] [EPOCHS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rounds=${1:-9}
samples=${2:-8192}
epochs=${3:-3}
cargo build --release --quiet -p rystematic-bench --features burn --bin burn_bench
bin=$root/target/release/burn_bench
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The workers inherit the environment, not the arguments.
run() {
  BURN_BENCH_ARGS="$1 $samples $epochs $port $dir/$1" "$bin" 2>/dev/null |
    awk '$1 == "RESULT" { print $5 }'
}
one=(); per=(); single=()
for _ in $(seq "$rounds"); do
  one+=("$(run dp)")
  per+=("$(run dp-per-tensor)")
  single+=("$(run dp-one-process)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
o=$(median "${one[@]}"); p=$(median "${per[@]}"); s=$(median "${single[@]}")
steps=$(( (samples + 31) / 32 * epochs ))
echo "Data-parallel Burn step, 2 ranks, $steps steps of batch 32 (MLP 2-32-1, flex CPU backend; $(nproc) cores, $(uname -m)); median of $rounds runs"
echo
echo "| one exchange per tensor (model not opted in) | one exchange per step (optimize_averaged) | one process |"
echo "|---|---|---|"
awk -v p="$p" -v o="$o" -v s="$s" 'BEGIN { printf "| %.1f µs/step | %.1f µs/step (%.2f×) | %.1f µs/step |\n", p, o, o / p, s }'
