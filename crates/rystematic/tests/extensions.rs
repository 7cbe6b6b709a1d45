//! The extension interface, with explicitly registered test extensions:
//! parameters on every experiment, hook order, typed state, failing hooks.

use std::sync::{Arc, Mutex, MutexGuard, Once};

use rystematic::{
    Error, Experiment, Extension, Outcome, Param, Params, Run, RunInfo, RunStatus, Value,
};

/// What the hooks did, in order.
static EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static TURN: Mutex<()> = Mutex::new(());

fn event(e: impl Into<String>) {
    EVENTS.lock().unwrap().push(e.into());
}

fn setup() -> MutexGuard<'static, ()> {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        rystematic::register_extension(Arc::new(Probe));
        rystematic::register_extension(Arc::new(Late));
        rystematic::register_extension(Arc::new(Early));
    });
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    EVENTS.lock().unwrap().clear();
    turn
}

/// State the probe gives the running experiment.
struct ProbeState {
    greeting: String,
}

struct Probe;

impl Extension for Probe {
    fn name(&self) -> &str {
        "probe"
    }
    fn priority(&self) -> i32 {
        10
    }
    fn params(&self) -> Vec<Param> {
        vec![
            Param::flag("probe_fail_before"),
            Param::flag("probe_fail_after"),
            Param::flag("probe_panic_before"),
        ]
    }
    fn before(&self, run: &mut Run) -> anyhow::Result<()> {
        event("probe.before");
        if run.params().get::<bool>("probe_panic_before")? {
            panic!("probe exploded");
        }
        anyhow::ensure!(
            !run.params().get::<bool>("probe_fail_before")?,
            "probe refused"
        );
        run.insert_ext(ProbeState {
            greeting: "hi from probe".into(),
        });
        Ok(())
    }
    fn after(&self, run: &Run, outcome: &Outcome<'_>) -> anyhow::Result<()> {
        let status = RunInfo::read(run.output_dir()).unwrap().status;
        event(format!("probe.after {outcome:?} run.json={status:?}"));
        anyhow::ensure!(
            !run.params().get::<bool>("probe_fail_after")?,
            "probe could not clean up"
        );
        Ok(())
    }
}

struct Late;

impl Extension for Late {
    fn name(&self) -> &str {
        "late"
    }
    fn priority(&self) -> i32 {
        200
    }
    fn before(&self, _run: &mut Run) -> anyhow::Result<()> {
        event("late.before");
        Ok(())
    }
    fn after(&self, _run: &Run, _outcome: &Outcome<'_>) -> anyhow::Result<()> {
        event("late.after");
        Ok(())
    }
}

/// Goes before everything (negative priority), and still finds the run's
/// own data ready: its directory, seeds and rank belong to the runtime.
struct Early;

impl Extension for Early {
    fn name(&self) -> &str {
        "early"
    }
    fn priority(&self) -> i32 {
        -5
    }
    fn before(&self, run: &mut Run) -> anyhow::Result<()> {
        let seed = run.new_seed();
        std::fs::write(run.output_dir().join("early.txt"), seed.to_string())?;
        event(format!("early.before rank={}", run.local_rank()));
        Ok(())
    }
    fn after(&self, run: &Run, outcome: &Outcome<'_>) -> anyhow::Result<()> {
        let status = RunInfo::read(run.output_dir()).unwrap().status;
        event(format!("early.after {outcome:?} run.json={status:?}"));
        Ok(())
    }
}

fn experiment(fail: bool) -> Experiment {
    Experiment::new("ext", move |_: &Params, run: &Run| {
        event(format!(
            "main: {}",
            run.ext::<ProbeState>()
                .map_or("no probe state", |s| s.greeting.as_str())
        ));
        anyhow::ensure!(!fail, "main failed");
        Ok(())
    })
}

fn run(
    exp: &Experiment,
    values: &[(&str, bool)],
) -> (tempfile::TempDir, Result<rystematic::RunSummary, Error>) {
    let tmp = tempfile::tempdir().unwrap();
    let mut all: Vec<(&str, Value)> = values.iter().map(|(k, v)| (*k, Value::from(*v))).collect();
    all.push(("output_dir", Value::from(tmp.path().to_owned())));
    all.push(("debug", Value::from(true)));
    all.push(("random_seed", Value::from(42)));
    let result = exp.run(all);
    (tmp, result)
}

/// What the hooks did, leaving out the early extension (which only
/// `hooks_run_by_priority_and_tear_down_in_reverse` follows).
fn events() -> Vec<String> {
    all_events()
        .into_iter()
        .filter(|e| !e.starts_with("early."))
        .collect()
}

