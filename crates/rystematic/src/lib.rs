//! rystematic
mod cli;
mod error;
mod experiment;
mod extension;
mod fs;
mod group;
mod param;
mod param_set;
mod resolve;
mod runtime;
mod standard;
mod value;
mod yaml;

pub use cli::CliError;
pub use error::*;
pub use experiment::{Experiment, HasParams};
pub use group::Group;
pub use param::{Param, ParamGroup};
pub use param_set::ParamSet;
pub use runtime::{Run, RunSummary};
pub use standard::run_info::{GitInfo, RunInfo, RunStatus};
pub use value::{FromValue, Params, Value};
