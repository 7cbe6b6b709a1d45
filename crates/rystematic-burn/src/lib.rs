#![doc = include_str!("../README.md")]

// It builds on rystematic, which supports Unix only.
#[cfg(not(unix))]
compile_error!("rystematic-burn supports Unix only (Linux, macOS), like rystematic");

mod checkpoint;
mod collective;
mod config;
mod data_parallel;
mod error;
mod exchange;
mod fit;
mod loader;
mod logging;
mod metrics;
mod optimize;
mod seed;

pub use checkpoint::{
    AtomicFileCheckpointer, BurnCheckpoint, CHECKPOINT_DIR, EveryEpoch, part_file_name,
};
pub use collective::AllReduce;
pub use config::{CONFIG_FILE, save_config};
pub use data_parallel::{DataParallel, data_parallel};
pub use error::BurnError;
pub use fit::{Fitted, fit, resume_epoch};
pub use loader::EpochShuffledLoader;
pub use logging::{BURN_STEP_TARGETS, LogRenderer, RunLogInstaller, install_run_logging};
pub use metrics::{Record, RecorderMetricLogger, tag_name};
pub use optimize::optimize_averaged;
pub use seed::{KEPT_SEEDS_FILE, device, gpu_index, kept_seed, seed};

/// Burn, as this crate builds against it (0.22.1), so a program uses the
/// same version.
pub use burn;
