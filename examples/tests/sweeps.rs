//! Sweeps end to end: the `sweep` example and command-line sweeps of
//! `work` — bounded concurrency, isolated failures, signals, kill -9,
//! resume, GPU slots.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Sandbox, read, run_json};

const SWEEP: &str = env!("CARGO_BIN_EXE_sweep");

/// The manifest as it stands: the snapshot with the journal applied.
fn manifest(dir: &Path) -> Value {
    try_manifest(dir).unwrap_or_else(|| panic!("no manifest in {}", dir.display()))
}

/// The sweep directory of the `sweep` experiment's run.
fn example_sweep_dir(sb: &Sandbox) -> PathBuf {
    sb.only_run_dir("sweep").join("sweep")
}

/// The one command-line sweep directory of `work`.
fn cli_sweep_dir(sb: &Sandbox) -> PathBuf {
    let dirs = support::run_dirs(&sb.path().join("output/sweeps/work"));
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.into_iter().next().unwrap()
}

/// The manifest, or `None` while the sweep has not written it.
fn try_manifest(dir: &Path) -> Option<Value> {
    let mut snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).ok()?).ok()?;
    let report = rystematic::SweepReport::read(dir).ok()?;
    snapshot["runs"] = serde_json::to_value(report.runs).unwrap();
    Some(snapshot)
}

/// Polls `condition` until it holds (20 s at most).
#[track_caller]
fn wait_until(what: &str, condition: impl FnMut() -> bool) {
    wait_within(Duration::from_secs(20), what, condition);
}

/// Polls `condition` until it holds (`limit` at most).
#[track_caller]
fn wait_within(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn statuses(manifest: &Value) -> Vec<String> {
    manifest["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

fn results(sb: &Sandbox) -> Vec<String> {
    let mut results: Vec<String> = sb
        .run_dirs("work")
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("result.txt")).ok())
        .collect();
    results.sort();
    results
}

fn time(run: &Value, key: &str) -> jiff::Timestamp {
    run[key].as_str().unwrap().parse().unwrap()
}

/// Most runs alive at once, from the runs' own start and end times.
fn max_overlap(runs: &[Value]) -> usize {
    let mut events: Vec<(jiff::Timestamp, i32)> = runs
        .iter()
        .flat_map(|r| [(time(r, "started"), 1), (time(r, "ended"), -1)])
        .collect();
    events.sort();
    let (mut now, mut max) = (0, 0);
    for (_, delta) in events {
        now += delta;
        max = max.max(now);
    }
    max as usize
}

fn work_runs(sb: &Sandbox) -> Vec<Value> {
    sb.run_dirs("work").iter().map(|d| run_json(d)).collect()
}

#[test]
fn the_example_sweeps_a_grid_on_two_processes() {
    let sb = Sandbox::new();
    let run = sb.run(SWEEP, &["sweep", "--sleep-s", "0.4"]);
    run.ok();
    assert_eq!(results(&sb), ["1-hello", "1-world", "2-hello", "2-world"]);
    let m = manifest(&example_sweep_dir(&sb));
    assert_eq!(statuses(&m), ["completed"; 4]);
    assert_eq!(m["experiment"], serde_json::json!(["sweep", "work"]));
    for (i, entry) in m["runs"].as_array().unwrap().iter().enumerate() {
        assert_eq!(entry["index"], i);
        assert_eq!(entry["exit_code"], 0);
        let dir = PathBuf::from(entry["run_dir"].as_str().unwrap());
        assert_eq!(run_json(&dir)["status"], "completed");
        let expected = format!(
            "{}-{}",
            entry["values"]["int_param"],
            entry["values"]["str_param"].as_str().unwrap()
        );
        assert_eq!(read(&dir.join("result.txt")), expected);
    }
    // The report is printed: one line per run, then a summary.
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.contains(" completed "))
            .count(),
        4,
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("4 of 4 runs completed, 0 failed"),
        "{}",
        run.stdout
    );
    let runs = work_runs(&sb);
    assert_eq!(max_overlap(&runs), 2, "two at a time, never more");
}

