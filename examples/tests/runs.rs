//! Whole runs: reproducible seeds, failures, git metadata.

mod support;

use support::{Sandbox, git, read, run_json};

const REPRODUCIBLE: &str = env!("CARGO_BIN_EXE_reproducible");
const FAILING: &str = env!("CARGO_BIN_EXE_failing");
const HELLO: &str = env!("CARGO_BIN_EXE_hello_world");

/// The seed stream for `random_seed = 42`. Pinned forever: a change here
/// breaks the reproducibility of every recorded experiment.
const GOLDEN_42: &str =
    "random_seed=42\n3184996902\n686809907\n1196582743\n1478287871\n163338330\n";

#[test]
fn golden_seed_values() {
    let sb = Sandbox::new();
    assert_eq!(
        sb.run(REPRODUCIBLE, &["--random-seed", "42"]).ok().stdout,
        GOLDEN_42
    );
}

#[test]
fn rerunning_from_parameters_yaml_reproduces_the_seeds() {
    let sb = Sandbox::new();
    let first = sb.run(REPRODUCIBLE, &[]).ok().stdout.clone();
    let dir = sb.only_run_dir("reproducible-experiment");
    let params = dir.join("parameters.yaml");
    let again = sb.run(REPRODUCIBLE, &["--params-file", params.to_str().unwrap()]);
    assert_eq!(again.ok().stdout, first);
    // A fresh run without the file draws a new random seed.
    let other = sb.run(REPRODUCIBLE, &[]).ok().stdout.clone();
    assert_ne!(other, first);
    // The rerun recorded its own, identical parameters (bar params_file).
    let dirs = sb.run_dirs("reproducible-experiment");
    assert_eq!(dirs.len(), 3);
    let strip = |text: String| {
        text.lines()
            .filter(|l| !l.starts_with("params_file"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let rerun_params = dirs
        .iter()
        .map(|d| read(&d.join("parameters.yaml")))
        .find(|p| p.contains("params_file: /"))
        .expect("the rerun's parameters.yaml names its params file");
    assert_eq!(strip(rerun_params), strip(read(&params)));
}

#[test]
fn an_error_is_logged_with_its_causes_and_recorded_as_failed() {
    let sb = Sandbox::new();
    let run = sb.run(FAILING, &["--mode", "error"]);
    run.expect_code(1);
    let dir = sb.only_run_dir("failing");
    let log = read(&dir.join("log.txt"));
    for text in [&run.stderr, &log] {
        assert!(
            text.contains("[ERROR] [rystematic] Experiment failed: deliberate failure"),
            "{text}"
        );
        assert!(
            text.contains("[ERROR] [rystematic]   caused by: the root cause"),
            "{text}"
        );
    }
    assert!(
        run.stderr
            .contains(&format!("see {}", dir.join("log.txt").display())),
        "{}",
        run.stderr
    );
    let info = run_json(&dir);
    assert_eq!(info["status"], "failed");
    assert_eq!(info["error"], "deliberate failure: the root cause");
    assert!(info["ended"].is_string());
}

#[test]
fn a_panic_is_a_failure_too() {
    let sb = Sandbox::new();
    let run = sb.run(FAILING, &["--mode", "panic"]);
    run.expect_code(1);
    let dir = sb.only_run_dir("failing");
    let log = read(&dir.join("log.txt"));
    assert!(log.contains("Experiment failed: panicked at "), "{log}");
    assert!(log.contains("failing.rs:"), "the location is logged: {log}");
    assert!(log.contains("deliberate panic"), "{log}");
    assert!(
        !run.stderr.contains("thread 'main' panicked"),
        "reported once, as a log record"
    );
    let info = run_json(&dir);
    assert_eq!(info["status"], "failed");
    assert!(info["error"].as_str().unwrap().contains("deliberate panic"));
}

#[test]
fn a_successful_run_is_completed_and_leaves_no_temporary_files() {
    let sb = Sandbox::new();
    sb.run(FAILING, &["--mode", "OK"]).ok();
    let dir = sb.only_run_dir("failing");
    assert_eq!(run_json(&dir)["status"], "completed");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["log.txt", "parameters.yaml", "run.json"]);
}

#[test]
fn run_json_records_the_git_commit_and_dirty_flag() {
    let sb = Sandbox::new();
    git(sb.path(), &["init", "-q"]);
    sb.write("tracked.txt", "v1\n");
    sb.write(".gitignore", "output/\n");
    git(sb.path(), &["add", "."]);
    git(sb.path(), &["commit", "-q", "-m", "first"]);
    let head = git(sb.path(), &["rev-parse", "HEAD"]);

    sb.run(HELLO, &["--name", "clean"]).ok();
    let info = run_json(&sb.only_run_dir("hello-world"));
    assert_eq!(info["git"]["commit"], head.as_str());
    assert_eq!(info["git"]["dirty"], false);

    sb.write("tracked.txt", "v2\n");
    sb.run(HELLO, &["--name", "dirty"]).ok();
    let dirty = sb
        .run_dirs("hello-world")
        .into_iter()
        .map(|d| run_json(&d))
        .find(|i| i["argv"][2] == "dirty")
        .unwrap();
    assert_eq!(dirty["git"]["commit"], head.as_str());
    assert_eq!(dirty["git"]["dirty"], true);
}

#[test]
fn outside_a_repository_git_is_null() {
    let sb = Sandbox::new();
    sb.run(HELLO, &["--name", "x"]).ok();
    let info = run_json(&sb.only_run_dir("hello-world"));
    // Temp dirs are normally outside any repository.
    if !std::path::Path::new("/tmp/.git").exists() && !std::path::Path::new("/.git").exists() {
        assert!(info["git"].is_null(), "{info}");
    }
}

#[test]
fn a_start_up_that_fails_leaves_no_run_directory() {
    let sb = Sandbox::new();
    // A child whose parent asked for a report where none can be written:
    // start-up fails after parameters.yaml, before run.json is complete.
    let spec = sb.write(
        ".rystematic-child-report.json",
        &format!(
            r#"{{"exe": "{HELLO}", "experiment": ["hello-world"], "args": ["--name", "x"],
                "report": "{}/no-such-dir/report.json", "parent_pid": {}}}"#,
            sb.path().display(),
            std::process::id()
        ),
    );
    let run = support::Run::of(
        sb.cmd(HELLO)
            .env("RYSTEMATIC_CHILD_SPEC", &spec)
            .output()
            .unwrap(),
    );
    run.expect_code(1);
    assert!(
        run.stderr.contains("cannot report the run directory"),
        "{}",
        run.stderr
    );
    let experiment_dir = sb.path().join("output/hello-world");
    let left: Vec<_> = std::fs::read_dir(&experiment_dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}
