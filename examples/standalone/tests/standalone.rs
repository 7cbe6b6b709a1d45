//! Drives the program that depends on rystematic alone: the macros, the
//! extension registration and the re-exported `anyhow`/`tracing` work
//! end to end without the user adding those crates.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_standalone"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("start the standalone example")
}

fn only_run_dir(dir: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = fs::read_dir(dir.join("output/standalone"))
        .expect("the experiment's output directory")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    assert_eq!(runs.len(), 1, "one run directory: {runs:?}");
    runs.into_iter().next().unwrap()
}

#[test]
fn greets_logs_through_the_reexported_tracing_and_runs_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--name", "World"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello World!\n");
    let run_dir = only_run_dir(dir.path());
    assert_eq!(
        fs::read_to_string(run_dir.join("hello.txt")).unwrap(),
        "Hello World!\n"
    );
    let log = fs::read_to_string(run_dir.join("log.txt")).unwrap();
    assert!(log.contains("greeted World"), "{log}");
    assert!(log.contains("farewell: Completed"), "{log}");
}

#[test]
fn an_error_carries_the_context_added_with_the_reexported_anyhow() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["--name", "World", "--file", "missing/hello.txt"],
    );
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("writing ") && stderr.contains("missing/hello.txt"),
        "{stderr}"
    );
}
