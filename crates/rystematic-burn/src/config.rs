//! One struct for the command line and the training config.
//!
//! Burn's [`Config`] is a serde-serializable struct with `save`/`load`.
//! A `#[derive(Params)]` struct becomes one by deriving serde's traits too
//! and implementing the marker trait (its methods have defaults):
//!
//! ```
//! use rystematic::Params;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Params, Serialize, Deserialize, Debug, Clone)]
//! struct Training {
//!     /// Passes over the data.
//!     #[param(default = 3)]
//!     epochs: usize,
//!     /// Learning rate.
//!     #[param(default = 1e-2)]
//!     lr: f64,
//! }
//!
//! impl rystematic_burn::burn::config::Config for Training {}
//! ```
//!
//! The command line fills the struct; [`save_config`] writes it into the
//! run directory as Burn's JSON, which `Training::load` reads back.

use std::path::PathBuf;

use burn::config::{Config, config_to_json};
use rystematic::Run;

use crate::error::BurnError;

/// The file [`save_config`] writes, in the run directory.
pub const CONFIG_FILE: &str = "config.json";

/// Writes `config` as Burn's JSON to `<run dir>/config.json`, atomically,
/// on the master rank; returns the path.
///
/// # Errors
/// If the file cannot be written.
pub fn save_config<C: Config>(run: &Run, config: &C) -> Result<PathBuf, BurnError> {
    let path = run.output_dir().join(CONFIG_FILE);
    if run.is_master() && !run.is_agent() {
        rystematic::write_atomic(&path, config_to_json(config).as_bytes()).map_err(|source| {
            BurnError::Io {
                path: path.clone(),
                source,
            }
        })?;
    }
    Ok(path)
}
