//! The library API without a command line: `Experiment::run`, the `Run`
//! handle, groups, and the one-experiment-per-process rule.
//!
//! Runs share process-wide state (the active experiment, the log sink), so
//! the tests here take turns.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rystematic::{Error, Experiment, Group, Param, Params, Run, RunInfo, RunStatus, Value};

static TURN: Mutex<()> = Mutex::new(());

fn turn() -> MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

fn noop(_: &Params, _: &Run) -> anyhow::Result<()> {
    Ok(())
}

fn out(dir: &tempfile::TempDir) -> Value {
    Value::from(dir.path().to_owned())
}

#[test]
fn run_resolves_values_and_writes_the_run_directory() {
    let _turn = turn();
    let tmp = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(None));
    let seen_in_run = seen.clone();
    let exp = Experiment::new("train", move |params: &Params, run: &Run| {
        let lr: f64 = params.get("lr")?;
        let epochs: u32 = params.get("epochs")?;
        *seen_in_run.lock().unwrap() = Some((lr, epochs, run.output_dir().to_owned()));
        std::fs::write(run.output_dir().join("model.bin"), [1, 2, 3])?;
        Ok::<_, anyhow::Error>(())
    })
    .param(Param::float("lr").default(0.1))
    .param(Param::int("epochs").required());

    let summary = exp
        .run([("epochs", Value::from(3)), ("output_dir", out(&tmp))])
        .unwrap();
    let (lr, epochs, dir) = seen.lock().unwrap().clone().unwrap();
    assert_eq!((lr, epochs), (0.1, 3));
    assert_eq!(dir, summary.output_dir);
    assert!(dir.starts_with(tmp.path().join("train")));
    assert!(dir.join("model.bin").exists());
    let info = RunInfo::read(&dir).unwrap();
    assert_eq!(info.status, RunStatus::Completed);
    assert_eq!(info.argv, None, "a programmatic run has no command line");
    assert_eq!(summary.params.get::<i64>("epochs").unwrap(), 3);
}

#[test]
fn run_with_a_params_file_lets_explicit_values_win() {
    let _turn = turn();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("p.yaml");
    std::fs::write(&file, "a: 1\nb: 2\n").unwrap();
    let exp = Experiment::new("e", noop)
        .param(Param::int("a"))
        .param(Param::int("b"));
    let summary = exp
        .run([
            ("params_file", Value::from(file.clone())),
            ("b", Value::from(20)),
            ("output_dir", out(&tmp)),
        ])
        .unwrap();
    assert_eq!(summary.params.get::<i64>("a").unwrap(), 1);
    assert_eq!(summary.params.get::<i64>("b").unwrap(), 20);
    assert_eq!(summary.params.get::<PathBuf>("params_file").unwrap(), file);
}

#[test]
fn starting_a_second_experiment_while_one_runs_is_an_error() {
    let _turn = turn();
    let tmp = tempfile::tempdir().unwrap();
    let inner = Experiment::new("inner", noop);
    let outcome = Arc::new(Mutex::new(None));
    let record = outcome.clone();
    let dir = tmp.path().to_owned();
    let outer = Experiment::new("outer", move |_: &Params, _: &Run| {
        let nested = inner.run([("output_dir", Value::from(dir.clone()))]);
        let from_thread = std::thread::scope(|s| {
            s.spawn(|| inner.run([("output_dir", Value::from(dir.clone()))]))
                .join()
                .unwrap()
        });
        *record.lock().unwrap() = Some((nested, from_thread));
        Ok::<_, anyhow::Error>(())
    });
    outer.run([("output_dir", out(&tmp))]).unwrap();
    let (nested, from_thread) = outcome.lock().unwrap().take().unwrap();
    for result in [nested, from_thread] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::AlreadyRunning { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "cannot start experiment `inner` while experiment `outer` is running in this \
             process; start it in a new process instead"
        );
    }
    assert!(
        !tmp.path().join("inner").exists(),
        "the refused runs created nothing"
    );
    // Once the outer run ends, another may start.
    Experiment::new("inner", noop)
        .run([("output_dir", out(&tmp))])
        .unwrap();
}

