//! The recorder end to end: what the `recorder` example writes, read back
//! by TensorBoard's own loader; backends; flushing on interrupt and crash.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::python::{python, scripts, tb_scalars};
use support::{Sandbox, read, run_json};

const RECORDER: &str = env!("CARGO_BIN_EXE_recorder");

fn tb_plugins(dir: &Path) -> Value {
    let out = Command::new(python())
        .arg(scripts().join("tb_plugins.py"))
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn f32_exact(x: f64) -> f64 {
    f64::from(x as f32)
}

#[test]
fn tensorboard_reads_back_every_scalar_exactly() {
    let sb = Sandbox::new();
    let steps = 200u64;
    sb.run(RECORDER, &["--steps", &steps.to_string()]).ok();
    let dir = sb.only_run_dir("recorder");
    let (code, scalars) = tb_scalars(&dir);
    assert_eq!(code, Some(0), "{scalars}");
    let run = &scalars["."];
    let series = |tag: &str| -> Vec<(u64, f64)> {
        run[tag]
            .as_array()
            .unwrap_or_else(|| panic!("no {tag} in {run}"))
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap()))
            .collect()
    };
    let expected_loss: Vec<(u64, f64)> = (0..steps)
        .map(|s| (s, f32_exact(1.0 / (1.0 + s as f64))))
        .collect();
    let expected_acc: Vec<(u64, f64)> = (0..steps)
        .map(|s| (s, f32_exact(s as f64 / steps as f64)))
        .collect();
    assert_eq!(series("train/loss"), expected_loss);
    assert_eq!(series("train/acc"), expected_acc);
    assert_eq!(
        series("final/loss"),
        [(steps, f32_exact(1.0 / steps as f64))]
    );

    // The CSV has the same values at full precision.
    let csv = read(&dir.join("scalars.csv"));
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("step,tag,value"));
    // Blank lines may fill the end of a page (no row straddles one).
    let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 2 * steps as usize + 2);
    assert_eq!(rows[0], "0,train/loss,1.0");
    assert_eq!(rows[2], "1,train/loss,0.5");
    let value = |row: &str| row.rsplit(',').next().unwrap().parse::<f64>().unwrap();
    assert_eq!(
        value(rows[3]),
        1.0 / steps as f64,
        "64-bit values in the CSV"
    );
    assert_eq!(value(rows[4]), 1.0 / 3.0);
}

#[test]
fn images_figures_text_and_hparams_are_there() {
    let sb = Sandbox::new();
    sb.run(RECORDER, &["--steps", "30", "--random-seed", "7"])
        .ok();
    let dir = sb.only_run_dir("recorder");
    let plugins = tb_plugins(&dir);
    assert_eq!(
        plugins["images"]["samples/last"],
        serde_json::json!([[29, 64, 64]])
    );
    assert_eq!(
        plugins["images"]["curves/loss"],
        serde_json::json!([[30, 640, 480]])
    );
    assert_eq!(
        plugins["text"]["notes/text_summary"],
        serde_json::json!([[0, "Training for 30 steps."]])
    );
    let hparams = &plugins["hparams"];
    assert_eq!(
        hparams["hparams"],
        serde_json::json!({"random_seed": 7.0, "steps": 30.0})
    );
    assert_eq!(
        hparams["metrics"],
        serde_json::json!(["final/loss", "final/acc"])
    );
    assert_eq!(hparams["status"], 1, "session ended with success");

    for file in ["images/samples.last-29.png", "figures/curves.loss-30.png"] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{file}");
    }
    assert_eq!(
        read(&dir.join("text/notes-0.txt")),
        "Training for 30 steps."
    );
    let hparams_json: Value = serde_json::from_str(&read(&dir.join("hparams.json"))).unwrap();
    assert_eq!(hparams_json["hparams"]["steps"], 30.0);
}

#[derive(serde::Deserialize, Debug)]
struct Checkpoint {
    step: u64,
    loss: f64,
    recorder: rystematic_recorder::RecorderState,
}

#[test]
fn the_checkpoint_loads_back() {
    let sb = Sandbox::new();
    sb.run(RECORDER, &["--steps", "20"]).ok();
    let path = sb.only_run_dir("recorder").join("checkpoint-20.cbor");
    let checkpoint: Checkpoint = rystematic_recorder::load_checkpoint(&path).unwrap();
    assert_eq!(checkpoint.step, 20);
    assert_eq!(checkpoint.loss, 1.0 / 20.0);
    assert_eq!(checkpoint.recorder.count, 20);
}

