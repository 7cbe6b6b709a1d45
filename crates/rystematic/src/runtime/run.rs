//! [`Run`]: the handle a running experiment gets (the experiment API).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::core::Core;
use super::subprocess;
use crate::distributed::{DistributedError, Role};
use crate::error::Error;
use crate::process::ChildProcess;
use crate::sync::LockUnpoisoned as _;
use crate::value::{ExperimentPath, Params, Value, Values, collect_values};

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
    path: ExperimentPath,
    params: Params,
    /// What this process is in a distributed run (or not).
    role: Role,
    /// The run's directory, seeds and rank: the runtime's, set up before
    /// any extension's hook.
    core: Core,
    /// Per-extension state, keyed by type.
    state: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    /// Who ends the run: the main thread when `main` returns, or the
    /// signal thread on Ctrl-C / SIGTERM — exactly one of them.
    pub(crate) end: EndOnce,
}

impl Run {
    pub(super) fn new(
        experiment: String,
        path: ExperimentPath,
        params: Params,
        role: Role,
        core: Core,
    ) -> Run {
        Run {
            experiment,
            path,
            params,
            role,
            core,
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
        &self.core.output_dir
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
        self.core.seeds.next_bits(nbits)
    }

    /// Which attempt at the run this is: 1, then 2, 3, ... each time the
    /// run is resumed in its own directory ([`Experiment::resume_run`],
    /// `--resume-run`). An extension that writes files into the run
    /// directory appends to them after the first attempt.
    ///
    /// [`Experiment::resume_run`]: crate::Experiment::resume_run
    pub fn attempt(&self) -> u32 {
        self.core.attempt
    }

    /// 0 in the main process; 1, 2, ... in subprocesses it launched. In a
    /// distributed run, the worker's rank on its node (`LOCAL_RANK`).
    pub fn local_rank(&self) -> u32 {
        match self.role.world() {
            Some(world) => world.info.local_rank,
            None => self.core.local_rank,
        }
    }

    /// This process's rank: in a distributed run the worker's global rank
    /// (`RANK`, 0 to `world_size() - 1`); otherwise 0, or the local rank of
    /// a subprocess launched with [`Run::launch_subprocess`].
    pub fn rank(&self) -> u32 {
        match self.role.world() {
            Some(world) => world.info.rank,
            None => self.local_rank(),
        }
    }

    /// How many workers the distributed run has in all (`WORLD_SIZE`); 1
    /// when not distributed.
    pub fn world_size(&self) -> u32 {
        self.role.world().map_or(1, |world| world.info.world_size)
    }

    /// Whether this is rank 0, the process that writes what the run writes
    /// once (metrics, checkpoints). True when not distributed, except in a
    /// subprocess.
    pub fn is_master(&self) -> bool {
        self.rank() == 0
    }

    /// Waits until every worker of a distributed run has called `barrier`
    /// as many times as this one; returns at once when not distributed.
    /// Call it (and [`Run::broadcast_from_master`]) from one thread.
    ///
    /// # Errors
    /// When the run is stopped meanwhile (another rank failed) or the master
    /// agent is gone.
    pub fn barrier(&self) -> Result<(), DistributedError> {
        match self.role.world() {
            Some(world) => world.barrier(),
            None => Ok(()),
        }
    }

    /// Rank 0's `value` on every rank (each rank passes one; only rank 0's
    /// is used). Any serde value; when not distributed, `value` itself.
    ///
    /// ```no_run
    /// # fn f(run: &rystematic::Run) -> Result<(), rystematic::DistributedError> {
    /// // One random token for the whole world.
    /// let token: u64 = run.broadcast_from_master(run.new_seed_bits(64))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Run::barrier`], and when the value does not (de)serialise.
    pub fn broadcast_from_master<T: Serialize + DeserializeOwned>(
        &self,
        value: T,
    ) -> Result<T, DistributedError> {
        let Some(world) = self.role.world() else {
            return Ok(value);
        };
        let json = serde_json::to_value(&value).map_err(DistributedError::Value)?;
        let json = world.broadcast(json)?;
        serde_json::from_value(json).map_err(DistributedError::Value)
    }

    /// Whether this process is the agent of a distributed run: it owns the
    /// run directory but runs no experiment code (its workers do), so an
    /// extension that records what the experiment does leaves that to the
    /// master worker ([`Run::is_master`] there).
    pub fn is_agent(&self) -> bool {
        matches!(self.role, Role::Agent(_))
    }

    /// What this process is in a distributed run.
    pub(crate) fn role(&self) -> &Role {
        &self.role
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
        subprocess::launch(self, collect_values(overrides))
    }

    /// Where the experiment sits in its program: its groups from the
    /// root, then its own name.
    pub fn experiment_path(&self) -> &ExperimentPath {
        &self.path
    }

    /// The runtime's part of the run.
    pub(super) fn core(&self) -> &Core {
        &self.core
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
        *self.done.lock_unpoisoned() = true;
        self.done_cv.notify_all();
    }

    /// Waits (at most `timeout`) for whoever claimed the end to finish.
    pub(crate) fn wait_done(&self, timeout: Duration) {
        let done = self.done.lock_unpoisoned();
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
