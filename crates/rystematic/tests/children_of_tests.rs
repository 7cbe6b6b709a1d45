//! `run_in_new_process` and `launch_subprocess` from a `#[test]` that
//! calls `Experiment::run` (no `cli()`): the child re-runs just this test,
//! which reaches the same call and serves the child there. No spec file is
//! left behind, whatever happens to the child.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rystematic::{Experiment, Param, Params, Run, Value};

/// The tests here count spec files of this process in the temp dir, so
/// they take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Spec files in the temp dir made by this process (the parent).
fn my_spec_files() -> Vec<PathBuf> {
    let me = format!("\"parent_pid\":{}", std::process::id());
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".rystematic-child-"))
        })
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains(&me)))
        .collect()
}

fn spec_files_in(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".rystematic-child-"))
        })
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

/// The single run directory under `<out>/<experiment>`.
fn only_run_dir(out: &Path, experiment: &str) -> PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(out.join(experiment))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.into_iter().next().unwrap()
}

fn marker(params: &Params, run: &Run) -> anyhow::Result<()> {
    let n: i64 = params.get("n")?;
    anyhow::ensure!(n >= 0, "n is negative");
    std::fs::write(
        run.output_dir()
            .join(format!("child-{}.txt", run.local_rank())),
        format!("{n} {}\n", std::process::id()),
    )?;
    Ok(())
}

fn marker_experiment() -> Experiment {
    Experiment::new("marker", marker).param(Param::int("n").required())
}

#[test]
fn run_in_new_process_from_a_test_runs_the_child() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile::tempdir().unwrap();
    let child = marker_experiment()
        .run_in_new_process([
            ("n", Value::from(5)),
            ("output_dir", Value::from(out.path().to_owned())),
        ])
        .unwrap();
    let status = child.wait();
    assert!(status.success(), "{status}");
    let dir = only_run_dir(out.path(), "marker");
    let text = std::fs::read_to_string(dir.join("child-0.txt")).unwrap();
    assert_eq!(text, format!("5 {}\n", child.id()), "ran in the child");
    assert!(my_spec_files().is_empty(), "{:?}", my_spec_files());

    // A failing child: exit code 1, its spec gone too.
    let child = marker_experiment()
        .run_in_new_process([
            ("n", Value::from(-1)),
            ("output_dir", Value::from(out.path().to_owned())),
        ])
        .unwrap();
    assert_eq!(child.wait().code(), Some(1));
    assert!(my_spec_files().is_empty(), "{:?}", my_spec_files());
}

/// Starts the marker experiment in a new process from a thread named
/// `thread`: the re-run test binary runs the test of that name.
fn marker_child_from_thread(thread: &str, output: &std::path::Path) -> rystematic::ChildProcess {
    let path = output.to_owned();
    std::thread::Builder::new()
        .name(thread.into())
        .spawn(move || {
            marker_experiment()
                .run_in_new_process([("n", Value::from(1)), ("output_dir", Value::from(path))])
                .unwrap()
        })
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn a_child_that_never_reaches_its_experiment_leaves_no_spec() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile::tempdir().unwrap();
    // Started from a thread named after no test: the re-run test binary
    // runs no test, so the child never takes its spec.
    let child = marker_child_from_thread("no_such_test", out.path());
    child.wait();
    assert!(!out.path().join("marker").exists());
    assert!(my_spec_files().is_empty(), "{:?}", my_spec_files());
}

#[test]
fn launch_subprocess_from_a_test_runs_rank_1() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile::tempdir().unwrap();
    let exp = Experiment::new("ranks", |params: &Params, run: &Run| {
        if !run.is_subprocess() {
            let child = run.launch_subprocess()?;
            anyhow::ensure!(child.wait().success(), "the subprocess failed");
        }
        marker(params, run)
    })
    .param(Param::int("n").required());
    let summary = exp
        .run([
            ("n", Value::from(3)),
            ("output_dir", Value::from(out.path().to_owned())),
        ])
        .unwrap();
    let rank0 = std::fs::read_to_string(summary.output_dir.join("child-0.txt")).unwrap();
    let rank1 = std::fs::read_to_string(summary.output_dir.join("child-1.txt")).unwrap();
    assert_eq!(rank0, format!("3 {}\n", std::process::id()));
    assert!(rank1.starts_with("3 ") && rank1 != rank0, "{rank1}");
    assert!(summary.output_dir.join("log.rank-1.txt").exists());
    assert!(spec_files_in(out.path()).is_empty());
}

#[test]
fn a_sweep_from_a_test_runs_each_point_in_a_child() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile::tempdir().unwrap();
    let points = [1, 2].map(|n| {
        [
            ("n", Value::from(n)),
            ("output_dir", Value::from(out.path().to_owned())),
        ]
    });
    let report = rystematic::Sweep::new(&marker_experiment(), points)
        .dir(out.path().join("sweep"))
        .run()
        .unwrap();
    assert_eq!(report.completed(), 2);
    let mut ns: Vec<String> = std::fs::read_dir(out.path().join("marker"))
        .unwrap()
        .flatten()
        .map(|d| std::fs::read_to_string(d.path().join("child-0.txt")).unwrap())
        .map(|t| t.split(' ').next().unwrap().to_owned())
        .collect();
    ns.sort();
    assert_eq!(ns, ["1", "2"]);
    assert!(spec_files_in(out.path()).is_empty());
}

#[test]
fn a_child_that_reaches_another_experiment_first_fails_instead_of_redoing_work() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile::tempdir().unwrap();
    // The child re-runs the test this thread is named after, which runs
    // experiment `ranks` before anything else: it must exit with an error
    // (printed on the console: expected), not run it.
    let child = marker_child_from_thread("launch_subprocess_from_a_test_runs_rank_1", out.path());
    assert!(!child.wait().success());
    assert!(!out.path().join("marker").exists());
    assert!(my_spec_files().is_empty(), "{:?}", my_spec_files());
}
