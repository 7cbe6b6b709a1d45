//! `Run::launch_subprocess`: the same experiment in a child process that
//! shares the run (directory, parameters), with its own rank and log.

use std::sync::atomic::Ordering;

use super::Run;
use crate::error::{Error, ProcessError, UsageError};
use crate::param::names;
use crate::process::spec::ChildSpec;
use crate::process::{self, ChildProcess, Console};
use crate::rundir::PARAMETERS_FILE;
use crate::value::{Value, Values};

/// Starts rank `n + 1` of the running experiment.
pub(super) fn launch(run: &Run, overrides: Values) -> Result<ChildProcess, Error> {
    let core = run.core();
    let fail = |source| Error::Process {
        experiment: run.experiment().to_owned(),
        source,
    };
    if core.local_rank > 0 {
        return Err(fail(ProcessError::NestedSubprocess));
    }
    if let Some(name) = overrides.keys().find(|name| !run.params().contains(name)) {
        return Err(UsageError::UnknownParam {
            experiment: run.experiment().to_owned(),
            name: name.clone(),
        }
        .into());
    }
    let rank = core.subprocesses.fetch_add(1, Ordering::Relaxed) + 1;
    // The parent's values (not its params file: the values already hold
    // what it said), then the overrides, then what makes it a subprocess.
    let mut values: Values = run
        .params()
        .iter()
        .filter(|(name, _)| *name != names::PARAMS_FILE)
        .map(|(name, value)| (name.to_owned(), value.clone()))
        .collect();
    values.extend(overrides);
    values.insert(
        names::SUBPROCESS.to_owned(),
        Value::Path(core.output_dir.join(PARAMETERS_FILE)),
    );
    values.insert(names::LOCAL_RANK.to_owned(), Value::Int(i64::from(rank)));
    let spec = ChildSpec {
        exe: process::current_exe().map_err(|e| fail(ProcessError::Executable(e)))?,
        experiment: run.experiment_path().clone(),
        args: Vec::new(),
        values,
        report: None,
    };
    tracing::debug!(target: "rystematic", "launching subprocess with local rank {rank}");
    process::spawn(&spec, Some(&core.output_dir), Console::Inherit, &[]).map_err(|source| {
        fail(ProcessError::Spawn {
            what: "a subprocess",
            source,
        })
    })
}
