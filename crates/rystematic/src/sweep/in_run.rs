//! [`Run::run_parameter_sweep`]: a sweep started by a running experiment.
//! It lives with the sweeps (not the runtime) because a sweep is built on
//! top of runs, not the other way round.

use super::{Sweep, SweepReport};
use crate::error::Error;
use crate::experiment::Experiment;
use crate::runtime::Run;
use crate::value::Value;

impl Run {
    /// Runs `experiment` once per parameter set, each in its own process,
    /// at most `max_processes` at once, and blocks until all have ended.
    /// One failing run does not stop the others. The sweep's manifest and
    /// each run's console output go to a `sweep` directory inside this
    /// run's directory. For more control (GPUs, resume), use [`Sweep`].
    ///
    /// # Errors
    /// As [`Sweep::run`].
    pub fn run_parameter_sweep<P, S, K, V>(
        &self,
        experiment: &Experiment,
        params: P,
        max_processes: usize,
    ) -> Result<SweepReport, Error>
    where
        P: IntoIterator<Item = S>,
        S: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        let dir = (1..)
            .map(|n| match n {
                1 => self.output_dir().join("sweep"),
                n => self.output_dir().join(format!("sweep-{n}")),
            })
            .find(|dir| !dir.exists())
            .expect("some sweep directory name is free");
        Sweep::new(experiment, params)
            .max_processes(max_processes)
            .dir(dir)
            .run()
    }
}
