//! The run lifecycle: one active experiment per process, extension hooks
//! around the main function, and how the outcome is reported.

mod panic;
mod run;

use std::path::PathBuf;
use std::sync::Mutex;

pub use run::Run;

use crate::error::Error;
use crate::extension::{self, Outcome};
use crate::value::Params;

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
    pub(crate) main: &'a MainFn,
    pub(crate) params: Params,
    /// Things to tell the user once the run's log is open (e.g. params-file
    /// keys that name no parameter).
    pub(crate) warnings: Vec<String>,
    pub(crate) argv: Option<Vec<String>>,
}

/// Runs an experiment in this process: hooks, main function, hooks.
pub(crate) fn execute(launch: Launch<'_>) -> Result<RunSummary, Error> {
    let _active = ActiveExperiment::enter(launch.experiment)?;
    let mut run = Run::new(launch.experiment.to_owned(), launch.params, launch.argv);
    let extensions = extension::loaded();

    let mut set_up = 0;
    let mut result = Ok(());
    for ext in extensions {
        match panic::catch(|| ext.before(&mut run)) {
            Ok(Ok(())) => set_up += 1,
            Ok(Err(e)) => result = Err(e.context(format!("extension `{}` failed", ext.name()))),
            Err(report) => {
                result =
                    Err(anyhow::anyhow!(report)
                        .context(format!("extension `{}` panicked", ext.name())))
            }
        }
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        for warning in &launch.warnings {
            tracing::warn!(target: "rystematic", "{warning}");
        }
        result = panic::catch(|| (launch.main)(run.params(), &run))
            .unwrap_or_else(|report| Err(anyhow::anyhow!(report)));
    }

    let outcome = match &result {
        Ok(()) => Outcome::Completed,
        Err(e) => Outcome::Failed(e),
    };
    // Reverse order: whoever set up first tears down last.
    for ext in extensions[..set_up].iter().rev() {
        match panic::catch(|| ext.after(&run, &outcome)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(target: "rystematic", "extension `{}` failed after the run: {e:#}", ext.name())
            }
            Err(report) => {
                tracing::error!(target: "rystematic", "extension `{}` panicked after the run: {report}", ext.name())
            }
        }
    }

    let output_dir = run
        .state::<crate::standard::State>()
        .map(|s| s.output_dir.clone());
    match (result, output_dir) {
        (Ok(()), Some(output_dir)) => Ok(RunSummary {
            output_dir,
            params: run.params().clone(),
        }),
        (Ok(()), None) => unreachable!("the standard extension always sets up a completed run"),
        (Err(source), Some(output_dir)) => Err(Error::Failed {
            experiment: launch.experiment.to_owned(),
            output_dir,
            source,
        }),
        (Err(source), None) => Err(Error::Setup {
            experiment: launch.experiment.to_owned(),
            source,
        }),
    }
}

/// At most one experiment runs in a process at a time; a second start,
/// nested or from another thread, is an error rather than a deadlock.
struct ActiveExperiment;

static ACTIVE: Mutex<Option<String>> = Mutex::new(None);

impl ActiveExperiment {
    fn enter(name: &str) -> Result<ActiveExperiment, Error> {
        let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
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
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}
