#!/usr/bin/env bash
# Scalars per second into the recorder (TensorBoard + CSV backends) against
# tensorboardX's add_scalar (installed by scripts/pyenv), same loop, same
# machine; and peak memory while writing 10 million scalars.
# Usage: bench/recorder.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --quiet -p rystematic-bench
scripts/pyenv
py=$root/target/pyenv/bin/python
rel=$root/target/release

# scalars seconds rate peak_rss_kib
read -r _ _ r2 m2 < <("$rel/recorder_bench" 10000000 2)
read -r _ _ r1000 m1000 < <("$rel/recorder_bench" 10000000 1000)
read -r _ _ r_small m_small < <("$rel/recorder_bench" 1000000 2)
read -r _ _ t2 tm2 < <("$py" bench/py/tbx_bench.py 100000 2)
read -r _ _ t1000 tm1000 < <("$py" bench/py/tbx_bench.py 100000 1000)

echo "Scalars per second ($(nproc) cores, $(uname -m)); rystematic writes 10 M scalars, tensorboardX 100 k"
echo
echo "| scalars per step | rystematic-recorder (TensorBoard + CSV) | tensorboardX add_scalar | ratio |"
echo "|---|---|---|---|"
awk -v r="$r2" -v t="$t2" 'BEGIN { printf "| 2 (a flush every step) | %.2f M/s | %.1f k/s | %.0f× |\n", r / 1e6, t / 1e3, r / t }'
awk -v r="$r1000" -v t="$t1000" 'BEGIN { printf "| 1000 | %.2f M/s | %.1f k/s | %.0f× |\n", r / 1e6, t / 1e3, r / t }'
echo
echo "| peak resident memory | rystematic-recorder | tensorboardX |"
echo "|---|---|---|"
awk -v a="$m_small" -v b="$m2" -v t="$tm2" 'BEGIN { printf "| 1 M scalars / 10 M scalars (rystematic), 100 k (tensorboardX) | %.1f MiB / %.1f MiB | %.1f MiB |\n", a / 1024, b / 1024, t / 1024 }'