#[test]
fn a_failing_main_is_an_error_with_its_run_directory() {
    let _turn = turn();
    let tmp = tempfile::tempdir().unwrap();
    let exp = Experiment::new("broken", |_: &Params, _: &Run| {
        Err(std::io::Error::other("disk on fire"))
    });
    let err = exp.run([("output_dir", out(&tmp))]).unwrap_err();
    let Error::Failed { output_dir, .. } = &err else {
        panic!("{err}");
    };
    // The cause is the error's source, printed once by whoever walks the chain.
    assert_eq!(err.to_string(), "experiment `broken` failed");
    assert_eq!(err.report(), "experiment `broken` failed: disk on fire");

    assert_eq!(err.exit_code(), 1);
    let info = RunInfo::read(output_dir).unwrap();
    assert_eq!(info.status, RunStatus::Failed);
    assert_eq!(info.error.as_deref(), Some("disk on fire"));
    let log = std::fs::read_to_string(output_dir.join("log.txt")).unwrap();
    assert!(log.contains("Experiment failed: disk on fire"), "{log}");
    assert_eq!(
        format!("{:#}", anyhow::Error::new(err)),
        "experiment `broken` failed: disk on fire",
        "anyhow's chain prints the cause once"
    );
}

#[test]
fn a_run_directory_that_cannot_be_created_is_a_setup_error() {
    let _turn = turn();
    let tmp = tempfile::tempdir().unwrap();
    let blocker = tmp.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let err = Experiment::new("e", noop)
        .run([("output_dir", Value::from(blocker))])
        .unwrap_err();
    assert!(matches!(err, Error::Setup { .. }), "{err}");
    assert!(
        err.report().contains("cannot create a run directory"),
        "{err}"
    );
}

#[test]
fn defaults_can_override_built_in_and_inherited_params() {
    let _turn = turn();
    let tmp = tempfile::tempdir().unwrap();
    let exp = Experiment::new("e", noop)
        .default("output_dir", tmp.path().join("custom"))
        .default("random_seed", 7)
        .default("shared", "from-experiment");
    let group = Group::new("g")
        .param(Param::string("shared").default("from-group"))
        .experiment(exp);
    let exp = group.find("e").unwrap();
    let summary = exp.run(Vec::<(String, Value)>::new()).unwrap();
    assert!(summary.output_dir.starts_with(tmp.path().join("custom")));
    assert_eq!(summary.params.get::<i64>("random_seed").unwrap(), 7);
    assert_eq!(
        summary.params.get::<String>("shared").unwrap(),
        "from-experiment"
    );
}

#[test]
fn params_deserialize_into_a_struct_and_seeds_are_shared_across_threads() {
    let _turn = turn();
    let tmp = tempfile::tempdir().unwrap();
    #[derive(serde::Deserialize)]
    struct Config {
        lr: f64,
        layers: Vec<u32>,
        output_dir: PathBuf,
    }
    let seeds = Arc::new(Mutex::new(Vec::new()));
    let collect = seeds.clone();
    let exp = Experiment::new("e", move |params: &Params, run: &Run| {
        let config: Config = params.deserialize()?;
        assert_eq!(config.lr, 0.5);
        assert_eq!(config.layers, [8, 8]);
        assert!(Path::new(&config.output_dir).is_relative() || config.output_dir.is_absolute());
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let seed = run.new_seed();
                    collect.lock().unwrap().push(seed);
                });
            }
        });
        Ok::<_, anyhow::Error>(())
    })
    .param(Param::float("lr").default(0.5))
    .param(Param::int("layers").multiple().default(vec![8, 8]));
    exp.run([("output_dir", out(&tmp)), ("random_seed", Value::from(42))])
        .unwrap();
    let mut seeds = seeds.lock().unwrap().clone();
    seeds.sort();
    let mut golden = vec![3184996902, 686809907, 1196582743, 1478287871];
    golden.sort();
    assert_eq!(
        seeds, golden,
        "the same four seeds, whichever thread drew which"
    );
}

