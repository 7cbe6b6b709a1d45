//! The `rystematic` command end to end on run directories made by the
//! example binaries: completed, failed, interrupted, SIGKILLed (`dead`),
//! recorded metrics, sweeps, damaged directories.
//!
//! The command is driven through `rystematic_cli::cli::run`, the function
//! the binary is a shell around (cargo builds no binaries of a
//! dev-dependency, so `CARGO_BIN_EXE_rystematic` does not exist here); the
//! binary itself is tested in `crates/rystematic-cli/tests/`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use serde_json::Value;
use support::tool::tool;
use support::{Sandbox, run_json};

const HELLO: &str = env!("CARGO_BIN_EXE_hello_world");
const FAILING: &str = env!("CARGO_BIN_EXE_failing");
const RECORDER: &str = env!("CARGO_BIN_EXE_recorder");
const SWEEP: &str = env!("CARGO_BIN_EXE_sweep");

fn output(sb: &Sandbox) -> String {
    sb.path().join("output").to_str().unwrap().to_owned()
}

fn spawn(sb: &Sandbox, bin: &str, args: &[&str]) -> Child {
    sb.cmd(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A `work` run sleeping long enough to be signalled; returns its directory
/// once its run.json exists.
fn sleeping_run(sb: &Sandbox, already: usize) -> (Child, PathBuf) {
    let child = spawn(
        sb,
        SWEEP,
        &[
            "work",
            "--int-param",
            "7",
            "--str-param",
            "x",
            "--sleep-s",
            "60",
        ],
    );
    let dirs = support::wait_for_runs(sb, "work", already + 1, "run.json");
    let dir = dirs
        .into_iter()
        .find(|d| run_json(d)["pid"] == child.id())
        .expect("the new run's directory");
    (child, dir)
}

fn id(dir: &Path) -> String {
    dir.file_name().unwrap().to_str().unwrap().to_owned()
}

fn row<'a>(listing: &'a Value, dir: &Path) -> &'a Value {
    listing["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id(dir).as_str())
        .unwrap_or_else(|| panic!("{} not listed: {listing:#}", id(dir)))
}

#[test]
fn ls_lists_every_kind_of_run_with_its_status_params_and_metrics() {
    let sb = Sandbox::new();
    sb.run(HELLO, &["--name", "A", "--random-seed", "1"]).ok();
    sb.run(HELLO, &["--name", "B", "--random-seed", "1"]).ok();
    sb.run(FAILING, &[]).expect_code(1);
    sb.run(RECORDER, &["--steps", "20"]).ok();
    let (interrupted, interrupted_dir) = sleeping_run(&sb, 0);
    support::signal("TERM", interrupted.id());
    assert_eq!(
        interrupted.wait_with_output().unwrap().status.code(),
        Some(143)
    );
    let (mut killed, dead_dir) = sleeping_run(&sb, 1);
    support::signal("KILL", killed.id());
    killed.wait().unwrap();
    let (mut alive, alive_dir) = sleeping_run(&sb, 2);
    sb.run(
        SWEEP,
        &[
            "work",
            "--sweep",
            "int_param=1,2",
            "--sweep",
            "str_param=a",
            "--jobs",
            "2",
        ],
    )
    .ok();

    let out = output(&sb);
    let listing = tool(&["ls", &out, "--json"]).expect(0).json();

    let hellos = sb.run_dirs("hello-world");
    assert_eq!(row(&listing, &hellos[0])["status"], "completed");
    assert_eq!(
        row(&listing, &sb.only_run_dir("failing"))["status"],
        "failed"
    );
    assert_eq!(row(&listing, &interrupted_dir)["status"], "interrupted");
    assert_eq!(row(&listing, &dead_dir)["status"], "dead");
    assert_eq!(row(&listing, &alive_dir)["status"], "running");
    // Only the parameters that differ among the listed runs; the seed was
    // 1 for the two hello runs but random for the others, so it differs.
    let b_dir = hellos
        .iter()
        .find(|d| support::read(&d.join("parameters.yaml")).contains("name: B"))
        .unwrap();
    let params = row(&listing, b_dir)["params"].as_object().unwrap();
    assert!(
        params.contains_key("name") && params.contains_key("random_seed"),
        "{params:?}"
    );
    assert!(
        !params.contains_key("output_dir"),
        "same for all: {params:?}"
    );
    assert_eq!(params["name"], "B");
    let rec = row(&listing, &sb.only_run_dir("recorder"));
    assert_eq!(rec["metrics"]["train/loss"]["step"], 19);
    assert_eq!(rec["metrics"]["train/loss"]["value"], 1.0 / 20.0);
    assert_eq!(listing["runs"].as_array().unwrap().len(), 2 + 1 + 1 + 3 + 2);
    let sweeps = listing["sweeps"].as_array().unwrap();
    assert_eq!(sweeps.len(), 1, "{listing:#}");
    assert_eq!(sweeps[0]["progress"], "2/2 (2 completed)");
    assert_eq!(listing["damaged"], Value::Array(vec![]));

    // The table shows the same.
    let table = tool(&["ls", &out]).expect(0).stdout;
    let header = table.lines().next().unwrap();
    for col in [
        "RUN",
        "EXPERIMENT",
        "STATUS",
        "STARTED",
        "DURATION",
        "name",
        "train/loss",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let dead_line = table
        .lines()
        .find(|l| l.starts_with(&id(&dead_dir)))
        .unwrap();
    assert!(dead_line.contains(" dead "), "{dead_line}");
    assert!(
        table.contains("SWEEP") && table.contains("2/2 (2 completed)"),
        "{table}"
    );

    // Filters and sorting.
    let ids = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["ls", out.as_str(), "--json"];
        all.extend_from_slice(args);
        let listing = tool(&all).expect(0).json();
        listing["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&["--status", "dead"]), [id(&dead_dir)]);
    assert_eq!(ids(&["--where", "name=B"]), [id(b_dir)]);
    assert_eq!(
        ids(&["--where", "name=B", "--where", "random_seed=2"]),
        Vec::<String>::new()
    );
    assert_eq!(ids(&["--experiment", "hello-world"]).len(), 2);
    assert_eq!(ids(&["--since", "2999-01-01"]), Vec::<String>::new());
    assert_eq!(ids(&["--since", "2000-01-01"]).len(), 9);
    let by_int = ids(&["--experiment", "work", "--sort", "int_param", "-r"]);
    assert_eq!(by_int.len(), 5);
    assert!(
        by_int[..3].contains(&id(&dead_dir)),
        "int_param 7 is the largest: {by_int:?}"
    );
    let e = tool(&["ls", &out, "--sort", "nope"]).expect(2).stderr;
    assert!(e.contains("--sort") && e.contains("'nope'"), "{e}");
    let e = tool(&["ls", &out, "--status", "finished"]).expect(2).stderr;
    assert!(e.contains("--status") && e.contains("'finished'"), "{e}");
    alive.kill().unwrap();
    alive.wait().unwrap();
}

#[test]
fn damaged_and_foreign_directories_are_listed_with_the_reason() {
    let sb = Sandbox::new();
    sb.run(HELLO, &["--name", "A"]).ok();
    let good = sb.only_run_dir("hello-world");
    let exp = good.parent().unwrap();
    let text = std::fs::read_to_string(good.join("run.json")).unwrap();
    let make = |name: &str, run_json: Option<&str>| {
        let dir = exp.join(name);
        std::fs::create_dir(&dir).unwrap();
        if let Some(contents) = run_json {
            std::fs::write(dir.join("run.json"), contents).unwrap();
        }
    };
    make("half-written", Some(&text[..text.len() / 2]));
    make("empty", Some(""));
    make("not-json", Some("\u{0}\u{1}garbage"));
    make("wrong-shape", Some("[1, 2, 3]"));
    make("no-run-json", None);
    let foreign = sb.path().join("output/notes");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("todo.txt"), "x").unwrap();
    std::fs::write(sb.path().join("output/stray.txt"), "x").unwrap();

    let out = output(&sb);
    let listing = tool(&["ls", &out, "--json"]).expect(0).json();
    assert_eq!(listing["runs"].as_array().unwrap().len(), 1);
    let reasons: Vec<(String, String)> = listing["damaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let path = PathBuf::from(d["path"].as_str().unwrap());
            (id(&path), d["reason"].as_str().unwrap().to_owned())
        })
        .collect();
    let reason = |name: &str| {
        &reasons
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} not listed as damaged: {reasons:?}"))
            .1
    };
    assert!(reason("half-written").contains("cut short"), "{reasons:?}");
    assert!(reason("empty").contains("empty"), "{reasons:?}");
    assert!(reason("not-json").contains("corrupt"), "{reasons:?}");
    assert!(reason("wrong-shape").contains("corrupt"), "{reasons:?}");
    assert!(reason("no-run-json").contains("no run.json"), "{reasons:?}");
    assert!(reason("notes").contains("not an experiment"), "{reasons:?}");
    assert!(
        reason("stray.txt").contains("not a directory"),
        "{reasons:?}"
    );
    let table = tool(&["ls", &out]).expect(0).stdout;
    assert!(
        table.contains("DAMAGED") && table.contains("hello-world/half-written"),
        "{table}"
    );

    let e = tool(&["show", &exp.join("empty").to_string_lossy()])
        .expect(1)
        .stderr;
    assert!(e.contains("empty") && e.contains("damaged"), "{e}");
    // gc --damaged removes the damaged run directories, not the user's
    // foreign folder nor the good run.
    tool(&["gc", &out, "--damaged", "--yes"]).expect(0);
    assert!(!exp.join("half-written").exists() && !exp.join("no-run-json").exists());
    assert!(good.exists() && foreign.exists());
}

