// The crate docs are the repository README, tutorial included: docs.rs
// readers never see the repository. Its examples are doc-tested from
// rystematic-recorder (some use the recorder, which this crate cannot
// depend on), so doctest builds leave it out here.
#![cfg_attr(not(doctest), doc = include_str!("../README.md"))]
#![cfg_attr(
    doctest,
    doc = "rystematic (the README is doc-tested from rystematic-recorder)."
)]

// Processes, signals, file locks and the crash-safety guarantees are
// Unix's; fail with one clear message rather than a page of missing APIs.
#[cfg(not(unix))]
compile_error!(
    "rystematic supports Unix only (Linux, macOS): it relies on Unix processes, \
     signals and file semantics"
);

mod cli;
mod distributed;
mod error;
mod experiment;
mod extension;
mod fs;
mod group;
mod param;
mod param_set;
mod process;
mod registry;
mod resolve;
mod runtime;
mod standard;
mod sweep;
mod typed;
mod value;
mod yaml;

pub use cli::{CliError, CliOutcome};
pub use distributed::DistributedError;
pub use error::*;
pub use experiment::{Experiment, HasParams, Values};
pub use extension::{Extension, Outcome, register_extension};
pub use fs::write_atomic;
pub use group::Group;
pub use param::{Param, ParamGroup};
pub use param_set::ParamSet;
pub use process::{CHILD_SPEC_ENV, ChildProcess, Interrupt};
pub use registry::registered;
pub use runtime::{Run, RunSummary};
pub use rystematic_derive::{ParamEnum, Params, experiment};
pub use standard::logging::{LogLayer, log_layer};
pub use standard::provenance::sha256_file;
pub use standard::run_info::{GitInfo, RunInfo, RunStatus, WorldInfo};
pub use standard::slurm_ids::SlurmInfo;
pub use sweep::{
    Job, JobEvent, JobExit, LaunchError, Launcher, LocalLauncher, SchedulerTask, SlurmLauncher,
    Sweep, SweepReport, SweepRun, SweepStatus, param_matrix, sweep_status,
};
pub use typed::{Declarations, ParamEnum, ParamType, TypedParams};
pub use value::{FromValue, Params, Value};

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
    pub use crate::standard::PARAMETERS_FILE;
    pub use crate::standard::run_info::RUN_INFO_FILE;
    pub use crate::sweep::{JOURNAL_FILE, MANIFEST_FILE};
}

/// Entry points for the fuzz targets (`fuzz/`). Not a public API.
#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;

/// What the macros expand to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::extension::ExtensionRegistration;
    pub use crate::registry::{Registration, main};
    pub use inventory;
}
