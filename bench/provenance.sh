#!/usr/bin/env bash
# What recording the git state costs a run: the `standalone` example (a
# hello world depending on rystematic alone, so no Burn to build) outside
# any git repository, and inside a dirty 3,000-file one (the dirty check
# and `git.diff` of run.json's provenance). Interleaved rounds, medians.
# Runs after the first find the check in the cache (nothing moved); the
# first run pays for `git diff HEAD` (see "cold" below).
# Usage: bench/provenance.sh [ROUNDS]   (default 41)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-41}
cd "$root"
cargo build --release --quiet -p rystematic-example-standalone -p rystematic-bench
rel=$root/target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/outside" "$work/repo"
(
  cd "$work/repo"
  git init -q .
  for d in $(seq 0 29); do
    mkdir -p "src/m$d"
    for f in $(seq 0 99); do
      printf 'line %s of %s\n' "$f" "$d" > "src/m$d/f$f.txt"
    done
  done
  git add -A
  git -c user.name=b -c user.email=b@b commit -q -m init
  # As in a real repository, files older than the index: git need not
  # re-read "racily clean" files (written in the index's second) every time.
  sleep 1.1
  git update-index -q --really-refresh
  # Dirty: two tracked files changed.
  echo changed >> src/m0/f0.txt
  echo changed >> src/m29/f99.txt
)
sep=$'\x1f'
args="${sep}--name${sep}World${sep}--output-dir${sep}$work/out"
# The caches of this benchmark's own; in the "no cache" one the git cache
# cannot be created (a file stands where its folder would), while the
# executable's hash is cached as everywhere.
export XDG_CACHE_HOME=$work/cache
mkdir -p "$work/nogit/rystematic" && touch "$work/nogit/rystematic/git"
echo "standalone, median of $rounds interleaved runs ($(nproc) cores), 3,000 tracked files, 2 changed"
echo
echo "| where | wall time |"
echo "|---|---|"
"$rel/startup" "$rounds" \
  "outside git=-C${sep}$work/outside${sep}$rel/standalone$args" \
  "dirty 3,000-file repo=-C${sep}$work/repo${sep}$rel/standalone$args" \
  "dirty 3,000-file repo, no cache (git diff every run)=-C${sep}$work/repo${sep}XDG_CACHE_HOME=$work/nogit${sep}$rel/standalone$args" |
  awk -F'\t' '{ printf "| %s | %.2f ms |\n", $1, $2; t[NR] = $2 } END {
    printf "\ninside / outside: %.2f× (%.2f× without the cache)\n", t[2] / t[1], t[3] / t[1] }'