#[test]
fn show_and_diff_find_runs_by_prefix_and_report_what_differs() {
    let sb = Sandbox::new();
    sb.run(HELLO, &["--name", "A", "--random-seed", "1"]).ok();
    sb.run(RECORDER, &["--steps", "10"]).ok();
    sb.run(RECORDER, &["--steps", "20"]).ok();
    let out = output(&sb);
    let hello = sb.only_run_dir("hello-world");
    let mut recs = sb.run_dirs("recorder");
    // Ten steps first (names made in the same second sort at random).
    recs.sort_by_key(|d| !support::read(&d.join("parameters.yaml")).contains("steps: 10\n"));

    // A unique prefix of the id, from the output directory.
    let unique = id(&hello);
    let shown = tool(&["show", &unique[..unique.len() - 2], "--dir", &out])
        .expect(0)
        .stdout;
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("status ") && l.ends_with(" completed")),
        "{shown}"
    );
    assert!(shown.contains("  name: A\n"), "{shown}");
    assert!(shown.contains("Experiment completed"), "log tail: {shown}");
    assert!(shown.contains("  hello.txt (9 bytes)"), "{shown}");
    let shown = tool(&["show", recs[1].to_str().unwrap()]).expect(0).stdout;
    assert!(
        shown.contains("metrics:") && shown.contains("train/loss"),
        "{shown}"
    );
    let loss = shown
        .lines()
        .find(|l| l.trim_start().starts_with("train/loss"))
        .unwrap();
    assert_eq!(
        loss.split_whitespace().collect::<Vec<_>>()[1..3],
        ["20", "19"],
        "{loss}"
    );

    let e = tool(&["show", "2", "--dir", &out]).expect(2).stderr;
    assert!(e.contains("ambiguous") && e.contains("'2'"), "{e}");
    let e = tool(&["show", "zzz", "--dir", &out]).expect(2).stderr;
    assert!(e.contains("no run 'zzz'"), "{e}");

    let (a, b) = (recs[0].to_str().unwrap(), recs[1].to_str().unwrap());
    let diff = tool(&["diff", a, b]).expect(1).stdout;
    assert!(
        diff.contains("  steps") && diff.contains("10") && diff.contains("20"),
        "{diff}"
    );
    assert!(
        diff.contains("final metrics:") && diff.contains("train/loss"),
        "{diff}"
    );
    assert!(!diff.contains("recorder_backends"), "same in both: {diff}");
    assert!(!diff.contains("host"), "same host: {diff}");
    assert_eq!(tool(&["diff", a, a]).expect(0).stdout, "no differences\n");
}

#[test]
fn gc_is_a_dry_run_unless_told_yes_and_needs_a_filter() {
    let sb = Sandbox::new();
    sb.run(HELLO, &["--name", "A"]).ok();
    sb.run(FAILING, &[]).expect_code(1);
    let out = output(&sb);
    let e = tool(&["gc", &out]).expect(2).stderr;
    assert!(e.contains("at least one filter"), "{e}");

    let dry = tool(&["gc", &out, "--status", "failed"]).expect(0).stdout;
    assert!(
        dry.contains("would delete") && dry.contains("--yes"),
        "{dry}"
    );
    let failed = sb.only_run_dir("failing");
    assert!(failed.exists());
    tool(&["gc", &out, "--status", "failed", "--yes"]).expect(0);
    assert!(!failed.exists());
    assert!(sb.only_run_dir("hello-world").exists());

    // A live run is never deleted.
    let (mut alive, alive_dir) = sleeping_run(&sb, 0);
    let kept = tool(&["gc", &out, "--experiment", "work", "--yes"])
        .expect(0)
        .stdout;
    alive.kill().unwrap();
    alive.wait().unwrap();
    assert!(
        kept.contains("still running") && alive_dir.exists(),
        "{kept}"
    );
}
