//! [`Run`]: the handle a running experiment gets (the experiment API).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crate::standard;
use crate::value::Params;

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
    params: Params,
    argv: Option<Vec<String>>,
    /// Per-extension state, keyed by type.
    state: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

impl Run {
    pub(crate) fn new(experiment: String, params: Params, argv: Option<Vec<String>>) -> Run {
        Run {
            experiment,
            params,
            argv,
            state: HashMap::new(),
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

    /// The command line, when the run was started from one.
    pub(crate) fn argv(&self) -> Option<&[String]> {
        self.argv.as_deref()
    }

    pub(crate) fn insert_state<T: Any + Send + Sync>(&mut self, value: T) {
        self.state.insert(TypeId::of::<T>(), Box::new(value));
    }

    pub(crate) fn state<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.state.get(&TypeId::of::<T>())?.downcast_ref()
    }

    fn standard(&self) -> &standard::State {
        self.state()
            .expect("the standard extension sets up every run before its main function")
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
