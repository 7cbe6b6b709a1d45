"""The runs `bench/ls.sh` and `bench/ls_peers.sh` list, in each tool's own
on-disk format, from one description so that every tool lists the same runs.

    python3 bench/py/ls_runs.py rystematic OUTPUT_DIR RUNS
    PEERS_PYTHON bench/py/ls_runs.py mlflow MLRUNS_DIR RUNS
    PEERS_PYTHON bench/py/ls_runs.py guild GUILD_HOME RUNS

Run `i` has the same experiment, status, start, duration, parameters and
metrics (100 steps of `train/loss`, `train/acc`, `val/loss`) in every
format. The `rystematic` format needs only the standard library; `guild`
imports Guild (its event-file writer), so it runs in the peers' venv.

All three are written directly, not through the tools' APIs: MLflow's
client takes about 15 ms a run on the file store (150 s for 10,000) and
Guild has no API for recording a finished run. The layouts are copied from
what MLflow 3.17 and Guild 0.9 write themselves (their file store and runs
directory), and `bench/ls_peers.sh` has each tool read the runs back and
checks the count and the statuses before timing anything.
"""

import hashlib
import json
import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone

STATUSES = ["completed"] * 7 + ["failed", "interrupted", "running"]
TAGS = ["train/loss", "train/acc", "val/loss"]
STEPS = 100
EXPERIMENTS = 4
# Every finished run ends here (its duration is given separately).
ENDED = "2026-11-30T00:00:00.000000+00:00"


def run(i):
    """Everything about run `i` that all formats record."""
    day, hour, minute, second = 1 + i // 2000 % 28, i // 3600 % 24, i // 60 % 60, i % 60
    status = STATUSES[i % len(STATUSES)]
    return {
        "experiment": f"exp{i % EXPERIMENTS}",
        "id": f"2026-11-{day:02d}_{hour:02d}-{minute:02d}-{second:02d}_{i:06d}",
        "status": status,
        "started": datetime(2026, 11, day, hour, minute, second, tzinfo=timezone.utc),
        "duration_s": None if status == "running" else 1.5 + i % 100,
        "params": {
            "batch_size": 32 * (1 + i % 4),
            "debug": False,
            "lr": 0.001 * (i % 10),
            "model": f"resnet{18 + 16 * (i % 3)}",
            "output_dir": "./output",
            "params_file": None,
            "random_seed": i,
        },
        # A pid that does not exist: `running` runs are dead ones.
        "pid": 4_000_000 + i,
    }


def peer_id(i):
    """Run i's id in MLflow and Guild: 32 hex digits like their uuid4 ids,
    fixed so reruns make the same tree (a hash, not `{i:032x}`: MLflow's
    YAML would read an all-digit id as a number)."""
    return hashlib.md5(f"run {i}".encode()).hexdigest()


def metric(i, step, tag):
    """The value of `tag` at `step` in run `i`."""
    if tag == "train/loss":
        return 1 / (1 + step + i % 7)
    if tag == "train/acc":
        return step / 100
    return 1.5 / (1 + step)