#[test]
fn a_failing_run_does_not_stop_the_others() {
    let sb = Sandbox::new();
    let run = sb.run(SWEEP, &["sweep", "--fail-on", "1"]);
    run.expect_code(1);
    assert_eq!(results(&sb), ["2-hello", "2-world"]);
    let m = manifest(&example_sweep_dir(&sb));
    assert_eq!(statuses(&m), ["failed", "failed", "completed", "completed"]);
    assert_eq!(m["runs"][0]["exit_code"], 1);
    let failed = PathBuf::from(m["runs"][0]["run_dir"].as_str().unwrap());
    assert_eq!(run_json(&failed)["status"], "failed");
    let console = read(&example_sweep_dir(&sb).join("run-0.out"));
    assert!(
        console.contains("int_param is 1, the value to fail on"),
        "{console}"
    );
    assert!(
        run.stderr.contains("Experiment failed: 2 of 4 runs failed"),
        "{}",
        run.stderr
    );
    assert_eq!(run_json(&sb.only_run_dir("sweep"))["status"], "failed");
}

fn spawn(sb: &Sandbox, args: &[&str]) -> Child {
    sb.cmd(SWEEP)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn alive(pid: u64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !read(Path::new(&format!("/proc/{pid}/stat"))).contains(") Z ")
}

fn assert_nothing_left_running(sb: &Sandbox) {
    for dir in sb.run_dirs("work").iter().chain(&sb.run_dirs("sweep")) {
        let info = run_json(dir);
        assert_ne!(info["status"], "running", "{}", dir.display());
        assert!(
            !alive(info["pid"].as_u64().unwrap()),
            "pid {} left behind",
            info["pid"]
        );
    }
}

#[test]
fn sigint_mid_sweep_stops_every_run_and_leaves_none_running() {
    let sb = Sandbox::new();
    let child = spawn(&sb, &["sweep", "--sleep-s", "30"]);
    support::wait_for_runs(&sb, "work", 2, "run.json");
    let started = Instant::now();
    support::signal("INT", child.id());
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(130));
    assert_nothing_left_running(&sb);
    let m = manifest(&example_sweep_dir(&sb));
    assert_eq!(
        statuses(&m),
        ["interrupted", "interrupted", "pending", "pending"]
    );
    for dir in sb.run_dirs("work") {
        assert_eq!(run_json(&dir)["status"], "interrupted");
    }
    assert_eq!(run_json(&sb.only_run_dir("sweep"))["status"], "interrupted");
}

#[test]
fn sigterm_to_a_command_line_sweep_exits_143() {
    let sb = Sandbox::new();
    let child = spawn(
        &sb,
        &[
            "work",
            "--sweep",
            "int_param=0..3",
            "--str-param",
            "x",
            "--sleep-s",
            "30",
            "--jobs",
            "3",
        ],
    );
    support::wait_for_runs(&sb, "work", 3, "run.json");
    support::signal("TERM", child.id());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
    assert_nothing_left_running(&sb);
    let dir = cli_sweep_dir(&sb);
    assert_eq!(statuses(&manifest(&dir)), ["interrupted"; 3]);
    // The parent logs like a run: where the manifest is and how to resume.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let manifest_path = dir.canonicalize().unwrap().join("sweep.json");
    assert!(
        stderr.contains(&format!(
            "[WARN] [rystematic] Sweep interrupted by SIGTERM: 3 of 3 runs unfinished; manifest: {}\n",
            manifest_path.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "[WARN] [rystematic] Resume with: {SWEEP} work --sweep int_param=0..3 --str-param x \
             --sleep-s 30 --jobs 3 --resume-sweep\n"
        )),
        "{stderr}"
    );
}

