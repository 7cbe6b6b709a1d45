//! Child processes end to end: subprocesses, run_in_new_process, the child
//! protocol, signals to a single run, stale runs.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use rystematic::{RunInfo, RunStatus};
use support::{Sandbox, read, run_json};

const SUBPROCESSES: &str = env!("CARGO_BIN_EXE_subprocesses");
const IN_NEW_PROCESS: &str = env!("CARGO_BIN_EXE_in_new_process");
const SWEEP: &str = env!("CARGO_BIN_EXE_sweep");
const HELLO: &str = env!("CARGO_BIN_EXE_hello_world");

#[test]
fn subprocesses_share_the_run_and_log_by_rank() {
    let sb = Sandbox::new();
    sb.run(SUBPROCESSES, &[]).ok();
    let dir = sb.only_run_dir("subprocesses");
    for rank in 0..=3 {
        assert_eq!(
            read(&dir.join(format!("rank-{rank}.txt"))),
            format!("{rank}\n")
        );
    }
    let main_log = read(&dir.join("log.txt"));
    assert!(
        main_log.contains("[INFO] [subprocesses] rank 0"),
        "{main_log}"
    );
    assert!(!main_log.contains("[RANK"), "{main_log}");
    for rank in 1..=3 {
        let log = read(&dir.join(format!("log.rank-{rank}.txt")));
        assert!(
            log.contains(&format!("[INFO] [RANK {rank}] [subprocesses] rank {rank}")),
            "{log}"
        );
        assert!(
            log.lines()
                .all(|l| l.contains(&format!("] [RANK {rank}] ["))),
            "every line carries the rank: {log}"
        );
    }
    // One run: one parameters.yaml and run.json, written by rank 0.
    assert_eq!(run_json(&dir)["status"], "completed");
    assert_eq!(sb.run_dirs("subprocesses").len(), 1);
}

#[test]
fn subprocesses_still_running_at_the_end_are_stopped_and_logged() {
    let sb = Sandbox::new();
    let started = Instant::now();
    let run = sb.run(SUBPROCESSES, &["--linger"]);
    run.ok();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "children were not left to sleep"
    );
    let log = read(&sb.only_run_dir("subprocesses").join("log.txt"));
    assert!(
        log.contains("stopped 3 child process(es) still running when the experiment ended"),
        "{log}"
    );
    let dir = sb.only_run_dir("subprocesses");
    for rank in 1..=3 {
        let log = read(&dir.join(format!("log.rank-{rank}.txt")));
        assert!(log.contains("Experiment interrupted by SIGTERM"), "{log}");
    }
}

#[test]
fn run_in_new_process_returns_a_handle_to_wait_on_or_kill() {
    let sb = Sandbox::new();
    let run = sb.run(IN_NEW_PROCESS, &["parent", "--n", "5"]);
    assert_eq!(
        run.ok().stdout,
        "child got n=5\nchild exited: exit status: 0\n"
    );
    assert_eq!(run_json(&sb.only_run_dir("child"))["status"], "completed");

    let sb = Sandbox::new();
    let run = sb.run(IN_NEW_PROCESS, &["parent", "--kill"]);
    assert_eq!(run.ok().stdout, "child exited: signal: 9 (SIGKILL)\n");
    // The killed child could not record its end: its run.json says
    // "running", and readers can tell it is stale.
    let child = RunInfo::read(&sb.only_run_dir("child")).unwrap();
    assert_eq!(child.status, RunStatus::Running);
    assert!(child.is_stale());
}

#[test]
fn a_child_that_cannot_find_its_experiment_says_so() {
    let sb = Sandbox::new();
    // Made for a child of this test process: HELLO started below is one.
    let spec = sb.write(
        ".rystematic-child-test.json",
        &format!(
            r#"{{"exe": "{HELLO}", "experiment": ["no-such-experiment"], "parent_pid": {}}}"#,
            std::process::id()
        ),
    );
    let out = sb
        .cmd(HELLO)
        .env("RYSTEMATIC_CHILD_SPEC", &spec)
        .output()
        .unwrap();
    let run = support::Run::of(out);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("this program has no experiment `no-such-experiment`"),
        "{}",
        run.stderr
    );
    assert!(!sb.has_output());
    assert!(!spec.exists(), "the child removes the spec made for it");
}

