#!/usr/bin/env bash
# Per-run cost of a command-line sweep as it grows: `sweep work` (trivial
# work) over 100, 1,000 and 20,000 parameter sets on 2 processes, whole
# sweep wall time divided by the number of runs. A flat column means the
# sweep's own bookkeeping (manifest, journal, queue) does not grow with it.
# Usage: bench/sweep_scaling.sh [SIZES...]   (default: 100 1000 20000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --quiet -p rystematic-examples
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 20000)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "sweep work, --jobs 2, $(nproc) cores; per-run wall time"
echo
echo "| runs | whole sweep | per run | manifest files at the end |"
echo "|---|---|---|---|"
for n in "${sizes[@]}"; do
  out=$scratch/$n
  mkdir -p "$out"
  start=$(date +%s%N)
  (cd "$out" && "$root/target/release/sweep" work --str-param x --sweep "int_param=0..$n" \
    --jobs 2 >/dev/null 2>&1)
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  dir=$(ls -d "$out"/output/sweeps/work/*/)
  size=$(du -ch "$dir/sweep.json" "$dir/sweep.journal" 2>/dev/null | tail -1 | cut -f1)
  awk -v n="$n" -v ms="$ms" -v size="$size" \
    'BEGIN { printf "| %d | %.1f s | %.2f ms | %s |\n", n, ms / 1000, ms / n, size }'
  rm -rf "$out"
done