#[test]
fn a_manifest_that_cannot_be_written_is_reported() {
    let sb = Sandbox::new();
    let child = spawn(&sb, &HELD_SWEEP);
    wait_for_statuses(&sb, &["completed", "completed", "running", "running"], 4);
    // A non-empty directory where the manifest goes: every write fails.
    let path = cli_sweep_dir(&sb).join("sweep.json");
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir_all(path.join("in-the-way")).unwrap();
    sb.write("release", "");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("[ERROR] [rystematic] cannot write the sweep manifest"))
        .collect();
    // Reported once per outage, naming the file, not once per write.
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(&path.display().to_string()), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn a_damaged_manifest_is_a_usage_error_not_a_new_sweep() {
    let sb = Sandbox::new();
    let args = ["work", "--sweep", "int_param=1,2", "--str-param", "x"];
    sb.run(SWEEP, &args).ok();
    let path = cli_sweep_dir(&sb).join("sweep.json");
    std::fs::write(&path, "{\"experiment\": [\"work\"], \"runs\": [").unwrap();
    let run = sb.run(SWEEP, &[&args[..], &["--resume-sweep"]].concat());
    run.expect_code(2);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains(&format!(
            "its manifest '{}' is unreadable",
            path.canonicalize().unwrap().display()
        )),
        "{}",
        run.stderr
    );
    // Nothing ran again and no new sweep started.
    assert_eq!(sb.run_dirs("work").len(), 2);
    cli_sweep_dir(&sb);
}

#[test]
fn a_child_killed_with_sigkill_is_failed_and_the_sweep_goes_on() {
    let sb = Sandbox::new();
    let child = spawn(&sb, &["sweep", "--sleep-s", "1.5"]);
    let victim = support::wait_for_runs(&sb, "work", 1, "run.json").remove(0);
    support::signal("KILL", run_json(&victim)["pid"].as_u64().unwrap() as u32);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = manifest(&example_sweep_dir(&sb));
    let runs = m["runs"].as_array().unwrap();
    let killed: Vec<&Value> = runs.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(killed.len(), 1, "{m}");
    assert_eq!(killed[0]["signal"], 9);
    assert_eq!(
        killed[0]["run_dir"].as_str().unwrap(),
        victim.to_str().unwrap()
    );
    assert_eq!(
        runs.iter().filter(|r| r["status"] == "completed").count(),
        3
    );
    let info = run_json(&victim);
    assert_eq!(info["status"], "failed");
    assert!(
        info["error"].as_str().unwrap().contains("SIGKILL"),
        "{info}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("signal 9"));
}

#[test]
fn resume_after_an_interrupted_sweep_runs_each_set_exactly_once() {
    let sb = Sandbox::new();
    // Runs 0 and 1 finish at once; 2 and 3 sleep until `release` exists.
    let args = HELD_SWEEP;
    let child = spawn(&sb, &args);
    // Wait on the sweep's own state, not on a file the run writes before
    // it ends: 0 and 1 completed in the manifest, 2 and 3 started.
    wait_until("runs 0 and 1 complete while 2 and 3 run", || {
        let Some(dir) = support::run_dirs(&sb.path().join("output/sweeps/work")).pop() else {
            return false;
        };
        let Some(m) = try_manifest(&dir) else {
            return false;
        };
        statuses(&m) == ["completed", "completed", "running", "running"]
            && sb
                .run_dirs("work")
                .iter()
                .filter(|d| d.join("run.json").exists())
                .count()
                == 4
    });
    support::signal("INT", child.id());
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(130));
    let first = statuses(&manifest(&cli_sweep_dir(&sb)));
    assert_eq!(
        first,
        ["completed", "completed", "interrupted", "interrupted"]
    );

    let mut resumed = args.to_vec();
    resumed.push("--resume-sweep");
    sb.write("release", "");
    let run = sb.run(SWEEP, &resumed);
    run.ok();
    let m = manifest(&cli_sweep_dir(&sb));
    assert_eq!(statuses(&m), ["completed"; 4]);
    // Every parameter set completed exactly once over both invocations,
    // and what completed the first time did not run again.
    assert_eq!(results(&sb), ["0-x", "1-x", "2-x", "3-x"]);
    assert_eq!(m["runs"][0]["attempts"], 1, "{m}");
    assert_eq!(m["runs"][1]["attempts"], 1, "{m}");
    assert_eq!(m["runs"][2]["attempts"], 2, "{m}");
    assert_nothing_left_running(&sb);
}