/// Runs HELLO with `RYSTEMATIC_CHILD_SPEC` naming `spec`: it must run as a
/// normal program and leave the file alone.
fn hello_ignores(sb: &Sandbox, spec: &std::path::Path) {
    let before = std::fs::symlink_metadata(spec).is_ok();
    let out = sb
        .cmd(HELLO)
        .args(["--name", "me"])
        .env("RYSTEMATIC_CHILD_SPEC", spec)
        .output()
        .unwrap();
    assert_eq!(
        support::Run::of(out).ok().stdout,
        "Hello me!\n",
        "{}",
        spec.display()
    );
    assert_eq!(
        std::fs::symlink_metadata(spec).is_ok(),
        before,
        "{}",
        spec.display()
    );
}

#[test]
fn a_spec_not_made_for_this_process_is_ignored_and_never_deleted() {
    let sb = Sandbox::new();
    // Any file the variable happens to name.
    let notes = sb.write("notes.txt", "my notes\n");
    hello_ignores(&sb, &notes);
    assert_eq!(read(&notes), "my notes\n");
    // A valid spec for this executable, made for another process's child
    // (pid 1 exists and is not HELLO's parent).
    let foreign = sb.write(
        ".rystematic-child-foreign.json",
        &format!(r#"{{"exe": "{HELLO}", "experiment": ["hello_world"], "parent_pid": 1}}"#),
    );
    hello_ignores(&sb, &foreign);
    // A spec for another program.
    let other = sb.write(
        ".rystematic-child-other.json",
        &format!(
            r#"{{"exe": "/bin/sh", "experiment": ["x"], "parent_pid": {}}}"#,
            std::process::id()
        ),
    );
    hello_ignores(&sb, &other);
    // A symlink to a valid spec made for HELLO: never followed.
    let real = sb.write(
        "real.json",
        &format!(
            r#"{{"exe": "{HELLO}", "experiment": ["nope"], "parent_pid": {}}}"#,
            std::process::id()
        ),
    );
    let link = sb.path().join(".rystematic-child-link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    hello_ignores(&sb, &link);
    assert!(real.exists());
    // A spec already consumed (what programs a child starts see).
    hello_ignores(&sb, &sb.path().join(".rystematic-child-gone.json"));
    assert_eq!(sb.run_dirs("hello-world").len(), 5);
}

/// A shell command that runs HELLO and a command-line sweep of SWEEP's
/// `work` over two values, from inside a run.
fn nested_programs() -> String {
    format!("'{HELLO}' --name nested && '{SWEEP}' work --str-param s --sweep int_param=1,2")
}

/// The runs the nested programs of `nested_programs` made, `times` over.
fn assert_nested_ran(sb: &Sandbox, times: usize) {
    let hellos = sb.run_dirs("hello-world");
    assert_eq!(hellos.len(), times, "{hellos:?}");
    let works = sb.run_dirs("work");
    assert_eq!(works.len(), 2 * times, "{works:?}");
    for dir in hellos.iter().chain(&works) {
        assert_eq!(run_json(dir)["status"], "completed", "{}", dir.display());
    }
}

#[test]
fn rystematic_programs_run_normally_inside_a_run_in_new_process() {
    let sb = Sandbox::new();
    let run = sb.run(IN_NEW_PROCESS, &["parent", "--shell", &nested_programs()]);
    let out = &run.ok().stdout;
    assert!(out.contains("Hello nested!"), "{out}");
    assert!(out.contains("child exited: exit status: 0"), "{out}");
    assert_nested_ran(&sb, 1);
}

#[test]
fn rystematic_programs_run_normally_inside_subprocesses() {
    let sb = Sandbox::new();
    sb.run(SUBPROCESSES, &["--shell", &nested_programs()]).ok();
    assert_nested_ran(&sb, 3);
}

#[test]
fn rystematic_programs_run_normally_inside_sweep_runs() {
    let sb = Sandbox::new();
    sb.run(
        IN_NEW_PROCESS,
        &[
            "child",
            "--n",
            "0",
            "--shell",
            &nested_programs(),
            "--sweep",
            "n=1,2",
        ],
    )
    .ok();
    assert_eq!(sb.run_dirs("child").len(), 2);
    assert_nested_ran(&sb, 2);
}

fn interrupt_a_single_run(signal: &str, code: i32) {
    let sb = Sandbox::new();
    let child = sb
        .cmd(SWEEP)
        .args([
            "work",
            "--int-param",
            "1",
            "--str-param",
            "x",
            "--sleep-s",
            "30",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let dir = support::wait_for_runs(&sb, "work", 1, "run.json").remove(0);
    let started = Instant::now();
    support::signal(signal, child.id());
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(code));
    let info = RunInfo::read(&dir).unwrap();
    assert_eq!(info.status, RunStatus::Interrupted);
    assert_eq!(
        info.error.as_deref(),
        Some(format!("interrupted by SIG{signal}").as_str())
    );
    let log = read(&dir.join("log.txt"));
    assert!(
        log.contains(&format!("Experiment interrupted by SIG{signal}")),
        "{log}"
    );
}

#[test]
fn sigint_and_sigterm_interrupt_a_run_and_exit_130_or_143() {
    interrupt_a_single_run("INT", 130);
    interrupt_a_single_run("TERM", 143);
}

/// The pids of the processes whose parent is `pid`, from `/proc`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if proc_stat(child).is_some_and(|(_, ppid)| ppid == pid) {
            children.push(child);
        }
    }
    children
}

