//! The `rystematic` binary itself: exit codes and streams. What it lists
//! is tested end to end on real runs in `examples/tests/runs_tool.rs`.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_rystematic");

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_usage_errors_and_a_missing_output_dir() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    for command in ["ls", "show", "diff", "gc", "report", "ui"] {
        assert!(out.contains(command), "{out}");
    }
    let (code, _, err) = run(&["ls", "--where", "lr"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        err,
        "error: invalid value 'lr' for --where: expected NAME=VALUE, e.g. --where lr=0.1\n"
    );
    let (code, _, err) = run(&["frobnicate"]);
    assert_eq!(code, Some(2), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let (code, _, err) = run(&["ls", missing.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.starts_with(&format!("error: cannot access '{}': ", missing.display())),
        "{err}"
    );
}

#[test]
fn an_output_dir_of_damaged_runs_lists_them_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("exp/2026-11-28_05-15-13_abcdef");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("run.json"), "{\"experiment\": \"exp\", \"stat").unwrap();
    let (code, out, err) = run_in(dir.path());
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("no runs in"), "{out}");
    assert!(
        out.contains("exp/2026-11-28_05-15-13_abcdef  run.json is cut short"),
        "{out}"
    );
}

fn run_in(dir: &std::path::Path) -> (Option<i32>, String, String) {
    run(&["ls", dir.to_str().unwrap()])
}