fn all_events() -> Vec<String> {
    EVENTS.lock().unwrap().clone()
}

fn only_run_dir(tmp: &tempfile::TempDir) -> std::path::PathBuf {
    let parent = tmp.path().join("ext");
    let mut dirs: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1);
    dirs.remove(0)
}

#[test]
fn extensions_add_params_to_every_experiment() {
    let _turn = setup();
    let exp = experiment(false);
    let names: Vec<&str> = rystematic::HasParams::param_set(&exp)
        .iter()
        .map(Param::name)
        .collect();
    assert!(names.contains(&"probe_fail_before"), "{names:?}");
    assert!(names.contains(&"output_dir"), "{names:?}");
}

#[test]
fn hooks_run_by_priority_and_tear_down_in_reverse() {
    let _turn = setup();
    let (tmp, result) = run(&experiment(false), &[]);
    result.unwrap();
    assert_eq!(
        all_events(),
        [
            "early.before rank=0",
            "probe.before",
            "late.before",
            "main: hi from probe",
            "late.after",
            "probe.after Completed run.json=Running",
            // The runtime closes the run after the last hook: run.json is
            // not final yet.
            "early.after Completed run.json=Running",
        ]
    );
    let dir = only_run_dir(&tmp);
    assert_eq!(RunInfo::read(&dir).unwrap().status, RunStatus::Completed);
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(
        log.contains("extensions: early (-5), distributed (1), probe (10), late (200)"),
        "{log}"
    );
}

#[test]
fn an_extension_before_the_built_ins_has_the_runs_directory_and_seeds() {
    let _turn = setup();
    let seeds: Vec<String> = (0..2)
        .map(|_| {
            let (tmp, result) = run(&experiment(false), &[]);
            let dir = result.unwrap().output_dir;
            assert!(dir.starts_with(tmp.path()), "{}", dir.display());
            std::fs::read_to_string(dir.join("early.txt")).unwrap()
        })
        .collect();
    // The run's seed stream, reproducible from `random_seed`.
    assert_eq!(seeds[0], seeds[1]);
    assert!(seeds[0].parse::<u32>().is_ok(), "{seeds:?}");
}

#[test]
fn a_failing_before_hook_fails_the_run_cleanly() {
    let _turn = setup();
    let (tmp, result) = run(&experiment(false), &[("probe_fail_before", true)]);
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Failed { .. }), "{err}");
    assert_eq!(
        err.report(),
        "experiment `ext` failed: extension `probe` failed: probe refused"
    );
    assert_eq!(
        events(),
        ["probe.before"],
        "neither main nor later hooks ran"
    );
    let info = RunInfo::read(&only_run_dir(&tmp)).unwrap();
    assert_eq!(info.status, RunStatus::Failed);
    assert_eq!(
        info.error.as_deref(),
        Some("extension `probe` failed: probe refused")
    );

    let (tmp, result) = run(&experiment(false), &[("probe_panic_before", true)]);
    assert!(
        result
            .unwrap_err()
            .report()
            .contains("extension `probe` panicked")
    );
    assert_eq!(
        RunInfo::read(&only_run_dir(&tmp)).unwrap().status,
        RunStatus::Failed
    );
}

#[test]
fn a_failing_after_hook_fails_a_completed_run_and_hides_nothing() {
    let _turn = setup();
    let (tmp, result) = run(&experiment(false), &[("probe_fail_after", true)]);
    let err = result.unwrap_err();
    assert_eq!(
        err.report(),
        "experiment `ext` failed: extension `probe` failed after the run: probe could not clean up"
    );
    let dir = only_run_dir(&tmp);
    let info = RunInfo::read(&dir).unwrap();
    assert_eq!(
        info.status,
        RunStatus::Failed,
        "a run whose teardown failed is not complete"
    );
    assert_eq!(
        info.error.as_deref(),
        Some("extension `probe` failed after the run: probe could not clean up")
    );
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(
        log.contains(
            "[ERROR] [rystematic] extension `probe` failed after the run: probe could not clean up"
        ),
        "{log}"
    );

    let (_tmp, result) = run(&experiment(true), &[("probe_fail_after", true)]);
    let err = result.unwrap_err();
    assert_eq!(
        err.report(),
        "experiment `ext` failed: main failed",
        "the experiment's own error"
    );
    assert!(
        events().iter().any(|e| e.starts_with("probe.after Failed")),
        "{:?}",
        events()
    );
}

#[test]
#[should_panic(expected = "after the first experiment was created")]
fn registering_after_experiments_exist_is_a_programmer_error() {
    let _turn = setup();
    let _ = experiment(false);
    rystematic::register_extension(Arc::new(Late));
}