def yaml_scalar(value):
    """A parameter as YAML writes it (no PyYAML outside the venv)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_rystematic(out, n):
    """`OUTPUT/<experiment>/<run id>/` with run.json, parameters.yaml and
    scalars.csv, as a rystematic program writes them, plus three sweeps."""
    host = os.uname().nodename
    for i in range(n):
        r = run(i)
        exp, status = r["experiment"], r["status"]
        d = os.path.join(out, exp, r["id"])
        os.makedirs(d)
        info = {
            "experiment": exp, "status": status,
            "started": r["started"].strftime("%Y-%m-%dT%H:%M:%S.000000+00:00"),
            "ended": None if status == "running" else ENDED,
            "duration_s": r["duration_s"],
            "error": "boom" if status == "failed" else None,
            "argv": ["/opt/prog", exp, "--lr", str(r["params"]["lr"])],
            "host": host, "pid": r["pid"], "output_dir": d,
            "git": {"commit": "0" * 40, "dirty": False},
            "rystematic_version": "0.1.0", "random_seed": i,
            "executable": "/opt/prog", "executable_sha256": "a" * 64,
            "experiment_path": ["prog", exp],
            "build": {"rustc": "rustc 1.95.0", "target": "x86_64-unknown-linux-gnu",
                      "profile": "release"},
        }
        with open(os.path.join(d, "run.json"), "w") as f:
            json.dump(info, f, indent=2)
        with open(os.path.join(d, "parameters.yaml"), "w") as f:
            f.writelines(f"{k}: {yaml_scalar(v)}\n" for k, v in r["params"].items())
        with open(os.path.join(d, "scalars.csv"), "w") as f:
            f.write("step,tag,value\n")
            f.writelines(f"{step},{tag},{metric(i, step, tag)}\n"
                         for step in range(STEPS) for tag in TAGS)
    for s in range(3):
        d = os.path.join(out, "sweeps", "exp0", f"2026-11-30_00-00-0{s}_sweep{s}")
        os.makedirs(d)
        runs = [{"index": k, "values": {}, "status": "completed" if k < 5 * s else "pending",
                 "run_dir": None, "exit_code": None, "signal": None, "started": None,
                 "ended": None, "duration_s": None, "devices": [], "attempts": 0}
                for k in range(10)]
        with open(os.path.join(d, "sweep.json"), "w") as f:
            json.dump({"experiment": ["prog", "exp0"], "args": [],
                       "created": "2026-11-30T00:00:00+00:00",
                       "updated": "2026-11-30T00:00:00+00:00", "runs": runs}, f)


# MLflow's RunStatus numbers (mlflow/protos/service.proto): a dead run stays
# RUNNING, as MLflow cannot tell.
MLFLOW_STATUS = {"completed": 3, "failed": 4, "interrupted": 5, "running": 1}


def mlflow_experiment_id(exp):
    """exp0 → "1" (MLflow's own Default experiment is "0")."""
    return str(1 + int(exp[3:]))


def write_mlflow(root, n):
    """MLflow's file store: `mlruns/<experiment id>/meta.yaml` and
    `mlruns/<experiment id>/<run id>/{meta.yaml,params/,metrics/,tags/,artifacts/}`,
    field for field as MLflow 3.17's FileStore writes them."""
    uri = "file://" + os.path.abspath(root)
    created = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp() * 1000)
    names = ["Default"] + [f"exp{k}" for k in range(EXPERIMENTS)]
    for eid, name in enumerate(names):
        os.makedirs(os.path.join(root, str(eid)))
        with open(os.path.join(root, str(eid), "meta.yaml"), "w") as f:
            f.write(f"artifact_location: {uri}/{eid}\ncreation_time: {created}\n"
                    "effective_trace_archival_retention: null\n"
                    f"experiment_id: '{eid}'\nlast_update_time: {created}\n"
                    f"lifecycle_stage: active\nname: {name}\ntrace_location: null\n"
                    "workspace: default\n")
    for i in range(n):
        r = run(i)
        eid = mlflow_experiment_id(r["experiment"])
        rid = peer_id(i)
        d = os.path.join(root, eid, rid)
        for sub in ("params", "tags", "artifacts", "metrics/train", "metrics/val"):
            os.makedirs(os.path.join(d, sub))
        start = int(r["started"].timestamp() * 1000)
        end = "null" if r["duration_s"] is None else start + int(r["duration_s"] * 1000)
        with open(os.path.join(d, "meta.yaml"), "w") as f:
            f.write(f"artifact_uri: {uri}/{eid}/{rid}/artifacts\nend_time: {end}\n"
                    f"entry_point_name: ''\nexperiment_id: '{eid}'\n"
                    f"lifecycle_stage: active\nrun_id: {rid}\nrun_name: {r['id']}\n"
                    "source_name: ''\nsource_type: 4\nsource_version: ''\n"
                    f"start_time: {start}\nstatus: {MLFLOW_STATUS[r['status']]}\n"
                    "tags: []\nuser_id: bench\n")
        for k, v in r["params"].items():
            with open(os.path.join(d, "params", k), "w") as f:
                f.write(str(v))
        with open(os.path.join(d, "tags", "mlflow.runName"), "w") as f:
            f.write(r["id"])
        for tag in TAGS:
            # One line per step: `timestamp value step`.
            with open(os.path.join(d, "metrics", tag), "w") as f:
                f.writelines(f"{start + 10 * step} {metric(i, step, tag)} {step}\n"
                             for step in range(STEPS))


# Guild's exit_status → status: 0 completed, >0 error, <0 terminated; a run
# with no exit_status and a LOCK naming a dead pid is an `error`.
GUILD_EXIT = {"completed": 0, "failed": 1, "interrupted": -15}


def guild_event_files(n):
    """The scalars' event file of each distinct metric series (run i has the
    series of i % 7), written once by Guild's own writer and copied."""
    from guild import summary

    files = {}
    tmp = tempfile.mkdtemp()
    for k in range(min(7, n)):
        d = os.path.join(tmp, str(k))
        with summary.SummaryWriter(d) as w:
            for step in range(STEPS):
                for tag in TAGS:
                    w.add_scalar(tag, metric(k, step, tag), step)
        [name] = os.listdir(d)
        with open(os.path.join(d, name), "rb") as f:
            files[k] = (name, f.read())
    shutil.rmtree(tmp)
    return files


def write_guild(home, n):
    """Guild's runs directory: `$GUILD_HOME/runs/<id>/.guild/{opref,attrs/,LOCK}`
    plus the scalars' event file, attribute for attribute as Guild 0.9 writes
    them for a script operation (minus the environment and pip freeze)."""
    events = guild_event_files(n)
    host = os.uname().nodename
    for i in range(n):
        r = run(i)
        rid = peer_id(i)
        g = os.path.join(home, "runs", rid, ".guild")
        os.makedirs(os.path.join(g, "attrs"))
        with open(os.path.join(g, "opref"), "w") as f:
            f.write(f"script:/opt/prog '' '' {r['experiment']}\n")
        started = int(r["started"].timestamp() * 1_000_000)
        p = r["params"]
        attrs = {
            "id": rid,
            "initialized": str(started),
            "started": str(started),
            "flags": "".join(f"{k}: {yaml_scalar(v)}\n" for k, v in p.items()).rstrip("\n"),
            "label": f"batch_size={p['batch_size']} lr={p['lr']} model={p['model']}",
            "host": host,
            "random_seed": str(i),
            "cmd": "\n".join(["- /opt/prog", f"- {r['experiment']}", "- --lr", f"- '{p['lr']}'"]),
        }
        if r["status"] == "running":
            with open(os.path.join(g, "LOCK"), "w") as f:
                f.write(str(r["pid"]))
        else:
            attrs["stopped"] = str(started + int(r["duration_s"] * 1_000_000))
            attrs["exit_status"] = str(GUILD_EXIT[r["status"]])
        for name, value in attrs.items():
            with open(os.path.join(g, "attrs", name), "w") as f:
                f.write(value + "\n")
        name, data = events[i % 7]
        with open(os.path.join(g, name), "wb") as f:
            f.write(data)


def main():
    fmt, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    {"rystematic": write_rystematic, "mlflow": write_mlflow, "guild": write_guild}[fmt](out, n)


if __name__ == "__main__":
    main()
