#!/usr/bin/env bash
# The Burn integration's overhead on a training step (issue 13): the same
# Learner, metrics logged every step and a checkpoint every epoch, through
# rystematic_burn::fit in a run vs Burn's defaults (file metric logger,
# experiment.log, CLI renderer, file checkpointers). Release build, runs
# alternated, median of ROUNDS each. Goal: ratio <= 1.05.
# Usage: bench/burn.sh [ROUNDS] [SAMPLES] [EPOCHS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rounds=${1:-7}
samples=${2:-8192}
epochs=${3:-3}
cargo build --release --quiet -p rystematic-bench --features burn --bin burn_bench
bin=$root/target/release/burn_bench

run() { "$bin" "$1" "$samples" "$epochs" 2>/dev/null | awk '$1 == "RESULT" { print $5 }'; }
burn=(); ryst=()
for _ in $(seq "$rounds"); do
  burn+=("$(run burn)")
  ryst+=("$(run rystematic)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
b=$(median "${burn[@]}"); r=$(median "${ryst[@]}")
steps=$(( (samples + 31) / 32 * epochs ))
echo "Burn training step, $steps steps of batch 32 (MLP 2-64-1, flex CPU backend; $(nproc) cores, $(uname -m)); median of $rounds runs"
echo
echo "| Burn's defaults | rystematic_burn::fit | ratio |"
echo "|---|---|---|"
awk -v b="$b" -v r="$r" 'BEGIN { printf "| %.1f µs/step | %.1f µs/step | %.3f× |\n", b, r, r / b }'
