#!/usr/bin/env bash
# `rystematic ls` over 10,000 run directories (made by bench/py/ls_runs.py,
# which bench/ls_peers.sh shares: run.json, parameters.yaml with a few
# differing parameters, a 300-row scalars.csv, and a mix of statuses incl. a
# `running` one whose process is gone, plus sweeps), with a warm page cache.
# Median of ROUNDS runs.
# Also `rystematic report` over the same runs, and, when chromium is
# installed, how long the report takes to open in it (to the page marking
# itself ready with one run's charts drawn) and how many table rows it
# puts in the DOM (one page, not every run).
# Usage: bench/ls.sh [RUNS] [ROUNDS]   (defaults 10000, 11)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10000}
rounds=${2:-11}
cd "$root"
cargo build --release --quiet -p rystematic-cli -p rystematic-bench
rel=$root/target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$root/bench/py/ls_runs.py" rystematic "$work/output" "$runs"
sep=$'\x1f'
lines=$("$rel/rystematic" ls "$work/output" | wc -l)
echo "rystematic ls over $runs runs ($lines lines of output), median of $rounds, warm cache ($(nproc) cores)"
echo
echo "| command | wall time |"
echo "|---|---|"
"$rel/startup" "$rounds" \
  "\`rystematic ls\`=$rel/rystematic${sep}ls${sep}$work/output" \
  "\`rystematic ls --json\`=$rel/rystematic${sep}ls${sep}$work/output${sep}--json" \
  "\`rystematic ls --status dead --sort train/loss\`=$rel/rystematic${sep}ls${sep}$work/output${sep}--status${sep}dead${sep}--sort${sep}train/loss" \
  "\`rystematic report\`=$rel/rystematic${sep}report${sep}$work/output${sep}-o${sep}$work/report.html" |
  awk -F'\t' '{ printf "| %s | %.1f ms |\n", $1, $2 }'
# CPU time (user + sys) too: on a shared machine the wall time also counts
# the wait for a core.
for _ in $(seq "$rounds"); do
  /usr/bin/time -f "%U %S" "$rel/rystematic" ls "$work/output" 2>&1 >/dev/null | awk '{ print ($1 + $2) * 1000 }'
done | sort -n | awk '{ t[NR] = $1 } END { printf "\nCPU time of `rystematic ls` (user + sys, median): %.0f ms; load average %s\n", t[int((NR + 1) / 2)], load }' load="$(cut -d' ' -f1 /proc/loadavg)"

echo
echo "report: $(du -k "$work/report.html" | cut -f1) KiB for $runs runs"
if command -v chromium >/dev/null; then
  first=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["path"])' < <("$rel/rystematic" ls "$work/output" --json))
  profile=$(mktemp -d -p "$work")
  start=$(date +%s%N)
  dom=$(chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --disable-background-networking --no-first-run --user-data-dir="$profile" \
    --virtual-time-budget=60000 --dump-dom "file://$work/report.html#select=$first" 2>/dev/null)
  end=$(date +%s%N)
  body=$(grep -o '<body[^>]*>' <<<"$dom" | head -1)
  ready=""
  if grep -q ' data-ready="1"' <<<"$body"; then
    ready=$(grep -o 'data-ready-ms="[0-9]*"' <<<"$body" | tr -dc '0-9')
  fi
  [ -n "$ready" ] || { echo "error: the report never got ready" >&2; exit 1; }
  echo "report in headless chromium: table and one run's charts shown ${ready} ms after navigation" \
    "(whole browser process incl. start and dumping the DOM: $(( (end - start) / 1000000 )) ms);" \
    "table rows in the DOM: $(grep -o '<tr data-run=' <<<"$dom" | wc -l)"
fi
