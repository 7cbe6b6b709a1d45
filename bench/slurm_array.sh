#!/usr/bin/env bash
# A 200-run sweep as one SLURM job array, end to end (submission to the last
# task's end), two ways, on the same cluster and the same program
# (bench/src/bin/sweep_bench.rs, `work`: one small file per run):
#   rystematic  sweep_bench work --sweep int_param=0..200 --jobs 2 --launcher slurm
#               (manifest, per-task specs, the parent following squeue and
#               the runs' files, the report)
#   bare        sbatch --array=0-199%2 of a script that execs
#               `sweep_bench work --int-param $SLURM_ARRAY_TASK_ID`, then
#               squeue polled every 0.1 s until no task is left
# Both use the throttle %2 and the default partition; rounds alternate.
# Needs a SLURM cluster (scripts/slurm-start). Usage:
#   bench/slurm_array.sh [ROUNDS] [RUNS]    (default 3 200)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
runs=${2:-200}
cd "$root"
sinfo -h -o %T 2>/dev/null | grep -Eq 'idle|mixed|allocated' \
  || { echo "no SLURM node is up; start one with scripts/slurm-start" >&2; exit 1; }
cargo build --release --quiet -p rystematic-bench
bin=$root/target/release/sweep_bench
# Shared with the nodes: the output must be where the tasks can write it.
scratch=$(mktemp -d "${SLURM_BENCH_DIR:-$root/target}/slurm-bench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

rystematic() { # dir -> ms
  mkdir -p "$1"
  local start end
  start=$(now_ms)
  (cd "$1" && "$bin" work --sweep "int_param=0..$runs" --jobs 2 --launcher slurm >/dev/null 2>&1) \
    || { echo "the rystematic sweep failed (see $1)" >&2; exit 1; }
  end=$(now_ms)
  echo $((end - start))
}

bare() { # dir -> ms
  mkdir -p "$1"
  cat > "$1/task.sh" <<EOF
#!/bin/sh
exec "$bin" work --int-param "\$SLURM_ARRAY_TASK_ID"
EOF
  local start end job
  start=$(now_ms)
  job=$(cd "$1" && sbatch --parsable --array="0-$((runs - 1))%2" --output="$1/run-%a.out" task.sh)
  job=${job%%;*}
  # Until every task is in a final state (no accounting: squeue --states=all;
  # a failing squeue, e.g. a busy controller, is asked again).
  local states
  while :; do
    states=$(squeue -h -r -j "$job" --states=all -o %T 2>/dev/null) || { sleep 0.1; continue; }
    grep -Eqv '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)$' \
      <<<"$states" || break
    sleep 0.1
  done
  end=$(now_ms)
  local done_runs
  done_runs=$(grep -l '"status": "completed"' "$1"/output/work/*/run.json | wc -l)
  [ "$done_runs" = "$runs" ] || { echo "bare: only $done_runs of $runs runs completed" >&2; exit 1; }
  echo $((end - start))
}

ry=(); ba=()
for r in $(seq "$rounds"); do
  ba+=("$(bare "$scratch/bare-$r")")
  ry+=("$(rystematic "$scratch/ry-$r")")
  rm -rf "$scratch/bare-$r" "$scratch/ry-$r"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mr=$(median "${ry[@]}"); mb=$(median "${ba[@]}")
echo "$runs-run array, throttle %2, single-node SLURM ($(nproc) CPUs), median of $rounds rounds"
echo "(rystematic: ${ry[*]} ms; bare: ${ba[*]} ms)"
echo
echo "| | wall time | per run | vs bare |"
echo "|---|---|---|---|"
awk -v b="$mb" -v n="$runs" 'BEGIN { printf "| bare sbatch --array | %.1f s | %.1f ms | 1.00× |\n", b / 1000, b / n }'
awk -v r="$mr" -v b="$mb" -v n="$runs" 'BEGIN { printf "| rystematic --launcher slurm | %.1f s | %.1f ms | %.2f× |\n", r / 1000, r / n, r / b }'
