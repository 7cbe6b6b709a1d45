//! `Run::launch_subprocess`: the same experiment in a child process that
//! shares the run (directory, parameters), with its own rank and log.

use std::sync::atomic::Ordering;

use super::{PARAMETERS_FILE, State, names};
use crate::error::{Error, UsageError};
use crate::experiment::Values;
use crate::process::spec::ChildSpec;
use crate::process::{self, ChildProcess, Console};
use crate::runtime::Run;
use crate::value::Value;

/// Starts rank `n + 1` of the running experiment.
pub(crate) fn launch(run: &Run, state: &State, overrides: Values) -> Result<ChildProcess, Error> {
    let fail = |reason: String| Error::Process {
        experiment: run.experiment().to_owned(),
        reason,
    };
    if state.local_rank > 0 {
        return Err(fail(
            "a subprocess cannot launch further subprocesses".to_owned(),
        ));
    }
    if let Some(name) = overrides.keys().find(|name| !run.params().contains(name)) {
        return Err(UsageError::UnknownParam {
            experiment: run.experiment().to_owned(),
            name: name.clone(),
        }
        .into());
    }
    let rank = state.subprocesses.fetch_add(1, Ordering::Relaxed) + 1;
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
        Value::Path(state.output_dir.join(PARAMETERS_FILE)),
    );
    values.insert(names::LOCAL_RANK.to_owned(), Value::Int(i64::from(rank)));
    let spec = ChildSpec {
        exe: process::current_exe().map_err(|e| fail(e.to_string()))?,
        experiment: run.path().to_vec(),
        args: Vec::new(),
        values,
        report: None,
    };
    tracing::debug!(target: "rystematic", "launching subprocess with local rank {rank}");
    process::spawn(&spec, Some(&state.output_dir), Console::Inherit, &[])
        .map_err(|e| fail(format!("cannot start a subprocess: {e}")))
}
