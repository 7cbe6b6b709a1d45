#!/usr/bin/env bash
# `rystematic ls` over 10,000 run directories (made here: run.json,
# parameters.yaml with a few differing parameters, a 300-row scalars.csv,
# and a mix of statuses incl. a `running` one whose process is gone, plus
# sweeps), with a warm page cache. Median of ROUNDS runs.
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
python3 - "$work/output" "$runs" <<'PY'
import json, os, sys
out, n = sys.argv[1], int(sys.argv[2])
statuses = ["completed"] * 7 + ["failed", "interrupted", "running"]
host = os.uname().nodename
for i in range(n):
    exp = f"exp{i % 4}"
    rid = f"2026-11-{1 + i // 2000 % 28:02d}_{i // 3600 % 24:02d}-{i // 60 % 60:02d}-{i % 60:02d}_{i:06d}"
    d = os.path.join(out, exp, rid)
    os.makedirs(d)
    status = statuses[i % len(statuses)]
    info = {
        "experiment": exp, "status": status,
        "started": f"2026-11-{1 + i // 2000 % 28:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000000+00:00",
        "ended": None if status == "running" else "2026-11-30T00:00:00.000000+00:00",
        "duration_s": None if status == "running" else 1.5 + i % 100,
        "error": "boom" if status == "failed" else None,
        "argv": ["/opt/prog", exp, "--lr", str(0.001 * (i % 10))],
        # A pid that does not exist: `running` ones are listed as dead.
        "host": host, "pid": 4_000_000 + i, "output_dir": d,
        "git": {"commit": "0" * 40, "dirty": False},
        "rystematic_version": "0.1.0", "random_seed": i,
        "executable": "/opt/prog", "executable_sha256": "a" * 64,
        "experiment_path": ["prog", exp],
        "build": {"rustc": "rustc 1.95.0", "target": "x86_64-unknown-linux-gnu", "profile": "release"},
    }
    with open(os.path.join(d, "run.json"), "w") as f:
        json.dump(info, f, indent=2)
    with open(os.path.join(d, "parameters.yaml"), "w") as f:
        f.write(f"batch_size: {32 * (1 + i % 4)}\ndebug: false\nlr: {0.001 * (i % 10)}\n"
                f"model: resnet{18 + 16 * (i % 3)}\noutput_dir: ./output\nparams_file: null\n"
                f"random_seed: {i}\n")
    with open(os.path.join(d, "scalars.csv"), "w") as f:
        f.write("step,tag,value\n")
        for step in range(100):
            f.write(f"{step},train/loss,{1 / (1 + step + i % 7)}\n{step},train/acc,{step / 100}\n"
                    f"{step},val/loss,{1.5 / (1 + step)}\n")
for s in range(3):
    d = os.path.join(out, "sweeps", "exp0", f"2026-11-30_00-00-0{s}_sweep{s}")
    os.makedirs(d)
    runs = [{"index": k, "values": {}, "status": "completed" if k < 5 * s else "pending",
             "run_dir": None, "exit_code": None, "signal": None, "started": None, "ended": None,
             "duration_s": None, "devices": [], "attempts": 0} for k in range(10)]
    with open(os.path.join(d, "sweep.json"), "w") as f:
        json.dump({"experiment": ["prog", "exp0"], "args": [], "created": "2026-11-30T00:00:00+00:00",
                   "updated": "2026-11-30T00:00:00+00:00", "runs": runs}, f)
PY
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
