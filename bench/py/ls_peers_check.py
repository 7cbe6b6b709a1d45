"""Checks that a tool's listing (on stdin) holds every run `ls_runs.py` made,
each with the status that tool should give it, so that `bench/ls_peers.sh`
times listings of the same runs. Prints the row count; exits 1 on a
mismatch.

    TOOL-LISTING | python3 bench/py/ls_peers_check.py FORMAT RUNS

FORMAT: rystematic-json (`rystematic ls --json`), mlflow-csv, mlflow-json
(`peers_mlflow_ls.py`), guild-json (`guild runs list --json`), guild-csv
(`guild compare --csv -`).
"""

import collections
import csv
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ls_runs  # noqa: E402

# Each tool's name for the statuses ls_runs.py writes (a `running` run whose
# process is gone: rystematic says `dead`, Guild `error`, MLflow cannot tell).
STATUS = {
    "rystematic": {"completed": "completed", "failed": "failed",
                   "interrupted": "interrupted", "running": "dead"},
    "mlflow": {"completed": "FINISHED", "failed": "FAILED", "interrupted": "KILLED",
               "running": "RUNNING"},
    "guild": {"completed": "completed", "failed": "error", "interrupted": "terminated",
              "running": "error"},
}


def rows(fmt, text):
    if fmt == "rystematic-json":
        return json.loads(text)["runs"]
    if fmt.endswith("-json"):
        return json.loads(text)
    return list(csv.DictReader(text.splitlines()))


def main():
    fmt, n = sys.argv[1], int(sys.argv[2])
    tool = fmt.split("-")[0]
    listed = rows(fmt, sys.stdin.read())
    got = collections.Counter(r["status"] for r in listed)
    want = collections.Counter(STATUS[tool][ls_runs.run(i)["status"]] for i in range(n))
    if got != want:
        sys.exit(f"error: {fmt} lists {dict(got)}, expected {dict(want)}")
    print(len(listed))


if __name__ == "__main__":
    main()
