// The crate docs are the repository README, tutorial included: docs.rs
// readers never see the repository. Its examples are doc-tested from
// rystematic-recorder (some use the recorder, which this crate cannot
// depend on), so doctest builds leave it out here.
#![cfg_attr(not(doctest), doc = include_str!("../README.md"))]
#![cfg_attr(
    doctest,
    doc = "rystematic (the README is doc-tested from rystematic-recorder)."
)]
//!
//! # Architecture
//!
//! The crate's modules form layers. A module uses only its own layer and
//! the layers below it; the test `tests/layers.rs` checks every
//! `use crate::` against this table, so the shape stays.
//!
//! | layer | modules | what it holds |
//! |---|---|---|
//! | 1 base | `error`, `fs`, `sync`, `clock`, `logging` | error types, durable files, locks, time, the log layer |
//! | 2 value | `value` | [`Value`], [`Params`](struct@Params), [`Values`], [`ExperimentPath`] |
//! | 3 param | `param` | declarations, parameter sets, typed parameters, the built-in parameters |
//! | 4 resolve | `resolve` | command line, environment and params files to resolved [`Params`](struct@Params) |
//! | 5 rundir | `rundir` | the run directory: its atomic creation, `run.json`, file names, provenance |
//! | 6 process | `process` | child processes, child specs, signals |
//! | 7 distributed | `distributed` | the world of a distributed run: agents, rendezvous, workers |
//! | 8 runtime | `runtime` | [`Run`] and its core data, the run lifecycle, the [`Extension`] trait |
//! | 9 extensions | `extensions` | the built-in extensions |
//! | 10 experiment | `experiment` | [`Experiment`], [`Group`], the entry point, running here or in a new process |
//! | 11 sweep | `sweep` | parameter sweeps and where their runs execute |
//! | 12 program | `cli`, `registry`, `__fuzz` | the command line, `main!`, the fuzz entry points |
//!
//! Data flows one way, up: a lower layer never names a higher one. The one
//! exception is the plug-in loop: the runtime (8) loads the built-in
//! extensions (9) along with the registered ones.

// Processes, signals, file locks and the crash-safety guarantees are
// Unix's; fail with one clear message rather than a page of missing APIs.
#[cfg(not(unix))]
compile_error!(
    "rystematic supports Unix only (Linux, macOS): it relies on Unix processes, \
     signals and file semantics"
);

mod clock;
mod error;
mod fs;
mod logging;
mod sync;

mod value;

mod param;

mod resolve;

mod rundir;

mod process;

mod distributed;

mod runtime;

mod extensions;

mod experiment;

mod sweep;

mod cli;
mod registry;

pub use cli::{CliError, CliOutcome};
pub use distributed::DistributedError;
pub use error::*;
pub use experiment::{Experiment, Group, HasParams};
pub use fs::write_atomic;
pub use logging::{LogLayer, log_layer};
pub use param::set::ParamSet;
pub use param::typed::{Declarations, ParamEnum, ParamType, TypedParams};
pub use param::{Param, ParamGroup};
pub use process::{CHILD_SPEC_ENV, ChildProcess, Interrupt};
pub use registry::registered;
pub use rundir::info::{GitInfo, RunInfo, RunStatus, WorldInfo};
pub use rundir::provenance::sha256_file;
pub use rundir::slurm_ids::SlurmInfo;
pub use runtime::extension::{Extension, Outcome, register_extension};
pub use runtime::{Run, RunSummary};
pub use rystematic_derive::{ParamEnum, Params, experiment};
pub use sweep::{
    Job, JobEvent, JobExit, Launcher, LocalLauncher, SchedulerTask, SlurmLauncher, Sweep,
    SweepReport, SweepRun, SweepStatus, param_matrix, sweep_status,
};
pub use value::{ConversionError, ExperimentPath, FromValue, Params, Value, Values};

/// The error type of experiments and extension hooks, re-exported so a
/// program needs no `anyhow` dependency of its own:
/// `fn main_fn(..) -> rystematic::anyhow::Result<()>`. The version is the
/// one rystematic's API uses, so errors convert without surprises.
pub use anyhow;
/// The logging macros whose events go to each run's `log.txt`, re-exported
/// so a program needs no `tracing` dependency of its own:
/// `rystematic::tracing::info!(..)`.
pub use tracing;

/// File names inside a run directory.
pub mod files {
    pub use crate::rundir::{PARAMETERS_FILE, RUN_INFO_FILE};
    pub use crate::sweep::{JOURNAL_FILE, MANIFEST_FILE};
}

/// Entry points for the fuzz targets (`fuzz/`). Not a public API.
#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;

/// What the macros expand to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::registry::{Registration, main};
    pub use crate::runtime::extension::ExtensionRegistration;
    pub use inventory;
}
