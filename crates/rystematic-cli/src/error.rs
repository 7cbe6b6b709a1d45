//! What can go wrong reading run directories and carrying out a command.

use std::io;
use std::path::PathBuf;

/// An error of the `rystematic` command or of the run-directory readers.
#[derive(Debug, thiserror::Error)]
pub enum RunsError {
    /// A file or directory could not be read or written.
    #[error("cannot access '{path}'")]
    Io {
        /// What was being accessed.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// An option's value is malformed (a usage error: exit code 2).
    #[error("invalid value '{value}' for {option}: {reason}")]
    BadOption {
        /// The option, as typed (`--where`).
        option: &'static str,
        /// The value given.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// `RUN` names no run (a usage error: exit code 2).
    #[error("no run '{run}' in '{dir}' (give a run directory or a prefix of a run id)")]
    NoSuchRun {
        /// The `RUN` argument.
        run: String,
        /// The output directory searched.
        dir: PathBuf,
    },
    /// `RUN` is a prefix of several run ids (a usage error: exit code 2).
    #[error("run '{run}' is ambiguous: it matches {}", .candidates.join(", "))]
    AmbiguousRun {
        /// The `RUN` argument.
        run: String,
        /// Some of the ids it matches.
        candidates: Vec<String>,
    },
    /// The run directory cannot be used for this command.
    #[error("run '{}' is damaged: {reason}", .dir.display())]
    Damaged {
        /// The run directory.
        dir: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A rerun was refused to keep it honest.
    #[error("{0}")]
    Refused(String),
    /// The dashboard cannot listen where it was told to.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A program could not be started.
    #[error("cannot start '{}'", .program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

impl RunsError {
    /// The exit code this error ends the command with: 2 for usage errors,
    /// 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunsError::BadOption { .. }
            | RunsError::NoSuchRun { .. }
            | RunsError::AmbiguousRun { .. } => 2,
            _ => 1,
        }
    }

    /// For failed writes to the command's output.
    pub(crate) fn output(source: io::Error) -> RunsError {
        RunsError::Io {
            path: "<output>".into(),
            source,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> RunsError {
        let path = path.into();
        move |source| RunsError::Io { path, source }
    }
}
