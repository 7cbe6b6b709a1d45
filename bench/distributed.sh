#!/usr/bin/env bash
# Distributed start-up: whole-process wall time of the `distributed` example
# with 4 workers on one node (agent start, rendezvous, 4 workers started,
# a barrier, a broadcast, each rank's file written, everything torn down),
# against the same experiment as one plain process. The whole run bounds
# "launch to first barrier" from above. Interleaved rounds, medians.
# Usage: bench/distributed.sh [ROUNDS]   (default 41)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-41}
cd "$root"
cargo build --release --quiet -p rystematic-examples -p rystematic-bench
rel=$root/target/release
sep=$'\x1f'
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

"$rel/startup" "$rounds" \
  "four=$rel/distributed$sep--distributed$sep--nproc-per-node${sep}4$sep--master-port$sep$port" \
  "two=$rel/distributed$sep--distributed$sep--nproc-per-node${sep}2$sep--master-port$sep$port" \
  "single=$rel/distributed" |
awk -F'\t' '{ t[$1] = $2 } END {
  printf "distributed example, median of '"$rounds"' interleaved runs ('"$(nproc)"' cores)\n\n"
  print "| run | wall time |"
  print "|---|---|"
  printf "| `--distributed --nproc-per-node 4` (agent + 4 workers, barrier, broadcast) | %.1f ms |\n", t["four"]
  printf "| `--distributed --nproc-per-node 2` | %.1f ms |\n", t["two"]
  printf "| the same experiment, not distributed (one process) | %.1f ms |\n", t["single"]
}'