/// `work` over int_param 0..4, where 2 and 3 sleep until `release`
/// exists: interrupted once 0 and 1 completed, so 2 and 3 are left to resume.
const HELD_SWEEP: [&str; 13] = [
    "work",
    "--sweep",
    "int_param=0..4",
    "--str-param",
    "x",
    "--sleep-s",
    "30",
    "--sleep-from",
    "2",
    "--sleep-until",
    "release",
    "--jobs",
    "2",
];

/// Runs [`HELD_SWEEP`] until 0 and 1 completed and 2 and 3 run, then
/// interrupts it.
fn interrupted_held_sweep(sb: &Sandbox) {
    let child = spawn(sb, &HELD_SWEEP);
    wait_for_statuses(sb, &["completed", "completed", "running", "running"], 4);
    support::signal("INT", child.id());
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(130));
}

/// Waits until the one command-line sweep's manifest has `expected` and
/// `runs` runs of `work` have written `run.json`.
fn wait_for_statuses(sb: &Sandbox, expected: &[&str], runs: usize) {
    wait_until(&format!("statuses {expected:?}"), || {
        let Some(dir) = support::run_dirs(&sb.path().join("output/sweeps/work")).pop() else {
            return false;
        };
        try_manifest(&dir).is_some_and(|m| statuses(&m) == expected)
            && sb
                .run_dirs("work")
                .iter()
                .filter(|d| d.join("run.json").exists())
                .count()
                == runs
    });
}

