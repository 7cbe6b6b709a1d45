//! [`Run`]: the handle a running experiment gets (the experiment API).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::error::Error;
use crate::experiment::{Experiment, Values, collect_values};
use crate::process::ChildProcess;
use crate::standard;
use crate::sweep::{Sweep, SweepReport};
use crate::value::{Params, Value};

/// The running experiment: its parameters, output directory and seed
/// stream. The main function receives it; it is `Sync`, so threads the
/// experiment starts can share it.
///
/// ```no_run
/// use rystematic::{Experiment, Param};
///
/// let exp = Experiment::new("train", |params, run| {
///     let seed = run.new_seed();
///     std::fs::write(run.output_dir().join("seed.txt"), seed.to_string())?;
///     tracing::info!("epochs = {}", params.get::<i64>("epochs")?);
///     Ok::<_, anyhow::Error>(())
/// })
/// .param(Param::int("epochs").default(10));
/// exp.cli();
/// ```
pub struct Run {
    experiment: String,
    path: Vec<String>,
    params: Params,
    argv: Option<Vec<String>>,
    /// Per-extension state, keyed by type.
    state: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    /// Who ends the run: the main thread when `main` returns, or the
    /// signal thread on Ctrl-C / SIGTERM — exactly one of them.
    pub(crate) end: EndOnce,
}

impl Run {
    pub(crate) fn new(
        experiment: String,
        path: Vec<String>,
        params: Params,
        argv: Option<Vec<String>>,
    ) -> Run {
        Run {
            experiment,
            path,
            params,
            argv,
            state: HashMap::new(),
            end: EndOnce::default(),
        }
    }

    /// The experiment's name.
    pub fn experiment(&self) -> &str {
        &self.experiment
    }

    /// The resolved parameters (read-only).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// This run's directory: write all output here.
    pub fn output_dir(&self) -> &Path {
        &self.standard().output_dir
    }

    /// The next 32-bit number from the master random number generator,
    /// seeded by `random_seed`. Use it to seed your own generators: the same
    /// `random_seed` gives the same sequence on every platform and in every
    /// version of rystematic.
    pub fn new_seed(&self) -> u64 {
        self.new_seed_bits(32)
    }

    /// Like [`Run::new_seed`], with `nbits` bits (1 to 64).
    ///
    /// # Panics
    /// If `nbits` is 0 or more than 64.
    pub fn new_seed_bits(&self, nbits: u32) -> u64 {
        self.standard().seeds.next_bits(nbits)
    }

    /// 0 in the main process; 1, 2, ... in subprocesses it launched.
    pub fn local_rank(&self) -> u32 {
        self.standard().local_rank
    }

    /// Whether this process was launched by `launch_subprocess`.
    pub fn is_subprocess(&self) -> bool {
        self.local_rank() > 0
    }

    /// Runs this experiment again in a child process that shares this run:
    /// the same output directory and parameters (with `overrides` on top),
    /// `local_rank` 1, 2, ... in launch order, `subprocess` set, and its log
    /// in `log.rank-N.txt`. Children still running when the experiment
    /// ends are stopped (SIGTERM, then SIGKILL after a grace period).
    ///
    /// Note that a subprocess gets the same `random_seed`; pass
    /// `("random_seed", run.new_seed())` among the overrides for a new one.
    ///
    /// # Errors
    /// In a subprocess (subprocesses cannot launch further ones), for an
    /// override that names no parameter, or if the process cannot start.
    pub fn launch_subprocess(&self) -> Result<ChildProcess, Error> {
        self.launch_subprocess_with(Values::new())
    }

    /// Like [`Run::launch_subprocess`], with some parameters changed.
    ///
    /// # Errors
    /// As [`Run::launch_subprocess`].
    pub fn launch_subprocess_with<I, K, V>(&self, overrides: I) -> Result<ChildProcess, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        standard::subprocess::launch(self, self.standard(), collect_values(overrides))
    }

    /// Group names from the root, then the experiment's name.
    pub(crate) fn path(&self) -> &[String] {
        &self.path
    }

    /// Runs `experiment` once per parameter set, each in its own process,
    /// at most `max_processes` at once, and blocks until all have ended.
    /// One failing run does not stop the others. The sweep's manifest and
    /// each run's console output go to a `sweep` directory inside this
    /// run's directory. For more control (GPUs, resume), use
    /// [`Sweep`](crate::Sweep).
    ///
    /// # Errors
    /// As [`Sweep::run`](crate::Sweep::run).
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

    /// The command line, when the run was started from one.
    pub(crate) fn argv(&self) -> Option<&[String]> {
        self.argv.as_deref()
    }

    /// Stores an extension's state for this run (one value per type),
    /// for the experiment to reach with [`Run::ext`]. Call it from
    /// [`Extension::before`](crate::Extension::before).
    pub fn insert_ext<T: Any + Send + Sync>(&mut self, value: T) {
        self.state.insert(TypeId::of::<T>(), Box::new(value));
    }

    /// An extension's state, by type (see [`Run::insert_ext`]).
    pub fn ext<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.state.get(&TypeId::of::<T>())?.downcast_ref()
    }

    fn standard(&self) -> &standard::State {
        self.ext()
            .expect("the standard extension sets up every run before its main function")
    }
}

/// A claim-once flag with a "done" signal.
#[derive(Debug, Default)]
pub(crate) struct EndOnce {
    claimed: AtomicBool,
    done: Mutex<bool>,
    done_cv: Condvar,
}

impl EndOnce {
    /// True for the first caller only.
    pub(crate) fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }

    pub(crate) fn mark_done(&self) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.done_cv.notify_all();
    }

    /// Waits (at most `timeout`) for whoever claimed the end to finish.
    pub(crate) fn wait_done(&self, timeout: Duration) {
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self
            .done_cv
            .wait_timeout_while(done, timeout, |done| !*done);
    }
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("experiment", &self.experiment)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}
