//! The run lifecycle: one active experiment per process, extension hooks
//! around the main function, interruption by signals, and how the outcome
//! is reported.

mod core;
pub(crate) mod extension;
mod panic;
mod record;
mod run;
mod seed;
mod subprocess;

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

pub use run::Run;

use self::core::Core;
use crate::distributed::{AgentRun, Role};
use crate::error::Error;
use crate::process::child::{GRACE, stop_all};
use crate::process::signals;
use crate::rundir::info::RunInfo;
use crate::sync::LockUnpoisoned as _;
use crate::value::{ExperimentPath, Params};
use extension::Extension;
pub use extension::Outcome;

/// A run that completed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunSummary {
    /// The run's directory.
    pub output_dir: PathBuf,
    /// The parameters it ran with.
    pub params: Params,
}

/// The experiment's main function, type-erased.
pub(crate) type MainFn = dyn Fn(&Params, &Run) -> anyhow::Result<()> + Send + Sync;

/// Everything needed to start a run.
pub(crate) struct Launch<'a> {
    pub(crate) experiment: &'a str,
    pub(crate) path: ExperimentPath,
    pub(crate) main: &'a MainFn,
    pub(crate) params: Params,
    /// Things to tell the user once the run's log is open (e.g. params-file
    /// keys that name no parameter).
    pub(crate) warnings: Vec<String>,
    pub(crate) argv: Option<Vec<String>>,
    /// A stopped run to go on with, in its own directory.
    pub(crate) resume: Option<Resume>,
}

/// A stopped run to resume: its directory and its last `run.json`,
/// checked by the caller (same experiment and parameters, not running).
#[derive(Debug)]
pub(crate) struct Resume {
    pub(crate) dir: PathBuf,
    pub(crate) previous: RunInfo,
}

/// How long an interrupt waits for a run that is already finishing.
const FINISHING_WAIT: Duration = Duration::from_secs(5);

/// Runs an experiment in this process: hooks, main function, hooks.
pub(crate) fn execute(mut launch: Launch<'_>) -> Result<RunSummary, Error> {
    let _active = ActiveExperiment::enter(launch.experiment)?;
    let extensions = extension::loaded();
    // Before any hook: whether this process is an agent or a worker decides
    // where the run's directory and log are.
    let role = Role::prepare(launch.experiment, &mut launch.params)?;
    let agent_main;
    let main: &MainFn = match &role {
        Role::Agent(agent) => {
            let agent = agent.clone();
            agent_main = move |params: &Params, run: &Run| {
                agent.run(AgentRun {
                    params,
                    output_dir: run.output_dir(),
                    path: run.experiment_path(),
                    record_world: &|world| run.core().record_world(world),
                })
            };
            &agent_main
        }
        Role::Single | Role::Worker(_) => launch.main,
    };

    // On Ctrl-C / SIGTERM the signal thread ends the run: children first,
    // then the `after` hooks (which record "interrupted"), then it exits.
    // Registered before set-up, so a signal during set-up is handled too:
    // the signal thread waits for set-up to finish, then ends the run.
    let ending = Arc::new(Ending::default());
    let on_signal = ending.clone();
    let _interrupt = signals::on_interrupt(move |interrupt| {
        let Some((run, set_up)) = on_signal.wait_set_up(FINISHING_WAIT) else {
            return;
        };
        if run.end.claim() {
            stop_all(GRACE);
            finish(
                run,
                &extensions[..*set_up],
                &Outcome::Interrupted(interrupt),
            );
        } else {
            run.end.wait_done(FINISHING_WAIT);
        }
    });

    // The run's own data comes first, from the runtime: every extension's
    // hook, whatever its priority, sees the directory, log and seeds.
    let core = Core::open(&launch, &role).map_err(|source| Error::Setup {
        experiment: launch.experiment.to_owned(),
        source,
    })?;
    let mut run = Run::new(
        launch.experiment.to_owned(),
        launch.path,
        launch.params,
        role,
        core,
    );
    let mut set_up = 0;
    let mut result = Ok(());
    for ext in extensions {
        result = match panic::catch(|| ext.before(&mut run)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.context(format!("extension `{}` failed", ext.name()))),
            Err(report) => {
                Err(anyhow::anyhow!(report).context(format!("extension `{}` panicked", ext.name())))
            }
        };
        if result.is_err() {
            break;
        }
        set_up += 1;
    }
    let started = &extensions[..set_up];
    let run = ending.set_up(run, set_up);
    tracing::debug!(target: "rystematic", "extensions: {}", extension::describe(extensions));

    if result.is_ok() {
        for warning in &launch.warnings {
            tracing::warn!(target: "rystematic", "{warning}");
        }
        result = panic::catch(|| main(run.params(), run))
            .unwrap_or_else(|report| Err(anyhow::anyhow!(report)));
    }
    if let (Err(error), Some(world)) = (&result, run.role().world()) {
        // Before the process ends, so the log names this, not the exit code.
        world.report_failure(format!("{error:#}"));
    }

    if !run.end.claim() {
        // A signal arrived: its thread is ending the run and the process.
        loop {
            std::thread::park();
        }
    }
    let stopped = stop_all(GRACE);
    if stopped > 0 {
        tracing::warn!(
            target: "rystematic",
            "stopped {stopped} child process(es) still running when the experiment ended"
        );
    }
    let outcome = match &result {
        Ok(()) => Outcome::Completed,
        Err(e) => Outcome::Failed(e),
    };
    let after_failed = finish(run, started, &outcome);
    if let Some(error) = after_failed {
        result = Err(error);
    }

    match result {
        Ok(()) => Ok(RunSummary {
            output_dir: run.output_dir().to_owned(),
            params: run.params().clone(),
        }),
        Err(source) => Err(Error::Failed {
            experiment: launch.experiment.to_owned(),
            output_dir: run.output_dir().to_owned(),
            source,
        }),
    }
}

