//! Define, run and reproduce computational experiments.
//!
//! An experiment is a main function plus declared parameters. rystematic
//! gives it a full command line (help, completions, params files,
//! environment variables), a programmatic [`Experiment::run`], a fresh
//! output directory per run with the exact parameters recorded
//! (`parameters.yaml`), a log (`log.txt`), run metadata (`run.json`), and a
//! reproducible seed stream ([`Run::new_seed`]). Experiments can be
//! organised in nested [`Group`]s that share parameters.
//!
//! ```no_run
//! use rystematic::{Experiment, Param, Params, Run};
//!
//! fn hello_world(params: &Params, run: &Run) -> anyhow::Result<()> {
//!     let name: String = params.get("name")?;
//!     println!("Hello {name}!");
//!     std::fs::write(run.output_dir().join("hello.txt"), format!("Hello {name}!\n"))?;
//!     Ok(())
//! }
//!
//! fn main() {
//!     Experiment::new("hello_world", hello_world)
//!         .param(Param::string("name").required().help("The name to greet."))
//!         .cli();
//! }
//! ```
//!
//! ```text
//! $ hello_world --name World
//! Hello World!
//! $ ls output/hello-world/*/
//! hello.txt  log.txt  parameters.yaml  run.json
//! ```
//!
//! The README has the full tutorial, the precedence rules and how this
//! differs from pystematic.
// Processes, signals, file locks and the crash-safety guarantees are
// Unix's; fail with one clear message rather than a page of missing APIs.
#[cfg(not(unix))]
compile_error!(
    "rystematic supports Unix only (Linux, macOS): it relies on Unix processes, \
     signals and file semantics"
);

mod cli;
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
pub use standard::run_info::{GitInfo, RunInfo, RunStatus};
pub use sweep::{Sweep, SweepReport, SweepRun, SweepStatus, param_matrix};
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
    pub use crate::sweep::MANIFEST_FILE;
}

/// What the macros expand to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::extension::ExtensionRegistration;
    pub use crate::registry::{Registration, main};
    pub use inventory;
}
