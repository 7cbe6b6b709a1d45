//! [`LaunchError`]: why a launcher could not submit, poll or cancel a
//! sweep's jobs.

use std::io;
use std::path::PathBuf;

/// Why a launcher could not submit, poll or cancel.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    /// A scheduler command could not be started at all (not installed, not
    /// on `PATH`).
    #[error("cannot run `{command}` (is SLURM installed and on PATH?)")]
    Missing {
        /// The command.
        command: String,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// A scheduler command refused what it was asked (a bad partition, a
    /// job over a limit): its own message.
    #[error("`{command}` failed: {message}")]
    Refused {
        /// The command.
        command: String,
        /// The scheduler's message, on one line.
        message: String,
    },
    /// Files the jobs need could not be written.
    #[error("cannot prepare the jobs in '{}'", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The launcher cannot do this (e.g. detach from local processes).
    #[error("the {launcher} launcher cannot {what}")]
    Unsupported {
        /// The launcher's name.
        launcher: String,
        /// What was asked.
        what: String,
    },
}

impl LaunchError {
    /// The exit code a command line ends with: 2 when the scheduler is
    /// missing or refused the submission (bad options), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            LaunchError::Missing { .. }
            | LaunchError::Refused { .. }
            | LaunchError::Unsupported { .. } => 2,
            LaunchError::Io { .. } => 1,
        }
    }
}
