#!/usr/bin/env bash
# A 20-run parameter sweep on 2 processes (trivial work) with rystematic's
# and pystematic 1.7.0's run_parameter_sweep (the same call in the same
# experiment shape), whole-process wall time, interleaved rounds, medians;
# and the marginal cost of one more run, from 20-run and 1-run sweeps.
# Usage: bench/sweep.sh [ROUNDS]   (default 9)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-9}
cd "$root"
cargo build --release --quiet -p rystematic-bench
scripts/pyenv
py=$root/target/pyenv/bin/python
rel=$root/target/release
sep=$'\x1f'

measure() { # runs
  SWEEP_RUNS=$1 "$rel/startup" "$rounds" \
    "rystematic=$rel/sweep_bench${sep}sweep" \
    "pystematic=$py$sep$root/bench/py/sweep_bench.py${sep}sweep"
}

declare -A t20 t1
while IFS=$'\t' read -r label ms; do t20[$label]=$ms; done < <(measure 20)
while IFS=$'\t' read -r label ms; do t1[$label]=$ms; done < <(measure 1)

echo "20-run sweep on 2 processes, median of $rounds interleaved runs ($(nproc) cores, $(uname -m))"
echo
echo "| | rystematic | pystematic 1.7.0 | pystematic / rystematic |"
echo "|---|---|---|---|"
awk -v r="${t20[rystematic]}" -v p="${t20[pystematic]}" \
  'BEGIN { printf "| whole sweep, 20 runs | %.1f ms | %.1f ms | %.0f× |\n", r, p, p / r }'
awk -v r20="${t20[rystematic]}" -v r1="${t1[rystematic]}" \
    -v p20="${t20[pystematic]}" -v p1="${t1[pystematic]}" \
  'BEGIN { r = (r20 - r1) / 19; p = (p20 - p1) / 19;
           printf "| each additional run (wall, 2 at a time) | %.2f ms | %.1f ms | %.0f× |\n", r, p, p / r }'
