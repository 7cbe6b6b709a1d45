//! The `rystematic` command: list, show, compare, rerun, verify and clean up the runs of
//! any program built with rystematic, and see them in a browser (`report`, `ui`). The run directories are the
//! database: no server and no index.
//!
//! The binary is a thin shell around [`cli::run`]; the readers
//! ([`scan`], [`scalars`]) are usable on their own:
//!
//! ```no_run
//! let found = rystematic_cli::scan::scan("output".as_ref(), Default::default())?;
//! for run in &found.runs {
//!     println!("{} {}", run.id, run.status.name());
//! }
//! # Ok::<_, rystematic_cli::RunsError>(())
//! ```

pub mod cli;
mod error;
pub mod gc;
pub mod ls;
pub mod params;
mod read;
pub mod report;
pub mod rerun;
pub mod scalars;
pub mod scan;
pub mod select;
pub mod serve;
pub mod show;
pub mod table;
pub mod web;

pub use error::RunsError;
