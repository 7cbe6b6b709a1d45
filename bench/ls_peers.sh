#!/usr/bin/env bash
# `rystematic ls` against MLflow's and Guild's listings of the same runs:
# RUNS runs (4 experiments, 7 parameters, 100 steps of 3 metrics, 70%
# completed and 10% each failed, interrupted and dead) made by
# bench/py/ls_runs.py in each tool's own on-disk format — rystematic's run
# directories, MLflow's file store (no server), Guild's runs directory —
# and read back by each tool (row count and statuses) before anything is
# timed. Then whole-process wall time, interleaved rounds, medians, warm
# page cache (bench/src/bin/startup.rs).
# The peers live in their own venv, target/peers-pyenv, made here from
# bench/peers-requirements.txt (again only when that file changes).
# Usage: bench/ls_peers.sh [RUNS] [ROUNDS]   (defaults 10000, 5: a round
# takes about a minute, most of it MLflow's; the whole script about 15
# minutes on 2 cores, with making the runs and the MLflow migration)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10000}
rounds=${2:-5}
cd "$root"
cargo build --release --quiet -p rystematic-cli -p rystematic-bench
rel=$root/target/release

venv=$root/target/peers-pyenv
req=$root/bench/peers-requirements.txt
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$venv/.requirements.sha256"
fi
py=$venv/bin/python

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gen() { "$2" "$root/bench/py/ls_runs.py" "$1" "$3" "$runs"; }
gen rystematic python3 "$work/output"
gen mlflow "$py" "$work/mlruns"
gen guild "$py" "$work/guild"
# MLflow's default store is a SQLite database (the file store is in
# "maintenance mode"): the same runs there, copied by MLflow's own tool.
MLFLOW_DISABLE_TELEMETRY=true "$venv/bin/mlflow" migrate-filestore --no-progress \
  --source "$work/mlruns" --target "sqlite:///$work/mlflow.db" > /dev/null

# MLflow 3.17 refuses its file store unless told it may use it; no
# telemetry for either tool (a network call is not part of listing).
mlflow_env=(MLFLOW_TRACKING_URI="file://$work/mlruns" MLFLOW_ALLOW_FILE_STORE=true
  MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true)
guild_env=(GUILD_HOME="$work/guild" DO_NOT_TRACK=true)
sqlite_env=(MLFLOW_TRACKING_URI="sqlite:///$work/mlflow.db" MLFLOW_DISABLE_TELEMETRY=true
  DO_NOT_TRACK=true)
check() { "$py" "$root/bench/py/ls_peers_check.py" "$1" "$runs"; }

# Each command, with what it lists and how many run rows it printed (read
# back and checked by ls_peers_check.py where the output has statuses).
labels=() cmds=() lists=() counts=()
add() { # LABEL LISTS ROWS ENV... -- ARGV...
  local label=$1 what=$2 rows=$3
  shift 3
  local words=()
  while [ "$1" != -- ]; do words+=("$1"); shift; done
  shift
  words+=("$@")
  labels+=("$label") lists+=("$what") counts+=("$rows")
  cmds+=("$(IFS=$'\x1f'; echo "${words[*]}")")
}
lines() { "$@" | wc -l; }

# Run rows only: not the header, nor the sweeps' table below them.
add '`rystematic ls`' 'all runs: status, start, duration, differing parameters, last metrics (table); sweeps' \
  "$("$rel/rystematic" ls "$work/output" | grep -cE '^[0-9_-]+ ')" -- "$rel/rystematic" ls "$work/output"
add '`rystematic ls --json`' 'the same as JSON' \
  "$("$rel/rystematic" ls "$work/output" --json | check rystematic-json)" -- "$rel/rystematic" ls "$work/output" --json
add '`python peers_mlflow_ls.py csv` (`mlflow.search_runs`)' 'all runs: status, start, end, all parameters, last metrics (CSV)' \
  "$(env "${mlflow_env[@]}" "$py" bench/py/peers_mlflow_ls.py csv | check mlflow-csv)" \
  "${mlflow_env[@]}" -- "$py" "$root/bench/py/peers_mlflow_ls.py" csv
add '`python peers_mlflow_ls.py json`' 'the same as JSON' \
  "$(env "${mlflow_env[@]}" "$py" bench/py/peers_mlflow_ls.py json | check mlflow-json)" \
  "${mlflow_env[@]}" -- "$py" "$root/bench/py/peers_mlflow_ls.py" json
add '`python peers_mlflow_ls.py csv`, SQLite store' 'the same from `sqlite:///mlflow.db`' \
  "$(env "${sqlite_env[@]}" "$py" bench/py/peers_mlflow_ls.py csv | check mlflow-csv)" \
  "${sqlite_env[@]}" -- "$py" "$root/bench/py/peers_mlflow_ls.py" csv
add '`python -c "import mlflow"`' 'nothing: the interpreter and the import a listing starts with' 0 \
  "${mlflow_env[@]}" -- "$py" -c 'import mlflow'
n=$(env "${mlflow_env[@]}" "$venv/bin/mlflow" runs list --experiment-id 1 | wc -l)
add '`mlflow runs list --experiment-id 1`' "one experiment ($((runs / 4)) runs): date, name, id; stops at 1,000 rows" \
  $((n - 2)) "${mlflow_env[@]}" -- "$venv/bin/mlflow" runs list --experiment-id 1
env "${guild_env[@]}" "$venv/bin/guild" compare --csv - > "$work/guild.csv"
add '`guild compare --csv -`' 'all runs: status, start, duration, label, all flags, last scalars (CSV)' \
  "$(check guild-csv < "$work/guild.csv")" "${guild_env[@]}" -- "$venv/bin/guild" compare --csv -
add '`guild runs list --all`' 'all runs: operation, start, status, label (table)' \
  "$(lines env "${guild_env[@]}" "$venv/bin/guild" runs list --all)" \
  "${guild_env[@]}" -- "$venv/bin/guild" runs list --all
add '`guild runs list --json`' 'all runs: status, start, stop, label, command (JSON)' \
  "$(env "${guild_env[@]}" "$venv/bin/guild" runs list --json | check guild-json)" \
  "${guild_env[@]}" -- "$venv/bin/guild" runs list --json

specs=()
for k in "${!labels[@]}"; do specs+=("$k=${cmds[$k]}"); done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
mapfile -t medians < <("$rel/startup" "$rounds" "${specs[@]}")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
# CPU time (user + sys, median of 3) too: on a shared machine the wall time
# also counts the wait for a core.
cpu=()
for k in "${!labels[@]}"; do
  IFS=$'\x1f' read -ra words <<< "${cmds[$k]}"
  cpu+=("$(for _ in 1 2 3; do
    /usr/bin/time -f "%U %S" env "${words[@]}" 2>&1 >/dev/null | tail -1 | awk '{ print ($1 + $2) * 1000 }'
  done | sort -n | sed -n 2p)")
done

echo "$runs runs, median wall time of $rounds interleaved rounds, warm page cache, $(nproc) cores;" \
  "load average $load_before before, $load_after after"
echo "MLflow $("$py" -c 'import mlflow; print(mlflow.__version__)') (file store)," \
  "Guild $("$venv/bin/guild" --version | cut -d' ' -f2), $("$py" --version)"
echo
echo "| command | lists | rows | wall time | CPU time |"
echo "|---|---|---|---|---|"
for line in "${medians[@]}"; do
  k=${line%%$'\t'*}
  printf '| %s | %s | %s | %.0f ms | %.0f ms |\n' "${labels[$k]}" "${lists[$k]}" "${counts[$k]}" \
    "${line#*$'\t'}" "${cpu[$k]}"
done
