#!/usr/bin/env bash
# Whole-process wall time of `hello_world` (a run, and --help) in
# rystematic, in pystematic 1.7.0 (installed into a venv by scripts/pyenv)
# and in a bare Rust floor doing the same file writes. Interleaved rounds,
# medians. Usage: bench/startup.sh [ROUNDS]   (default 41)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-41}
cd "$root"
cargo build --release --quiet -p rystematic-examples -p rystematic-bench
scripts/pyenv
py=$root/target/pyenv/bin/python
rel=$root/target/release
sep=$'\x1f'

measure() { # scenario, then the extra args shared by all three
  local scenario=$1; shift
  local args=""; for a in "$@"; do args+="$sep$a"; done
  "$rel/startup" "$rounds" \
    "rystematic=$rel/hello_world$args" \
    "pystematic=$py$sep$root/examples/tests/py/hello_world.py$args" \
    "floor=$rel/hello_floor$args" |
  awk -v s="$scenario" -F'\t' '{ t[$1] = $2 } END {
    printf "| %s | %.2f ms | %.2f ms | %.2f ms | %.0f× | %.2f× |\n",
      s, t["rystematic"], t["pystematic"], t["floor"],
      t["pystematic"] / t["rystematic"], t["rystematic"] / t["floor"] }'
}

echo "hello_world, median of $rounds interleaved runs ($(nproc) cores, $(uname -m))"
echo
echo "| command | rystematic | pystematic 1.7.0 | bare Rust floor | pystematic / rystematic | rystematic / floor |"
echo "|---|---|---|---|---|---|"
measure "run \`--name World\`" --name World
measure "\`--help\`" --help
