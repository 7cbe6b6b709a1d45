//! The recorder on a run resumed in place: a `recorder` run stopped
//! (SIGTERM, as a preemption; `kill -9`, as a crash) after a checkpoint
//! goes on with `--resume-run` from its latest checkpoint, and every step
//! of every tag is recorded once, in `scalars.csv` and in the event files.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::python::{tb_events, tb_scalars};
use support::{Sandbox, read, run_json, signal};

const RECORDER: &str = env!("CARGO_BIN_EXE_recorder");
const STEPS: u64 = 400;
const ARGS: [&str; 8] = [
    "--steps",
    "400",
    "--checkpoint-every",
    "50",
    "--step-ms",
    "10",
    "--random-seed",
    "5",
];

/// The `(step, tag)` of every row of a run's `scalars.csv` (blank filler
/// lines skipped), checking the header comes once, first.
fn csv_rows(dir: &Path) -> Vec<(u64, String)> {
    let csv = read(&dir.join("scalars.csv"));
    assert!(csv.starts_with("step,tag,value\n"), "{csv:.200}");
    assert_eq!(csv.matches("step,tag,value").count(), 1, "one header");
    assert!(csv.ends_with('\n'), "whole rows only");
    csv.lines()
        .skip(1)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 3, "{line:?}");
            (fields[0].parse().unwrap(), fields[1].to_owned())
        })
        .collect()
}

/// The steps of `tag` in `scalars.csv`, in file order.
fn csv_steps(rows: &[(u64, String)], tag: &str) -> Vec<u64> {
    rows.iter()
        .filter(|(_, t)| t == tag)
        .map(|(step, _)| *step)
        .collect()
}

/// Starts a recording that checkpoints every 50 steps, waits until it has
/// checkpoint-100 and has recorded (flushed) steps past it, then stops it
/// with `sig`; returns its directory and the last step it had recorded.
fn stopped_run(sb: &Sandbox, sig: &str) -> (PathBuf, u64) {
    let mut child = sb
        .cmd(RECORDER)
        .args(ARGS)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start recorder");
    let deadline = Instant::now() + Duration::from_secs(30);
    let dir = loop {
        let ready = sb.run_dirs("recorder").into_iter().find(|dir| {
            dir.join("checkpoint-100.cbor").is_file()
                && std::fs::read_to_string(dir.join("scalars.csv"))
                    .is_ok_and(|csv| csv.contains("\n110,train/loss,"))
        });
        if let Some(dir) = ready {
            break dir;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the recording never got past checkpoint-100");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    signal(sig, child.id());
    let status = child.wait().unwrap();
    if sig == "TERM" {
        assert_eq!(status.code(), Some(143));
        assert_eq!(run_json(&dir)["status"], "interrupted");
    } else {
        assert_eq!(status.code(), None, "killed");
        assert_eq!(run_json(&dir)["status"], "running", "nobody said otherwise");
    }
    assert!(
        !dir.join(format!("checkpoint-{STEPS}.cbor")).exists(),
        "stopped mid-way"
    );
    let last = *csv_steps(&csv_rows(&dir), "train/loss").last().unwrap();
    assert!((110..STEPS - 1).contains(&last), "{last}");
    (dir, last)
}

/// Resumes the stopped run in `dir` and checks it recorded every step of
/// every tag once, going on from its latest checkpoint.
fn resume_and_check(sb: &Sandbox, dir: &Path, last: u64) {
    let run = sb.run(RECORDER, &["--resume-run", dir.to_str().unwrap()]);
    run.ok();
    assert_eq!(sb.run_dirs("recorder"), [dir.to_owned()], "in place");
    let info = run_json(dir);
    assert_eq!(info["status"], "completed");
    assert_eq!(info["attempt"], 2);

    let log = read(&dir.join("log.txt"));
    assert!(
        log.contains(&format!(
            "attempt 2: recording goes on after step {last}, the last one recorded"
        )),
        "{log}"
    );
    // The latest checkpoint: the last multiple of 50 at or before the stop.
    let checkpoint = (last + 1) / 50 * 50;
    assert!(
        log.contains(&format!(
            "attempt 2: starting from checkpoint {}",
            dir.join(format!("checkpoint-{checkpoint}.cbor")).display()
        )),
        "{log}"
    );

    // scalars.csv: each (step, tag) once, the steps going on in order.
    let rows = csv_rows(dir);
    let mut unique = rows.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), rows.len(), "a (step, tag) recorded twice");
    let all: Vec<u64> = (0..STEPS).collect();
    assert_eq!(csv_steps(&rows, "train/loss"), all);
    assert_eq!(csv_steps(&rows, "train/acc"), all);
    assert_eq!(csv_steps(&rows, "final/loss"), [STEPS]);

    // The event files, read record by record: the same, once each.
    let events = tb_events(dir);
    assert_eq!(events["train/loss"], all);
    assert_eq!(events["train/acc"], all);
    assert_eq!(events["samples/last"], [STEPS - 1]);
    assert_eq!(events["final/loss"], [STEPS]);
    // And TensorBoard's multiplexer shows the one whole curve.
    let (code, scalars) = tb_scalars(dir);
    assert_eq!(code, Some(0), "{scalars}");
    let loss = scalars["."]["train/loss"].as_array().unwrap();
    assert_eq!(loss.len(), STEPS as usize);
    for (step, point) in loss.iter().enumerate() {
        assert_eq!(point[0], step as u64);
        assert_eq!(
            point[1].as_f64().unwrap(),
            f64::from((1.0 / (1.0 + step as f64)) as f32)
        );
    }
}

#[test]
fn a_run_stopped_by_sigterm_resumes_recording_each_step_once() {
    let sb = Sandbox::new();
    let (dir, last) = stopped_run(&sb, "TERM");
    resume_and_check(&sb, &dir, last);
}

#[test]
fn a_run_killed_with_sigkill_resumes_recording_each_step_once() {
    let sb = Sandbox::new();
    let (dir, last) = stopped_run(&sb, "KILL");
    resume_and_check(&sb, &dir, last);
}
