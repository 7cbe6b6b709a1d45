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

/// File names inside a run directory.
pub mod files {
    pub use crate::standard::PARAMETERS_FILE;
    pub use crate::standard::run_info::RUN_INFO_FILE;
    pub use crate::sweep::MANIFEST_FILE;
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
