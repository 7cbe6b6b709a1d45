//! `--resume-run`: a stopped run goes on in its own directory, with its
//! parameters, the next attempt number and its seed stream going on; runs
//! that cannot go on are refused with exit code 2 and left as they were.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::tool::tool;
use support::{Sandbox, read, run_json, signal};

const RESUMABLE: &str = env!("CARGO_BIN_EXE_resumable");

/// The `(step, seed)` lines of a run's progress file.
fn progress(dir: &Path) -> Vec<(u32, u64)> {
    read(&dir.join("progress.txt"))
        .lines()
        .map(|line| {
            let (step, seed) = line.split_once(' ').expect("a `step seed` line");
            (step.parse().unwrap(), seed.parse().unwrap())
        })
        .collect()
}

/// Starts a slow run and stops it with SIGTERM once two steps are done, as
/// a preemption would; returns its directory.
fn interrupted_run(sb: &Sandbox) -> std::path::PathBuf {
    let mut child = sb
        .cmd(RESUMABLE)
        .args(["--steps", "8", "--step-ms", "150", "--random-seed", "11"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start resumable");
    let deadline = Instant::now() + Duration::from_secs(30);
    let dir = loop {
        let started = sb
            .run_dirs("resumable")
            .into_iter()
            .find(|d| d.join("progress.txt").exists() && progress(d).len() >= 2);
        if let Some(dir) = started {
            break dir;
        }
        assert!(
            Instant::now() < deadline,
            "the run never finished two steps"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    signal("TERM", child.id());
    assert_eq!(child.wait().unwrap().code(), Some(143));
    dir
}

#[test]
fn an_interrupted_run_goes_on_in_its_own_directory() {
    let sb = Sandbox::new();
    // The seeds a run with this random_seed draws, without a stop.
    sb.run(
        RESUMABLE,
        &[
            "--steps",
            "12",
            "--random-seed",
            "11",
            "--output-dir",
            "straight",
        ],
    )
    .ok();
    let straight: Vec<u64> = progress(&support::run_dirs(&sb.path().join("straight/resumable"))[0])
        .into_iter()
        .map(|(_, seed)| seed)
        .collect();

    let dir = interrupted_run(&sb);
    let first = run_json(&dir);
    assert_eq!(first["status"], "interrupted");
    assert_eq!(first["attempt"], 1);
    let drawn = first["seeds_drawn"].as_u64().expect("seeds_drawn recorded");
    let done = progress(&dir).len();
    assert!(drawn as usize >= done, "{drawn} seeds for {done} steps");

    let run = sb.run(RESUMABLE, &["--resume-run", dir.to_str().unwrap()]);
    run.ok();
    assert!(run.stdout.contains("done: 8 steps"), "{}", run.stdout);

    // The same directory, the only run; every step once, in order.
    assert_eq!(sb.run_dirs("resumable"), std::slice::from_ref(&dir));
    let steps = progress(&dir);
    assert_eq!(
        steps.iter().map(|(step, _)| *step).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );
    // The stream went on after the numbers the first attempt drew.
    let resumed: Vec<u64> = steps[done..].iter().map(|(_, seed)| *seed).collect();
    assert_eq!(
        resumed,
        straight[drawn as usize..drawn as usize + resumed.len()]
    );

    let info = run_json(&dir);
    assert_eq!(info["status"], "completed");
    assert_eq!(info["attempt"], 2);
    let shown = tool(&["show", dir.to_str().unwrap()]).expect(0).stdout;
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("attempt ") && l.ends_with(" 2")),
        "{shown}"
    );
    assert_eq!(info["started"], first["started"]);
    assert!(info["duration_s"].as_f64().unwrap() >= first["duration_s"].as_f64().unwrap());
    let log = read(&dir.join("log.txt"));
    assert!(log.contains("Running experiment resumable"), "{log}");
    assert!(
        log.contains(&format!(
            "Resuming experiment resumable in {} (attempt 2",
            dir.display()
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!("attempt 2: {done} steps were done")),
        "{log}"
    );
}

#[test]
fn a_resume_that_changes_parameters_is_refused_and_changes_nothing() {
    let sb = Sandbox::new();
    let dir = interrupted_run(&sb);
    let before = read(&dir.join("run.json"));
    let run = sb.run(
        RESUMABLE,
        &["--resume-run", dir.to_str().unwrap(), "--steps", "9"],
    );
    run.expect_code(2);
    let error = run.error_line();
    assert!(
        error.contains(&format!("cannot resume the run in '{}'", dir.display()))
            && error.contains("'steps' would be '9', but the run has '8'"),
        "{error}"
    );
    assert_eq!(read(&dir.join("run.json")), before);
    // Restating a recorded value is fine.
    sb.run(
        RESUMABLE,
        &["--resume-run", dir.to_str().unwrap(), "--steps", "8"],
    )
    .ok();
    assert_eq!(run_json(&dir)["status"], "completed");
}

#[test]
fn completed_runs_and_foreign_directories_are_refused() {
    let sb = Sandbox::new();
    sb.run(RESUMABLE, &["--steps", "2"]).ok();
    let dir = sb.only_run_dir("resumable");
    let completed = sb.run(RESUMABLE, &["--resume-run", dir.to_str().unwrap()]);
    completed.expect_code(2);
    assert!(
        completed
            .error_line()
            .contains("it completed; there is nothing left to resume"),
        "{}",
        completed.stderr
    );
    assert_eq!(run_json(&dir)["attempt"], 1);

    let foreign = sb.path().join("not-a-run");
    std::fs::create_dir(&foreign).unwrap();
    let refused = sb.run(RESUMABLE, &["--resume-run", foreign.to_str().unwrap()]);
    refused.expect_code(2);
    assert!(
        refused.error_line().contains("it has no readable run.json"),
        "{}",
        refused.stderr
    );
    // Resuming is not also a sweep.
    let both = sb.run(
        RESUMABLE,
        &[
            "--resume-run",
            dir.to_str().unwrap(),
            "--sweep",
            "steps=1,2",
        ],
    );
    both.expect_code(2);
}
