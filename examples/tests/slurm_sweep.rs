//! Sweeps as SLURM job arrays (`--launcher slurm`), against a real SLURM
//! (scripts/slurm-start): failing runs, resume, cancel on SIGTERM, detach
//! and a later wait, requeue, and SLURM's own errors. Without a cluster
//! these tests say how to get one and pass, unless RYSTEMATIC_REQUIRE_SLURM
//! is set (as CI does), when they fail.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::tool::tool;
use support::{Run, Sandbox, run_json, slurm_is_up};

const SWEEP: &str = env!("CARGO_BIN_EXE_sweep");
const RESUMABLE: &str = env!("CARGO_BIN_EXE_resumable");

/// Polls `condition` until it holds (`limit` at most; a loaded node takes
/// its time to start tasks).
#[track_caller]
fn wait_within(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const PATIENCE: Duration = Duration::from_secs(120);

/// The test node has as few CPUs as the machine: tests that hold tasks
/// running would wait on each other's, so they take turns.
static CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// This test's turn on the cluster and a scratch directory, or `None`
/// when no SLURM is up (the test then passes without running, as
/// `slurm_is_up` says).
fn on_cluster() -> Option<(std::sync::MutexGuard<'static, ()>, Sandbox)> {
    let turn = || CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    slurm_is_up().then(|| (turn(), Sandbox::new()))
}

/// Waits until `n` runs of `work` have a `run.json` (their tasks left the
/// queue: the node may be busy with other jobs); returns their directories.
fn wait_for_runs(sb: &Sandbox, n: usize, file: &str) -> Vec<PathBuf> {
    let with_file = || -> Vec<PathBuf> {
        sb.run_dirs("work")
            .into_iter()
            .filter(|d| d.join(file).exists())
            .collect()
    };
    wait_within(PATIENCE, &format!("{n} runs with {file}"), || {
        with_file().len() >= n
    });
    with_file()
}

/// The one command-line sweep directory of `work`.
fn sweep_dir(sb: &Sandbox) -> PathBuf {
    let dirs = support::run_dirs(&sb.path().join("output/sweeps/work"));
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.into_iter().next().unwrap()
}

/// The runs as the manifest has them (snapshot plus journal).
fn runs(dir: &Path) -> Vec<rystematic::SweepRun> {
    rystematic::SweepReport::read(dir).expect("a manifest").runs
}

fn statuses(dir: &Path) -> Vec<String> {
    runs(dir).iter().map(|r| r.status.to_string()).collect()
}

/// `<sweep>/slurm/jobs.json`.
fn jobs(dir: &Path) -> Value {
    serde_json::from_str(&support::read(&dir.join("slurm/jobs.json"))).unwrap()
}

fn job_id(dir: &Path, n: usize) -> String {
    jobs(dir)["arrays"][n]["job_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The tasks of `job` SLURM still has queued or running.
fn live_tasks(job: &str) -> Vec<String> {
    let out = Command::new("squeue")
        .args(["-h", "-r", "-o", "%i %T", "-j", job])
        .output()
        .expect("run squeue");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn common<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["work", "--str-param", "s", "--launcher", "slurm"];
    args.extend_from_slice(extra);
    args
}

#[test]
fn an_array_with_a_failing_run_reports_it_and_exits_1() {
    let Some((_turn, sb)) = on_cluster() else {
        return;
    };
    let out = sb.run(
        SWEEP,
        &common(&["--sweep", "int_param=0..4", "--fail-on", "2", "--jobs", "2"]),
    );
    out.expect_code(1);
    let dir = sweep_dir(&sb);
    assert_eq!(
        statuses(&dir),
        ["completed", "completed", "failed", "completed"]
    );
    assert!(
        out.stdout
            .contains("3 of 4 runs completed, 1 failed; manifest: "),
        "{}",
        out.stdout
    );
    let failed = out.stdout.lines().find(|l| l.starts_with("2 ")).unwrap();
    assert!(failed.contains("failed     1"), "{failed}");
    // One array, one task per run, the task id being the run's index.
    let arrays = jobs(&dir)["arrays"].as_array().unwrap().clone();
    assert_eq!(arrays.len(), 1, "{arrays:?}");
    assert_eq!(arrays[0]["tasks"], serde_json::json!([0, 1, 2, 3]));
    let job = arrays[0]["job_id"].as_str().unwrap();
    for run in runs(&dir) {
        let run_dir = run.run_dir.as_ref().expect("a run dir");
        let info = run_json(run_dir);
        assert_eq!(info["slurm"]["array_job_id"], job, "{info}");
        assert_eq!(info["slurm"]["array_task_id"], run.index as u64, "{info}");
        assert!(info["slurm"]["job_id"].is_string(), "{info}");
        assert!(info["slurm"]["node"].is_string(), "{info}");
        assert_eq!(info["slurm"]["restart_count"], 0, "{info}");
        // Each task's console is in the sweep dir, as for local runs.
        let console = support::read(&dir.join(format!("run-{}.out", run.index)));
        assert!(console.contains("Running experiment work"), "{console}");
    }
    assert!(support::read(&dir.join("run-2.out")).contains("int_param is 2, the value to fail on"));
}

#[test]
fn resume_resubmits_only_the_runs_that_did_not_complete() {
    let Some((_turn, sb)) = on_cluster() else {
        return;
    };
    let args = common(&["--sweep", "int_param=0..3", "--fail-on", "1", "--jobs", "3"]);
    sb.run(SWEEP, &args).expect_code(1);
    let dir = sweep_dir(&sb);
    let before = runs(&dir);
    let mut again = args.clone();
    again.push("--resume-sweep");
    let out = sb.run(SWEEP, &again);
    out.expect_code(1);
    assert!(
        out.stderr.contains("Resuming the sweep in"),
        "{}",
        out.stderr
    );
    // The second array holds only the run that failed.
    let arrays = jobs(&dir)["arrays"].as_array().unwrap().clone();
    assert_eq!(arrays.len(), 2, "{arrays:?}");
    assert_eq!(arrays[1]["tasks"], serde_json::json!([1]));
    let after = runs(&dir);
    assert_eq!(statuses(&dir), ["completed", "failed", "completed"]);
    for i in [0, 2] {
        assert_eq!(after[i].run_dir, before[i].run_dir, "run {i} ran again");
        assert_eq!(after[i].attempts, 1);
    }
    assert_ne!(after[1].run_dir, before[1].run_dir);
    assert_eq!(after[1].attempts, 2);
    assert_eq!(sb.run_dirs("work").len(), 4);
}

#[test]
fn sigterm_cancels_the_array_and_marks_unfinished_runs_interrupted() {
    let Some((_turn, sb)) = on_cluster() else {
        return;
    };
    let child = spawn(
        &sb,
        SWEEP,
        &common(&[
            "--sweep",
            "int_param=0..5",
            "--sleep-s",
            "300",
            "--jobs",
            "2",
        ]),
    );
    // Two tasks running their runs, three queued behind the throttle.
    let started = wait_for_runs(&sb, 2, "run.json");
    let dir = sweep_dir(&sb);
    let job = job_id(&dir, 0);
    wait_within(PATIENCE, "two runs running", || {
        statuses(&dir).iter().filter(|s| *s == "running").count() == 2
    });
    support::signal("TERM", child.id());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing left queued or running, and every run interrupted.
    assert_eq!(live_tasks(&job), Vec::<String>::new());
    assert_eq!(statuses(&dir), ["interrupted"; 5]);
    for run_dir in &started {
        assert_eq!(run_json(run_dir)["status"], "interrupted");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Resume with: "), "{stderr}");
}

#[test]
fn detach_submits_and_exits_then_status_shows_it_and_wait_follows_it_to_the_end() {
    let Some((_turn, sb)) = on_cluster() else {
        return;
    };
    let go = sb.path().join("go");
    let go_arg = go.display().to_string();
    let out = sb.run(
        SWEEP,
        &common(&[
            "--sweep",
            "int_param=0..2",
            "--sleep-s",
            "300",
            "--sleep-until",
            &go_arg,
            "--jobs",
            "2",
            "--detach",
        ]),
    );
    out.ok();
    let dir = sweep_dir(&sb);
    let job = job_id(&dir, 0);
    assert!(
        out.stdout
            .contains(&format!("Submitted 2 runs as SLURM job {job}\n")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("sweep directory: {}\n", dir.display())),
        "{}",
        out.stdout
    );
    // The runs go on without the submitter: held until `go` exists.
    let dir_arg = dir.display().to_string();
    wait_for_runs(&sb, 2, "run.json");
    wait_within(PATIENCE, "status: 2 running", || {
        sb.run(SWEEP, &["work", "--sweep-status", &dir_arg])
            .ok()
            .stdout
            .contains(&format!("SLURM job {job}: 0 queued, 2 running"))
    });
    let status = sb.run(SWEEP, &["work", "--sweep-status", &dir_arg]);
    assert!(
        status.stdout.contains("0 of 2 runs completed"),
        "{}",
        status.stdout
    );
    let waiter = spawn(&sb, SWEEP, &["work", "--sweep-wait", &dir_arg]);
    std::fs::write(&go, "").unwrap();
    let waited = waiter.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&waited.stdout);
    assert_eq!(waited.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("2 of 2 runs completed, 0 failed"),
        "{stdout}"
    );
    assert_eq!(statuses(&dir), ["completed"; 2]);
    let status = sb.run(SWEEP, &["work", "--sweep-status", &dir_arg]);
    assert!(
        status
            .ok()
            .stdout
            .contains("nothing of it is queued or running"),
        "{}",
        status.stdout
    );
}

#[test]
fn a_requeued_task_restarts_its_run_cleanly() {
    let Some((_turn, sb)) = on_cluster() else {
        return;
    };
    let go = sb.path().join("go");
    let go_arg = go.display().to_string();
    let child = spawn(
        &sb,
        SWEEP,
        &common(&[
            "--sweep",
            "int_param=0..1",
            "--sleep-s",
            "300",
            "--sleep-until",
            &go_arg,
        ]),
    );
    let first = wait_for_runs(&sb, 1, "run.json").remove(0);
    let dir = sweep_dir(&sb);
    let task = format!("{}_0", job_id(&dir, 0));
    requeue(&task, &first);
    release(&task);
    let dirs = wait_for_runs(&sb, 2, "run.json");
    std::fs::write(&go, "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The first attempt recorded its interruption; the second is whole.
    assert_eq!(run_json(&first)["status"], "interrupted");
    let second = dirs.into_iter().find(|d| *d != first).unwrap();
    let info = run_json(&second);
    assert_eq!(info["status"], "completed");
    assert_eq!(info["slurm"]["restart_count"], 1, "{info}");
    assert_eq!(
        support::read(&second.join("result.txt")),
        "0-s",
        "the new attempt did the work"
    );
    let run = &runs(&dir)[0];
    assert_eq!(run.status.to_string(), "completed");
    assert_eq!(run.run_dir.as_deref(), Some(second.as_path()));
    assert_eq!(run.attempts, 2);
}

#[test]
fn a_bad_partition_is_one_error_line_naming_sbatch_and_creates_nothing() {
    let Some((_turn, sb)) = on_cluster() else {
        return;
    };
    let out = sb.run(
        SWEEP,
        &common(&[
            "--sweep",
            "int_param=0..2",
            "--slurm-partition",
            "no-such-partition",
        ]),
    );
    out.expect_code(2);
    let line = out.error_line();
    assert!(line.starts_with("error: `sbatch` failed: "), "{line}");
    assert!(line.contains("invalid partition"), "{line}");
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("error"))
            .count(),
        1
    );
    assert!(!sb.has_output(), "nothing is created");
}

#[test]
fn without_slurm_on_path_the_error_names_sbatch() {
    let sb = Sandbox::new();
    let out = Run::of(
        sb.cmd(SWEEP)
            .args(common(&["--sweep", "int_param=0..2"]))
            .env("PATH", "/nonexistent")
            .output()
            .unwrap(),
    );
    out.expect_code(2);
    assert!(
        out.error_line()
            .starts_with("error: cannot run `sbatch` (is SLURM installed and on PATH?)"),
        "{}",
        out.stderr
    );
    assert!(!sb.has_output());
}

#[test]
fn slurm_options_without_the_slurm_launcher_are_usage_errors() {
    let sb = Sandbox::new();
    for option in [
        ["--slurm-time", "5"],
        ["--detach", "--jobs"],
        ["--sbatch-arg", "--constraint=x"],
    ] {
        let mut args = vec!["work", "--str-param", "s", "--sweep", "int_param=0..2"];
        if option[1] == "--jobs" {
            args.extend(["--detach", "--jobs", "1"]);
        } else {
            args.extend(option);
        }
        let out = sb.run(SWEEP, &args);
        out.expect_code(2);
        assert!(
            out.error_line()
                .contains(&format!("{} needs --launcher slurm", option[0])),
            "{}",
            out.stderr
        );
    }
    let out = sb.run(
        SWEEP,
        &common(&["--sweep", "int_param=0..2", "--gpus-per-run", "1"]),
    );
    out.expect_code(2);
    assert!(
        out.error_line().contains("--slurm-gpus-per-task"),
        "{}",
        out.stderr
    );
    assert!(!sb.has_output());
}

#[test]
fn tasks_that_die_without_writing_are_failed_or_interrupted_from_what_slurm_says() {
    let Some((_turn, sb)) = on_cluster() else {
        return;
    };
    let child = spawn(
        &sb,
        SWEEP,
        &common(&[
            "--sweep",
            "int_param=0..2",
            "--sleep-s",
            "300",
            "--jobs",
            "2",
        ]),
    );
    wait_for_runs(&sb, 2, "run.json");
    let dir = sweep_dir(&sb);
    let job = job_id(&dir, 0);
    wait_within(PATIENCE, "two runs running", || {
        statuses(&dir).iter().filter(|s| *s == "running").count() == 2
    });
    let scancel = |args: &[&str]| {
        let out = Command::new("scancel").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "scancel {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Run 0's process is killed outright: it cannot record anything.
    scancel(&["--batch", "--signal=KILL", &format!("{job}_0")]);
    // Run 1's task is cancelled, as a user or an admin would.
    scancel(&[&format!("{job}_1")]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(statuses(&dir), ["failed", "interrupted"]);
    let runs = runs(&dir);
    let killed = run_json(runs[0].run_dir.as_ref().unwrap());
    assert_eq!(
        killed["status"], "failed",
        "corrected by the sweep: {killed}"
    );
    assert!(
        killed["error"]
            .as_str()
            .unwrap()
            .contains("ended without finishing"),
        "{killed}"
    );
    assert_eq!(
        run_json(runs[1].run_dir.as_ref().unwrap())["status"],
        "interrupted"
    );
    assert_eq!(live_tasks(&job), Vec::<String>::new());
}

#[test]
fn a_sweep_larger_than_the_clusters_arrays_runs_as_several_one_after_another() {
    let Some((_turn, sb)) = on_cluster() else {
        return;
    };
    // The test cluster's MaxArraySize is 5 (scripts/slurm-start): task ids
    // 0 to 4, so twelve runs go as three arrays.
    let config = scontrol(&["show", "config"]);
    assert!(
        config
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["MaxArraySize", "=", "5"]),
        "the test cluster runs an older slurm.conf: restart it (scripts/slurm-stop, then scripts/slurm-start)"
    );
    let args = common(&[
        "--sweep",
        "int_param=0..12",
        "--fail-on",
        "7",
        "--jobs",
        "2",
    ]);
    let out = sb.run(SWEEP, &args);
    out.expect_code(1);
    assert!(out.stderr.contains("as SLURM job arrays"), "{}", out.stderr);
    let dir = sweep_dir(&sb);
    let mut expected = vec!["completed"; 12];
    expected[7] = "failed";
    assert_eq!(statuses(&dir), expected);
    let arrays = jobs(&dir)["arrays"].as_array().unwrap().clone();
    let offsets: Vec<&Value> = arrays.iter().map(|a| &a["offset"]).collect();
    assert_eq!(offsets, [0, 5, 10], "{arrays:?}");
    assert_eq!(arrays[2]["tasks"], serde_json::json!([10, 11]));
    for run in runs(&dir) {
        let array = &arrays[run.index / 5];
        let info = run_json(run.run_dir.as_ref().expect("a run dir"));
        assert_eq!(info["slurm"]["array_job_id"], array["job_id"], "{info}");
        let task_id = run.index as u64 - array["offset"].as_u64().unwrap();
        assert_eq!(info["slurm"]["array_task_id"], task_id, "{info}");
        // SLURM names a task's console by its task id; it is still the
        // run's own `run-<index>.out`.
        let console = support::read(&dir.join(format!("run-{}.out", run.index)));
        assert!(console.contains("Running experiment work"), "{console}");
    }
    assert!(support::read(&dir.join("run-7.out")).contains("int_param is 7, the value to fail on"));
    // One after another: each array started once the one before ended.
    let times = |n: usize, key: &str| -> Vec<String> {
        runs(&dir)[n * 5..(n * 5 + 5).min(12)]
            .iter()
            .map(|run| {
                run_json(run.run_dir.as_ref().unwrap())[key]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let started = |n| times(n, "started").into_iter().min().unwrap();
    let ended = |n| times(n, "ended").into_iter().max().unwrap();
    assert!(started(1) > ended(0) && started(2) > ended(1));

    // A resume submits the failed run alone, at its array's offset.
    let mut again = args.clone();
    again.push("--resume-sweep");
    sb.run(SWEEP, &again).expect_code(1);
    let arrays = jobs(&dir)["arrays"].as_array().unwrap().clone();
    assert_eq!(arrays.len(), 4, "{arrays:?}");
    assert_eq!(arrays[3]["tasks"], serde_json::json!([7]));
    assert_eq!(arrays[3]["offset"], 5);
    let rerun = &runs(&dir)[7];
    assert_eq!(rerun.attempts, 2);
    let info = run_json(rerun.run_dir.as_ref().unwrap());
    assert_eq!(info["slurm"]["array_job_id"], arrays[3]["job_id"], "{info}");
    assert_eq!(info["slurm"]["array_task_id"], 2, "{info}");
}

#[test]
fn jobs_is_the_arrays_throttle() {
    let Some((_turn, sb)) = on_cluster() else {
        return;
    };
    // The node has room for two tasks at once; --jobs 1 allows one.
    sb.run(
        SWEEP,
        &common(&[
            "--sweep",
            "int_param=0..3",
            "--sleep-s",
            "0.3",
            "--jobs",
            "1",
        ]),
    )
    .ok();
    let mut spans: Vec<(jiff::Timestamp, jiff::Timestamp)> = sb
        .run_dirs("work")
        .iter()
        .map(|d| {
            let info = run_json(d);
            let at = |key: &str| info[key].as_str().unwrap().parse().unwrap();
            (at("started"), at("ended"))
        })
        .collect();
    assert_eq!(spans.len(), 3);
    spans.sort();
    for pair in spans.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "two runs overlapped with --jobs 1: {pair:?}"
        );
    }
}

/// Starts `bin` with `args` in the sandbox, its output captured.
fn spawn(sb: &Sandbox, bin: &str, args: &[&str]) -> std::process::Child {
    sb.cmd(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Seconds since the epoch (SLURM's job credentials have this resolution).
fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Requeues `task` and waits until it is pending again, its first attempt
/// (whose run directory is `first`) recorded as interrupted.
fn requeue(task: &str, first: &Path) {
    let requeued_at = unix_secs();
    scontrol(&["requeue", task]);
    // SLURM holds a requeued job back a while (two minutes) so that the
    // node has let go of its first attempt: `release` lets it go as soon as
    // that attempt recorded its end and the clock has passed the second of
    // the requeue (job credentials have one-second resolution: a relaunch
    // in the same second is refused as "credential revoked").
    wait_within(PATIENCE, "the task to be pending again", || {
        live_tasks(task).iter().any(|l| l.ends_with(" PENDING"))
            && run_json(first)["status"] == "interrupted"
            && unix_secs() > requeued_at
    });
}

/// Lets a requeued `task` start now.
fn release(task: &str) {
    scontrol(&["update", &format!("JobId={task}"), "StartTime=now"]);
}

/// SLURM's scontrol, which must succeed; its output.
fn scontrol(args: &[&str]) -> String {
    let out = Command::new("scontrol").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "scontrol {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_requeued_task_of_an_experiment_that_opted_in_resumes_its_run_in_place() {
    let Some((_turn, sb)) = on_cluster() else {
        return;
    };
    let child = spawn(
        &sb,
        RESUMABLE,
        &[
            "--sweep",
            "random_seed=3",
            "--launcher",
            "slurm",
            "--steps",
            "40",
            "--step-ms",
            "100",
        ],
    );
    let progress = |dir: &Path| -> Vec<String> {
        std::fs::read_to_string(dir.join("progress.txt"))
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let mut first = None;
    wait_within(PATIENCE, "the first attempt to finish two steps", || {
        first = sb
            .run_dirs("resumable")
            .into_iter()
            .find(|d| progress(d).len() >= 2);
        first.is_some()
    });
    let first = first.unwrap();
    let sweeps = support::run_dirs(&sb.path().join("output/sweeps/resumable"));
    let task = format!("{}_0", job_id(&sweeps[0], 0));
    requeue(&task, &first);
    let done_before = progress(&first).len();
    release(&task);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One run, resumed in place: every step once, the second attempt
    // going on after the first one's.
    assert_eq!(sb.run_dirs("resumable"), std::slice::from_ref(&first));
    let steps: Vec<u32> = progress(&first)
        .iter()
        .map(|line| line.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(steps, (1..=40).collect::<Vec<u32>>());
    let info = run_json(&first);
    assert_eq!(info["status"], "completed", "{info}");
    assert_eq!(info["attempt"], 2, "{info}");
    assert_eq!(info["slurm"]["restart_count"], 1, "{info}");
    // What `rystematic show` says of it.
    let shown = tool(&["show", first.to_str().unwrap()]).expect(0).stdout;
    let row = |key: &str| {
        shown
            .lines()
            .find_map(|l| l.strip_prefix(key).filter(|rest| rest.starts_with(' ')))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {key} row: {shown}"))
            .to_owned()
    };
    assert_eq!(row("attempt"), "2");
    let slurm = row("slurm");
    assert!(
        slurm.starts_with("job ")
            && slurm.contains(", task 0)")
            && slurm.ends_with(", restarted 1×"),
        "{slurm}"
    );
    let log = support::read(&first.join("log.txt"));
    assert!(
        log.contains(&format!("attempt 2: {done_before} steps were done")),
        "{log}"
    );
    assert_eq!(statuses(&sweeps[0]), ["completed"]);
}