#[test]
fn try_cli_from_reports_instead_of_exiting() {
    let _turn = turn();
    let tmp = tempfile::tempdir().unwrap();
    let exp = Experiment::new("e", noop).param(Param::int("n"));
    let dir = tmp.path().to_str().unwrap();
    let summary = exp
        .try_cli_from(["prog", "--n", "4", "--output-dir", dir])
        .unwrap()
        .into_run()
        .unwrap();
    assert_eq!(summary.params.get::<i64>("n").unwrap(), 4);
    let info = RunInfo::read(&summary.output_dir).unwrap();
    assert_eq!(
        info.argv.unwrap(),
        ["prog", "--n", "4", "--output-dir", dir]
    );

    let help = exp.try_cli_from(["prog", "--help"]).unwrap_err();
    assert_eq!(help.exit_code(), 0);
    assert!(help.to_string().contains("--n <INT>"));
    let bad = exp.try_cli_from(["prog", "--n", "x"]).unwrap_err();
    assert_eq!(bad.exit_code(), 2);
    let completions = exp
        .try_cli_from(["prog", "--completions", "bash"])
        .unwrap_err();
    assert_eq!(completions.exit_code(), 0);
    assert!(completions.to_string().contains("_prog()"));
}

#[test]
fn a_subprocess_cannot_launch_further_subprocesses() {
    let _turn = turn();
    let tmp = tempfile::tempdir().unwrap();
    let outcome = Arc::new(Mutex::new(None));
    let record = outcome.clone();
    let exp = Experiment::new("e", move |_: &Params, run: &Run| {
        assert!(run.is_subprocess());
        assert_eq!(run.local_rank(), 2);
        *record.lock().unwrap() = Some(run.launch_subprocess().map(|_| ()));
        Ok::<_, anyhow::Error>(())
    });
    // What launch_subprocess gives a child: the parent's parameters.yaml
    // and a rank.
    exp.run([
        (
            "subprocess",
            Value::from(tmp.path().join("parameters.yaml")),
        ),
        ("local_rank", Value::from(2)),
    ])
    .unwrap();
    let err = outcome.lock().unwrap().take().unwrap().unwrap_err();
    assert_eq!(
        err.report(),
        "experiment `e`: a subprocess cannot launch further subprocesses"
    );
    // It shared the parent's directory: its own log, no run.json of its own.
    assert!(tmp.path().join("log.rank-2.txt").exists());
    assert!(!tmp.path().join("run.json").exists());
}

#[test]
fn resume_run_goes_on_with_a_failed_run_in_its_directory() {
    let _turn = turn();
    let tmp = tempfile::tempdir().unwrap();
    let exp = Experiment::new("flaky", |params: &Params, run: &Run| {
        let seed = run.new_seed();
        std::fs::write(
            run.output_dir()
                .join(format!("attempt-{}.txt", run.attempt())),
            seed.to_string(),
        )?;
        anyhow::ensure!(run.attempt() > 1, "the first attempt fails");
        anyhow::ensure!(params.get::<i64>("n")? == 3, "n changed");
        Ok(())
    })
    .param(Param::int("n").default(1));
    let values = [("output_dir", out(&tmp)), ("n", Value::from(3))];
    let Err(Error::Failed { output_dir, .. }) = exp.run(values.clone()) else {
        panic!("the first attempt should fail");
    };
    let summary = exp
        .resume_run(&output_dir, [("debug", Value::from(true))])
        .unwrap();
    assert_eq!(summary.output_dir, output_dir);
    assert_eq!(summary.params.get::<i64>("n").unwrap(), 3);
    let info = RunInfo::read(&output_dir).unwrap();
    assert_eq!((info.status, info.attempt), (RunStatus::Completed, 2));
    assert_eq!(info.seeds_drawn, Some(2));
    // The second attempt drew the stream's second number, not its first.
    let first = std::fs::read_to_string(output_dir.join("attempt-1.txt")).unwrap();
    let second = std::fs::read_to_string(output_dir.join("attempt-2.txt")).unwrap();
    assert_ne!(first, second);

    // Changing a parameter is refused before anything runs.
    let err = exp
        .resume_run(&output_dir, [("n", Value::from(4))])
        .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("it completed"), "{err}");
}