/// The set-up run, once set-up is over, for the signal thread.
#[derive(Default)]
struct Ending {
    run: OnceLock<(Run, usize)>,
    ready: (Mutex<bool>, Condvar),
}

impl Ending {
    /// Publishes the run and how many extensions were set up.
    fn set_up(&self, run: Run, set_up: usize) -> &Run {
        let _ = self.run.set((run, set_up));
        *self.ready.0.lock_unpoisoned() = true;
        self.ready.1.notify_all();
        &self.run.get().expect("just set").0
    }

    /// Waits (at most `timeout`) for set-up to finish.
    fn wait_set_up(&self, timeout: Duration) -> Option<&(Run, usize)> {
        let ready = self.ready.0.lock_unpoisoned();
        let _ = self
            .ready
            .1
            .wait_timeout_while(ready, timeout, |ready| !*ready);
        self.run.get()
    }
}

/// Runs the `after` hooks of the extensions that were set up, in reverse
/// (whoever set up first tears down last), then closes the run's own data:
/// its log and `run.json` see every hook's work.
///
/// A hook failing after a completed run makes the run failed: the later
/// hooks see `Failed` (so `run.json` says so), and the error is returned.
/// A run whose recorder lost metrics, say, must not look complete.
fn finish(
    run: &Run,
    started: &[Arc<dyn Extension>],
    outcome: &Outcome<'_>,
) -> Option<anyhow::Error> {
    let mut failure: Option<anyhow::Error> = None;
    for ext in started.iter().rev() {
        let result = match (&failure, outcome) {
            (Some(error), Outcome::Completed) => {
                panic::catch(|| ext.after(run, &Outcome::Failed(error)))
            }
            _ => panic::catch(|| ext.after(run, outcome)),
        };
        let error = match result {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e.context(format!("extension `{}` failed after the run", ext.name())),
            Err(report) => anyhow::anyhow!(report)
                .context(format!("extension `{}` panicked after the run", ext.name())),
        };
        tracing::error!(target: "rystematic", "{error:#}");
        if failure.is_none() && matches!(outcome, Outcome::Completed) {
            failure = Some(error);
        }
    }
    let closed = match (&failure, outcome) {
        (Some(error), Outcome::Completed) => run.core().close(&Outcome::Failed(error)),
        _ => run.core().close(outcome),
    };
    if let Err(error) = closed {
        tracing::error!(target: "rystematic", "{error:#}");
        if failure.is_none() && matches!(outcome, Outcome::Completed) {
            failure = Some(error);
        }
    }
    run.end.mark_done();
    failure
}

/// At most one experiment runs in a process at a time; a second start,
/// nested or from another thread, is an error rather than a deadlock.
struct ActiveExperiment;

static ACTIVE: Mutex<Option<String>> = Mutex::new(None);

impl ActiveExperiment {
    fn enter(name: &str) -> Result<ActiveExperiment, Error> {
        let mut active = ACTIVE.lock_unpoisoned();
        if let Some(running) = active.as_ref() {
            return Err(Error::AlreadyRunning {
                requested: name.to_owned(),
                active: running.clone(),
            });
        }
        *active = Some(name.to_owned());
        Ok(ActiveExperiment)
    }
}

impl Drop for ActiveExperiment {
    fn drop(&mut self) {
        *ACTIVE.lock_unpoisoned() = None;
    }
}