#[test]
fn two_resumes_at_once_run_each_missing_run_exactly_once() {
    let sb = Sandbox::new();
    interrupted_held_sweep(&sb);
    let mut resume = HELD_SWEEP.to_vec();
    resume.push("--resume-sweep");
    let (a, b) = (spawn(&sb, &resume), spawn(&sb, &resume));
    let pids = [a.id(), b.id()];
    // One of them holds the sweep (its runs wait for `release`); the other
    // must fail at once, naming the holder.
    let mut children = vec![Some(a), Some(b)];
    let deadline = Instant::now() + Duration::from_secs(20);
    let (loser, out) = loop {
        assert!(Instant::now() < deadline, "neither resume gave way");
        let done = children
            .iter_mut()
            .position(|c| c.as_mut().unwrap().try_wait().unwrap().is_some());
        if let Some(i) = done {
            break (i, children[i].take().unwrap().wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let winner = children.into_iter().flatten().next().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let error: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error.len(), 1, "{stderr}");
    assert!(
        error[0].contains("is being run by")
            && error[0].contains(&format!("pid {} on host", pids[1 - loser])),
        "{stderr}"
    );
    wait_for_statuses(&sb, &["completed", "completed", "running", "running"], 6);
    sb.write("release", "");
    let out = winner.wait_with_output().unwrap();
    support::Run::of(out).ok();
    let m = manifest(&cli_sweep_dir(&sb));
    assert_eq!(statuses(&m), ["completed"; 4]);
    // 4 runs the first time, 2 on resume: nothing ran twice.
    assert_eq!(sb.run_dirs("work").len(), 6);
    assert_eq!(results(&sb), ["0-x", "1-x", "2-x", "3-x"]);
    let attempts: Vec<&Value> = m["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["attempts"])
        .collect();
    assert_eq!(attempts, [1, 1, 2, 2]);
    assert_nothing_left_running(&sb);
}

#[test]
fn resume_without_an_identical_sweep_says_so_and_starts_a_new_one() {
    let sb = Sandbox::new();
    sb.run(
        SWEEP,
        &["work", "--sweep", "int_param=1,2", "--str-param", "x"],
    )
    .ok();
    let run = sb.run(
        SWEEP,
        &[
            "work",
            "--sweep",
            "int_param=1,2,3",
            "--str-param",
            "x",
            "--resume-sweep",
        ],
    );
    run.ok();
    let sweeps = sb.path().canonicalize().unwrap().join("output/sweeps/work");
    let warning = format!(
        "[WARN] [rystematic] --resume-sweep: no sweep in {} is this one (experiment sweep work, \
         options [--str-param x], 3 parameter sets); starting a new one",
        sweeps.display()
    );
    assert!(run.stderr.contains(&warning), "{}", run.stderr);
    assert_eq!(support::run_dirs(&sweeps).len(), 2);
    assert_eq!(sb.run_dirs("work").len(), 5);
}

/// The manifest path from a sweep report's summary line.
fn reported_manifest(stdout: &str) -> PathBuf {
    let last = stdout.lines().last().unwrap_or_default();
    let (_, path) = last
        .split_once("; manifest: ")
        .unwrap_or_else(|| panic!("no summary line: {stdout}"));
    PathBuf::from(path)
}

#[test]
fn first_run_and_resume_print_the_same_absolute_manifest_path() {
    let sb = Sandbox::new();
    let args = ["work", "--sweep", "int_param=1,2", "--str-param", "x"];
    let first = sb.run(SWEEP, &args);
    first.ok();
    let resumed = sb.run(SWEEP, &[&args[..], &["--resume-sweep"]].concat());
    resumed.ok();
    let path = reported_manifest(&first.stdout);
    assert!(path.is_absolute(), "{}", first.stdout);
    assert_eq!(
        path,
        cli_sweep_dir(&sb)
            .canonicalize()
            .unwrap()
            .join("sweep.json")
    );
    assert_eq!(
        reported_manifest(&resumed.stdout),
        path,
        "{}",
        resumed.stdout
    );
    // Every run directory in the table is absolute too.
    for line in first.stdout.lines().skip(1).take(2) {
        let dir = line.split_whitespace().last().unwrap();
        assert!(Path::new(dir).is_absolute(), "{line}");
    }
}

#[test]
fn the_readme_sample_report_has_the_real_columns_and_paths() {
    let readme = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"));
    let start = readme.find("printing it gives a table:").unwrap();
    let block = &readme[start..];
    let block = &block[block.find("```text\n").unwrap() + 8..];
    let sample: Vec<&str> = block[..block.find("```").unwrap()]
        .lines()
        .filter(|l| !l.starts_with('$'))
        .collect();
    let sb = Sandbox::new();
    let run = sb.run(SWEEP, &["sweep"]);
    run.ok();
    let real: Vec<&str> = run.stdout.lines().collect();
    let words = |line: &str| {
        line.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(words(sample[0]), words(real[0]), "header");
    assert_eq!(sample.len(), real.len(), "{sample:?}");
    for (s, r) in sample.iter().zip(&real).skip(1).take(4) {
        // Same columns; the directory is absolute in both.
        assert_eq!(words(s).len(), words(r).len() - 2, "{s} / {r}");
        assert!(words(s).last().unwrap().starts_with('/'), "{s}");
    }
    let summary = |line: &str| {
        line.split_once("manifest: ")
            .map(|(a, b)| (a.to_owned(), b.starts_with('/')))
    };
    assert_eq!(summary(sample[5]), summary(real[5]));
}

#[test]
fn resume_waits_for_a_previous_attempt_that_may_be_alive_and_never_reruns_it() {
    let sb = Sandbox::new();
    interrupted_held_sweep(&sb);
    // Stand in for run 2's previous attempt, left `running` by a runner that
    // was killed: a real, live run of the same experiment and values.
    let mut live = sb
        .cmd(SWEEP)
        .args([
            "work",
            "--int-param",
            "2",
            "--str-param",
            "x",
            "--sleep-s",
            "30",
            "--sleep-from",
            "2",
            "--sleep-until",
            "release",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = live.id();
    let mut live_dir = None;
    wait_until("the live run's run.json", || {
        live_dir = sb.run_dirs("work").into_iter().find(|d| {
            d.join("run.json").exists() && run_json(d)["pid"].as_u64() == Some(u64::from(pid))
        });
        live_dir.is_some()
    });
    let live_dir = live_dir.unwrap();
    let host = run_json(&live_dir)["host"].as_str().unwrap().to_owned();
    let sweep_dir = cli_sweep_dir(&sb);
    let mut m = manifest(&sweep_dir);
    m["runs"][2]["status"] = "running".into();
    m["runs"][2]["pid"] = pid.into();
    m["runs"][2]["host"] = host.clone().into();
    std::fs::write(sweep_dir.join("sweep.json"), m.to_string()).unwrap();
    // The snapshot now holds the whole state: no journal to replay over it.
    let _ = std::fs::remove_file(sweep_dir.join("sweep.journal"));
    std::fs::write(
        sweep_dir.join(".run-2.report.json"),
        serde_json::json!({ "run_dir": live_dir, "pid": pid }).to_string(),
    )
    .unwrap();

    // While it lives, resume waits, then refuses: nothing starts.
    let mut resume = HELD_SWEEP.to_vec();
    resume.push("--resume-sweep");
    let run = sb.run(SWEEP, &resume);
    run.expect_code(1);
    assert!(
        run.error_line().contains(&format!(
            "run 2 ('{}') may still be alive (pid {pid} on host {host})",
            live_dir.display()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(sb.run_dirs("work").len(), 5, "nothing started");

    // Once it completed, resume counts it and runs only what is missing.
    sb.write("release", "");
    assert!(live.wait().unwrap().success());
    sb.run(SWEEP, &resume).ok();
    let m = manifest(&sweep_dir);
    assert_eq!(statuses(&m), ["completed"; 4]);
    assert_eq!(m["runs"][2]["run_dir"].as_str(), live_dir.to_str());
    assert_eq!(sb.run_dirs("work").len(), 6, "only run 3 ran again");
    assert_eq!(results(&sb), ["0-x", "1-x", "2-x", "3-x"]);
    assert_nothing_left_running(&sb);
}

#[test]
fn resume_right_after_a_parent_kill_9_runs_each_set_exactly_once() {
    let sb = Sandbox::new();
    let child = spawn(&sb, &HELD_SWEEP);
    wait_for_statuses(&sb, &["completed", "completed", "running", "running"], 4);
    support::signal("KILL", child.id());
    child.wait_with_output().unwrap();
    // Whether the killed runner's runs die with it or finish on their own,
    // a resume started at once must neither overlap them nor redo them.
    sb.write("release", "");
    let mut resume = HELD_SWEEP.to_vec();
    resume.push("--resume-sweep");
    sb.run(SWEEP, &resume).ok();
    let m = manifest(&cli_sweep_dir(&sb));
    assert_eq!(statuses(&m), ["completed"; 4]);
    // Each set completed exactly once. (A killed attempt may have written
    // its result as it was being stopped, but it did not complete.)
    let mut completed: Vec<String> = sb
        .run_dirs("work")
        .iter()
        .filter(|d| run_json(d)["status"] == "completed")
        .map(|d| read(&d.join("result.txt")))
        .collect();
    completed.sort();
    assert_eq!(completed, ["0-x", "1-x", "2-x", "3-x"]);
    for run in m["runs"].as_array().unwrap() {
        let dir = PathBuf::from(run["run_dir"].as_str().unwrap());
        assert_eq!(read(&dir.join("result.txt")), format!("{}-x", run["index"]));
    }
    assert_nothing_left_running(&sb);
}

/// The pids of `pid`'s children.
fn children_of(pid: u32) -> Vec<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|c| {
            c.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

#[test]
fn parent_kill_9_with_live_children_none_survive_and_resume_duplicates_nothing() {
    let sb = Sandbox::new();
    let child = spawn(&sb, &HELD_SWEEP);
    wait_for_statuses(&sb, &["completed", "completed", "running", "running"], 4);
    let runs = children_of(child.id());
    assert_eq!(runs.len(), 2, "{runs:?}");
    support::signal("KILL", child.id());
    child.wait_with_output().unwrap();
    wait_until("the runs of the killed sweep end", || {
        runs.iter().all(|&pid| !alive(u64::from(pid)))
    });
    // The held runs never completed; resume runs each missing set once.
    sb.write("release", "");
    let mut resume = HELD_SWEEP.to_vec();
    resume.push("--resume-sweep");
    sb.run(SWEEP, &resume).ok();
    let m = manifest(&cli_sweep_dir(&sb));
    assert_eq!(statuses(&m), ["completed"; 4]);
    assert_eq!(sb.run_dirs("work").len(), 6);
    assert_eq!(results(&sb), ["0-x", "1-x", "2-x", "3-x"]);
    assert_nothing_left_running(&sb);
}

#[test]
fn command_line_sweeps_use_the_same_options_for_every_run() {
    let sb = Sandbox::new();
    let run = sb.run(
        SWEEP,
        &[
            "work",
            "--str-param",
            "s",
            "--sweep",
            "int_param=1,2,3",
            "--jobs",
            "3",
        ],
    );
    run.ok();
    assert_eq!(results(&sb), ["1-s", "2-s", "3-s"]);
    assert!(
        run.stdout.contains("3 of 3 runs completed"),
        "{}",
        run.stdout
    );
    let m = manifest(&cli_sweep_dir(&sb));
    assert_eq!(m["args"], serde_json::json!(["--str-param", "s"]));
}

#[test]
fn command_line_sweep_mistakes_are_usage_errors() {
    let sb = Sandbox::new();
    let cases: [(&[&str], &str); 5] = [
        (&["work", "--sweep", "nope=1"], "no parameter named 'nope'"),
        (
            &["work", "--sweep", "int_param=1,x", "--str-param", "s"],
            "invalid value 'x' for '--int-param'",
        ),
        (&["work", "--sweep", "int_param"], "expected NAME=V1,V2"),
        (
            &[
                "work",
                "--jobs",
                "2",
                "--int-param",
                "1",
                "--str-param",
                "s",
            ],
            "need at least one --sweep",
        ),
        (
            &["work", "--sweep", "int_param=1", "--sweep", "int_param=2"],
            "gives 'int_param' twice",
        ),
    ];
    for (args, expected) in cases {
        let run = sb.run(SWEEP, args);
        run.expect_code(2);
        assert!(
            run.error_line().contains(expected),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(!sb.has_output());
}

#[test]
fn a_sweep_too_large_to_run_is_refused_before_anything_is_built() {
    let sb = Sandbox::new();
    let cases: [(&[&str], &str); 3] = [
        (
            &["work", "--sweep", "int_param=0..9223372036854775807"],
            "9223372036854775807 runs (int_param: 9223372036854775807 values) is more than the \
             limit of 100000 runs per sweep",
        ),
        (
            &[
                "work",
                "--sweep",
                "int_param=-9223372036854775808..9223372036854775807",
                "--sweep",
                "fail_on=-9223372036854775808..9223372036854775807",
                "--sweep",
                "sleep_from=-9223372036854775808..9223372036854775807",
            ],
            "more than 2^128 runs",
        ),
        // One past the limit.
        (
            &[
                "work",
                "--sweep",
                "int_param=0..1000",
                "--sweep",
                "fail_on=0..101",
            ],
            "101000 runs (int_param: 1000 values × fail_on: 101 values)",
        ),
    ];
    for (args, expected) in cases {
        let run = sb.run(SWEEP, &[args, &["--str-param", "x"]].concat());
        run.expect_code(2);
        let errors: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(errors[0].contains(expected), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    assert!(!sb.has_output(), "no sweep directory for a refused sweep");
}

#[test]
fn a_sweep_at_the_size_limit_starts() {
    let sb = Sandbox::new();
    // 1000 × 100 = 100000 runs, the limit: checked value by value, not
    // combination by combination, so the first run starts without waiting
    // for 100000 checks.
    let child = spawn(
        &sb,
        &[
            "work",
            "--sweep",
            "int_param=0..1000",
            "--sweep",
            "fail_on=0..100",
            "--str-param",
            "x",
            "--sleep-s",
            "30",
        ],
    );
    wait_within(Duration::from_secs(60), "the first run starts", || {
        sb.run_dirs("work")
            .iter()
            .any(|d| d.join("run.json").exists())
    });
    support::signal("INT", child.id());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let m = manifest(&cli_sweep_dir(&sb));
    let runs = m["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 100_000);
    assert_eq!(runs[0]["status"], "interrupted");
    assert_eq!(runs[99_999]["status"], "pending");
    assert_eq!(runs[99_999]["values"]["int_param"], "999");
    assert_eq!(runs[99_999]["values"]["fail_on"], "99");
}

#[test]
fn each_run_gets_its_own_gpus() {
    let sb = Sandbox::new();
    let out = sb
        .cmd(SWEEP)
        .args([
            "work",
            "--sweep",
            "int_param=0..6",
            "--str-param",
            "x",
            "--sleep-s",
            "0.3",
            "--jobs",
            "4",
            "--gpus-per-run",
            "2",
        ])
        .env("CUDA_VISIBLE_DEVICES", "0,1,2,3")
        .output()
        .unwrap();
    let run = support::Run::of(out);
    run.ok();
    // Runs with devices get a devices column in the report.
    let header: Vec<&str> = run
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "#",
            "status",
            "exit",
            "time",
            "values",
            "devices",
            "run",
            "directory"
        ]
    );
    let m = manifest(&cli_sweep_dir(&sb));
    let runs = m["runs"].as_array().unwrap();
    let mut devices_by_dir = BTreeMap::new();
    for run in runs {
        let devices: Vec<String> = run["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(devices.len(), 2, "{run}");
        let dir = PathBuf::from(run["run_dir"].as_str().unwrap());
        let log = read(&dir.join("log.txt"));
        assert!(
            log.contains(&format!("CUDA_VISIBLE_DEVICES={}", devices.join(","))),
            "{log}"
        );
        devices_by_dir.insert(dir, devices);
    }
    // Runs that overlapped in time never shared a device id.
    let infos: Vec<(Value, &Vec<String>)> = devices_by_dir
        .iter()
        .map(|(dir, devs)| (run_json(dir), devs))
        .collect();
    for (i, (a, da)) in infos.iter().enumerate() {
        for (b, db) in &infos[i + 1..] {
            let overlap =
                time(a, "started") < time(b, "ended") && time(b, "started") < time(a, "ended");
            if overlap {
                assert!(
                    da.iter().all(|d| !db.contains(d)),
                    "{da:?} and {db:?} overlapped"
                );
            }
        }
    }
    assert_eq!(
        max_overlap(&work_runs(&sb)),
        2,
        "4 ids, 2 per run: two at a time"
    );

    let run = sb.run(
        SWEEP,
        &[
            "work",
            "--sweep",
            "int_param=1",
            "--str-param",
            "x",
            "--gpus-per-run",
            "2",
        ],
    );
    run.expect_code(2);
    assert!(
        run.error_line().contains("needs 2 device(s) but only"),
        "{}",
        run.stderr
    );
    // The refused sweep left no directory behind.
    assert_eq!(
        support::run_dirs(&sb.path().join("output/sweeps/work")).len(),
        1
    );
}

#[test]
fn gpus_per_run_without_devices_is_a_usage_error_that_creates_nothing() {
    let sb = Sandbox::new();
    for devices in [None, Some(""), Some("0")] {
        let mut cmd = sb.cmd(SWEEP);
        cmd.args([
            "work",
            "--sweep",
            "int_param=1,2",
            "--str-param",
            "x",
            "--gpus-per-run",
            "2",
        ]);
        match devices {
            Some(ids) => cmd.env("CUDA_VISIBLE_DEVICES", ids),
            None => cmd.env_remove("CUDA_VISIBLE_DEVICES"),
        };
        let run = support::Run::of(cmd.output().unwrap());
        run.expect_code(2);
        let errors: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(
            errors[0].contains("each run needs 2 device(s)"),
            "{}",
            run.stderr
        );
    }
    assert!(!sb.has_output(), "a refused sweep creates no directory");
}

#[test]
fn progress_is_drawn_on_a_terminal() {
    let sb = Sandbox::new();
    let out = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{SWEEP} work --sweep int_param=1,2 --str-param x --sleep-s 0.3"),
            "/dev/null",
        ])
        .current_dir(sb.path())
        .output()
        .unwrap();
    let console = String::from_utf8_lossy(&out.stdout);
    assert!(console.contains("/2 runs"), "{console:?}");
    // Without a terminal there is no bar.
    let run = sb.run(
        SWEEP,
        &["work", "--sweep", "int_param=1,2", "--str-param", "x"],
    );
    assert!(!run.ok().stderr.contains("/2 runs"), "{}", run.stderr);
}