#[test]
fn backends_are_chosen_by_a_parameter() {
    let sb = Sandbox::new();
    let run = sb.run(
        RECORDER,
        &["--steps", "3", "--recorder-backends", "console", "--debug"],
    );
    run.ok();
    let dir = sb.only_run_dir("recorder");
    assert!(
        run.stderr
            .contains("[INFO] [recorder] step 1: train/loss=0.5 train/acc=0.3333333333333333"),
        "{}",
        run.stderr
    );
    assert!(!dir.join("scalars.csv").exists());
    assert!(!std::fs::read_dir(&dir).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains("tfevents")
    }));
    let log = read(&dir.join("log.txt"));
    assert!(
        log.contains("extensions: distributed (1), recorder (50)"),
        "{log}"
    );

    let run = sb.run(RECORDER, &["--steps", "3", "--recorder-backends", "gpu"]);
    run.expect_code(2);
    assert!(
        run.error_line()
            .contains("not one of tensorboard, files, console"),
        "{}",
        run.stderr
    );
}

/// Starts a long recording.
fn start_long_recording(sb: &Sandbox) -> std::process::Child {
    sb.cmd(RECORDER)
        .args(["--steps", "1000000000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until the recording has written some rows (killing it if it
/// never does) and returns its run directory.
fn wait_for_rows(sb: &Sandbox, child: &mut std::process::Child) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(dir) = sb.run_dirs("recorder").pop()
            && std::fs::metadata(dir.join("scalars.csv")).is_ok_and(|m| m.len() > 500_000)
        {
            return dir;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the recording never got going");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn loss_rows(dir: &Path) -> usize {
    read(&dir.join("scalars.csv"))
        .lines()
        .filter(|l| l.contains(",train/loss,"))
        .count()
}

#[test]
fn an_interrupted_run_flushes_everything_it_recorded() {
    let sb = Sandbox::new();
    let mut child = start_long_recording(&sb);
    let dir = wait_for_rows(&sb, &mut child);
    support::signal("INT", child.id());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(run_json(&dir)["status"], "interrupted");
    let (code, scalars) = tb_scalars(&dir);
    assert_eq!(code, Some(0), "no torn record: {scalars}");
    let events = scalars["."]["train/loss"].as_array().unwrap().len();
    let csv = read(&dir.join("scalars.csv"));
    assert!(csv.ends_with('\n'), "whole rows only");
    // Both backends were flushed at the interrupt, up to the same step.
    assert_eq!(events, loss_rows(&dir));
    assert!(events > 1000);
}

#[test]
fn a_killed_run_leaves_no_torn_record() {
    for _ in 0..3 {
        let sb = Sandbox::new();
        let mut child = start_long_recording(&sb);
        let dir = wait_for_rows(&sb, &mut child);
        child.kill().unwrap();
        child.wait().unwrap();
        let (code, scalars) = tb_scalars(&dir);
        assert_eq!(
            code,
            Some(0),
            "every record up to the last flush is whole: {scalars}"
        );
        let csv = read(&dir.join("scalars.csv"));
        assert!(csv.ends_with('\n'), "whole rows only");
        assert!(scalars["."]["train/loss"].as_array().unwrap().len() > 1000);
    }
}

/// Writes fail partway, for real: the child runs under a file-size limit
/// (`RLIMIT_FSIZE`, with SIGXFSZ ignored so `write` returns EFBIG after a
/// short write), which cuts `scalars.csv` and the event file mid-record.
/// The recorder cuts each file back to its last whole record and the run
/// fails, saying why: no torn record, and no "completed" over lost metrics.
#[test]
fn a_write_cut_by_a_file_size_limit_tears_no_record_and_fails_the_run() {
    use std::os::unix::process::CommandExt;
    const LIMIT: u64 = 200_000 + 1234;
    let sb = Sandbox::new();
    let mut cmd = sb.cmd(RECORDER);
    cmd.args(["--steps", "20000"]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0
                || libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let run = support::Run::of(cmd.output().unwrap());
    run.expect_code(1);
    let dir = sb.only_run_dir("recorder");
    let info = run_json(&dir);
    assert_eq!(info["status"], "failed", "{info}");
    let error = info["error"].as_str().unwrap();
    assert!(
        error.contains("cannot write") && error.contains("large"),
        "{error}"
    );

    let (code, scalars) = tb_scalars(&dir);
    assert_eq!(code, Some(0), "no torn record: {scalars}");
    let events = scalars["."]["train/loss"].as_array().unwrap();
    let steps: Vec<u64> = events.iter().map(|e| e[0].as_u64().unwrap()).collect();
    assert!(steps.len() > 100 && steps.len() < 20_000, "{}", steps.len());
    assert_eq!(steps, (0..steps.len() as u64).collect::<Vec<_>>());

    let csv = read(&dir.join("scalars.csv"));
    assert!(csv.ends_with('\n'), "whole rows only");
    assert!(csv.len() as u64 <= LIMIT);
    let mut rows = csv.lines().skip(1).filter(|l| !l.is_empty());
    assert!(rows.all(|row| {
        let fields: Vec<&str> = row.split(',').collect();
        fields.len() == 3 && fields[0].parse::<u64>().is_ok() && fields[2].parse::<f64>().is_ok()
    }));
}