/// State and parent pid of a process (`None` once it is gone).
fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: parse after its ')'.
    let mut fields = stat[stat.rfind(')')? + 2..].split(' ');
    let state = fields.next()?.chars().next()?;
    Some((state, fields.next()?.parse().ok()?))
}

/// Whether a process has ended (a zombie has: only its exit status is left).
fn is_gone(pid: u32) -> bool {
    proc_stat(pid).is_none_or(|(state, _)| state == 'Z')
}

/// Polls until every process in `pids` has ended, up to 15 s.
fn assert_all_end(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !pids.iter().all(|&p| is_gone(p)) {
        assert!(
            Instant::now() < deadline,
            "still running after their parent was killed: {:?}",
            pids.iter().filter(|&&p| !is_gone(p)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (up to 20 s) until `parent` has `n` live children.
fn wait_for_children(parent: u32, n: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let children: Vec<u32> = children_of(parent)
            .into_iter()
            .filter(|&p| !is_gone(p))
            .collect();
        if children.len() >= n {
            return children;
        }
        assert!(
            Instant::now() < deadline,
            "{n} children of {parent} never appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `kill -9` of `parent` once `ready` holds; its children must end.
fn kill_parent_and_expect_children_to_end(
    mut parent: std::process::Child,
    children: usize,
    ready: impl Fn() -> bool,
) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "the children never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pids = wait_for_children(parent.id(), children);
    support::signal("KILL", parent.id());
    parent.wait().unwrap();
    assert_all_end(&pids);
    pids
}

#[test]
fn kill_9_of_a_parent_ends_its_run_in_new_process_child() {
    let sb = Sandbox::new();
    let parent = sb
        .cmd(IN_NEW_PROCESS)
        .args(["parent", "--hold"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let child_dir = || {
        sb.run_dirs("child")
            .into_iter()
            .find(|d| d.join("run.json").exists())
    };
    kill_parent_and_expect_children_to_end(parent, 1, || child_dir().is_some());
    // The child got SIGTERM, so it recorded how it ended.
    let info = RunInfo::read(&child_dir().unwrap()).unwrap();
    assert_eq!(info.status, RunStatus::Interrupted);
}

#[test]
fn kill_9_of_a_parent_ends_its_subprocesses() {
    let sb = Sandbox::new();
    let parent = sb
        .cmd(SUBPROCESSES)
        .arg("--hold")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    kill_parent_and_expect_children_to_end(parent, 3, || {
        sb.run_dirs("subprocesses")
            .first()
            .is_some_and(|d| (1..=3).all(|r| d.join(format!("rank-{r}.txt")).exists()))
    });
}

#[test]
fn kill_9_of_a_command_line_sweep_ends_its_runs() {
    let sb = Sandbox::new();
    let parent = sb
        .cmd(SWEEP)
        .args([
            "work",
            "--str-param",
            "s",
            "--sleep-s",
            "60",
            "--sweep",
            "int_param=1,2",
            "--jobs",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_parent_and_expect_children_to_end(parent, 2, || {
        sb.run_dirs("work")
            .iter()
            .filter(|d| d.join("run.json").exists())
            .count()
            == 2
    });
    for dir in sb.run_dirs("work") {
        assert_eq!(RunInfo::read(&dir).unwrap().status, RunStatus::Interrupted);
    }
}

#[test]
fn a_child_whose_parent_already_died_does_not_run() {
    let sb = Sandbox::new();
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let spec = sb.write(
        ".rystematic-child-orphan.json",
        &format!(
            r#"{{"exe": "{HELLO}", "experiment": ["hello_world"], "args": ["--name", "x"], "parent_pid": {dead_pid}}}"#
        ),
    );
    let out = sb
        .cmd(HELLO)
        .env("RYSTEMATIC_CHILD_SPEC", &spec)
        .output()
        .unwrap();
    let run = support::Run::of(out);
    run.expect_code(1);
    assert!(run.stderr.contains("has already ended"), "{}", run.stderr);
    assert!(!sb.has_output());
    assert!(!spec.exists());
}
