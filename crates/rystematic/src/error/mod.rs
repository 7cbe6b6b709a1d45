//! Error types, one enum per audience:
//!
//! * [`DefinitionError`] — a programmer mistake in how an experiment is
//!   declared; builders panic with it at definition time.
//! * [`UsageError`] — bad input from whoever starts a run (command line,
//!   environment, params file, programmatic values). Nothing has started yet.
//! * [`Error`] — everything `run` can return, usage errors included.
//! * [`ParamAccessError`] — reading a resolved parameter as the wrong type.
//! * [`ProcessError`] — a child process that could not start or serve.
//! * [`SweepError`] — a sweep that could not start or go on.

use std::io;
use std::path::PathBuf;

mod launch;
mod sweep;

pub use launch::LaunchError;
pub use sweep::SweepError;

/// A mistake in the definition of parameters, experiments or groups.
///
/// These are bugs in the program, not bad input, so the builders panic with
/// this error (and its message) as soon as the mistake is made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DefinitionError {
    /// A parameter name that is not a snake_case identifier.
    #[error(
        "invalid parameter name `{name}`: expected a snake_case identifier such as `learning_rate`"
    )]
    InvalidParamName {
        /// The offending name.
        name: String,
    },
    /// A parameter whose attributes contradict each other.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Two parameters with the same name, or whose flags collide.
    #[error("{owner}: parameter `{name}` clashes with {other}")]
    Clash {
        /// The experiment or group being defined.
        owner: String,
        /// The parameter being added.
        name: String,
        /// What it clashes with.
        other: String,
    },
    /// A second parameter group with a title already in use.
    #[error(
        "{owner}: a parameter group titled \"{title}\" already exists; add to it with \
         `param_in(\"{title}\", ..)` or choose another title"
    )]
    DuplicateParamGroup {
        /// The experiment or group being defined.
        owner: String,
        /// The repeated title.
        title: String,
    },
    /// `defaults` names a parameter the experiment does not have.
    #[error("{owner}: cannot override the default of `{name}`: no such parameter")]
    UnknownDefault {
        /// The experiment.
        owner: String,
        /// The parameter named in `defaults`.
        name: String,
    },
    /// `defaults` gives a value of the wrong type.
    #[error("{owner}: invalid default override for `{name}`: {reason}")]
    InvalidDefault {
        /// The experiment.
        owner: String,
        /// The parameter.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An experiment or group name that cannot be used on the command line.
    #[error("invalid {what} name `{name}`: {reason}")]
    InvalidName {
        /// "experiment" or "group".
        what: &'static str,
        /// The offending name.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Two experiments/groups with the same name in one group.
    #[error("group `{group}` already has an experiment or group named `{name}`")]
    DuplicateChild {
        /// The group.
        group: String,
        /// The repeated name.
        name: String,
    },
}

/// Where a parameter value came from; named in error messages so a user
/// knows which of several sources to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The command line.
    CommandLine,
    /// An environment variable.
    Env(String),
    /// A params file.
    File(PathBuf),
    /// The values passed to `run`.
    Programmatic,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::CommandLine => f.write_str("on the command line"),
            Source::Env(var) => write!(f, "from environment variable {var}"),
            Source::File(path) => write!(f, "in params file '{}'", path.display()),
            Source::Programmatic => f.write_str("in the values passed to run"),
        }
    }
}

/// Bad input from whoever starts a run. No run directory exists yet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// A value that does not convert to the parameter's type or is not allowed.
    #[error("invalid value '{value}' for '{param}' {origin}: {reason}")]
    InvalidValue {
        /// The parameter, as `--flag-name`.
        param: String,
        /// The offending value as given.
        value: String,
        /// Where it came from.
        origin: Source,
        /// What was expected.
        reason: String,
    },
    /// A value the experiment's typed parameters cannot hold (e.g. `-1`
    /// for a `u32` field).
    #[error("invalid value '{value}' for '{param}': {reason}")]
    Unconvertible {
        /// The parameter.
        param: String,
        /// The resolved value.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A required parameter got no value from any source.
    #[error("missing required value for '{param}'")]
    MissingRequired {
        /// The parameter, as `--flag-name`.
        param: String,
    },
    /// `run` was given a key that names no parameter.
    #[error("experiment `{experiment}` has no parameter named `{name}`")]
    UnknownParam {
        /// The experiment.
        experiment: String,
        /// The unknown key.
        name: String,
    },
    /// The params file could not be used.
    #[error(transparent)]
    ParamsFile(#[from] ParamsFileError),
    /// `--resume-run` (or [`Experiment::resume_run`]) named a run that
    /// cannot go on: not a run of this experiment, completed, still
    /// running, or asked to change its parameters.
    ///
    /// [`Experiment::resume_run`]: crate::Experiment::resume_run
    #[error("cannot resume the run in '{}': {reason}", dir.display())]
    Resume {
        /// The run directory.
        dir: PathBuf,
        /// Why not.
        reason: String,
    },
}

/// Why a params file was rejected.
#[derive(Debug, thiserror::Error)]
#[error("cannot use params file '{}': {reason}", path.display())]
pub struct ParamsFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: ParamsFileProblem,
}

/// What is wrong with a params file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsFileProblem {
    /// It could not be read.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// It is larger than the limit.
    #[error("the file is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// It is not valid YAML, too deep, uses too many aliases, or is not
    /// plain data.
    #[error("{0}")]
    Invalid(String),
    /// The top level is not a mapping of names to values.
    #[error("expected a mapping of parameter names to values")]
    NotAMapping,
}

/// Reading a resolved parameter as the wrong type, or one that does not exist.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParamAccessError {
    /// No parameter with this name.
    #[error("no parameter named `{name}`")]
    Unknown {
        /// The requested name.
        name: String,
    },
    /// The value does not convert to the requested type.
    #[error("parameter `{name}`: {reason}")]
    WrongType {
        /// The parameter.
        name: String,
        /// What was expected and found.
        reason: String,
    },
    /// The whole map does not deserialise into the requested struct.
    #[error("cannot deserialise parameters: {reason}")]
    Deserialize {
        /// serde's message.
        reason: String,
    },
}

/// Why a child process could not start, or could not serve what it was
/// started for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The path of this program's executable is unknown.
    #[error("cannot find this program's executable")]
    Executable(#[source] io::Error),
    /// The operating system refused to start the process.
    #[error("cannot start {what}")]
    Spawn {
        /// "a new process" or "a subprocess".
        what: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// `launch_subprocess` called in a subprocess.
    #[error("a subprocess cannot launch further subprocesses")]
    NestedSubprocess,
    /// The program's entry point does not reach the experiment, so a child
    /// process could not find it.
    #[error("{reason}")]
    NotInProgram {
        /// What the entry point knows instead.
        reason: String,
    },
    /// This process was started as a child, and its spec cannot be served
    /// (unreadable, or naming an experiment this program does not reach).
    #[error("{reason}")]
    Child {
        /// What is wrong.
        reason: String,
    },
}

/// Everything that can stop a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was rejected before the run started.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// Another experiment is running in this process.
    #[error(
        "cannot start experiment `{requested}` while experiment `{active}` is running in this \
         process; start it in a new process instead"
    )]
    AlreadyRunning {
        /// The experiment that was asked to start.
        requested: String,
        /// The experiment that is running.
        active: String,
    },
    /// The run could not be set up (run directory, log file, ...).
    ///
    /// The message names the experiment only; the cause is the
    /// [`source`](std::error::Error::source), so a reporter that walks the
    /// chain (`anyhow`'s `{:#}`, [`Error::report`]) prints it once.
    #[error("experiment `{experiment}` could not start")]
    Setup {
        /// The experiment.
        experiment: String,
        /// What went wrong.
        #[source]
        source: anyhow::Error,
    },
    /// A child process could not be started, or was asked for something
    /// this program cannot do. As for `Setup`, the cause is the source.
    #[error("experiment `{experiment}`")]
    Process {
        /// The experiment.
        experiment: String,
        /// What went wrong.
        #[source]
        source: ProcessError,
    },
    /// A sweep could not start or go on (its directory is taken, its
    /// manifest is damaged, ...).
    #[error(transparent)]
    Sweep(#[from] SweepError),
    /// The main function returned an error or panicked. As for `Setup`, the
    /// cause is the source, not part of the message.
    #[error("experiment `{experiment}` failed")]
    Failed {
        /// The experiment.
        experiment: String,
        /// The run directory, holding `log.txt` and `run.json`.
        output_dir: PathBuf,
        /// The error (for a panic: its message and location).
        #[source]
        source: anyhow::Error,
    },
}

impl Error {
    /// The message followed by every cause, joined by `": "`, each printed
    /// once: `experiment `train` failed: diverged: loss is NaN`.
    pub fn report(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            text.push_str(": ");
            text.push_str(&error.to_string());
            cause = error.source();
        }
        text
    }

    /// Prints the error to stderr the way a command line reports it. A
    /// failed run points at its log (the failure and its causes are in it,
    /// and on the console, already); anything else is one line with every
    /// cause.
    pub(crate) fn print(&self) -> io::Result<()> {
        use std::io::Write as _;
        let mut stderr = io::stderr().lock();
        match self {
            Error::Failed { output_dir, .. } => writeln!(
                stderr,
                "error: the experiment failed; see {}",
                output_dir.join("log.txt").display()
            ),
            other => writeln!(stderr, "error: {}", other.report()),
        }
    }

    /// The process exit code a command line should end with for this error:
    /// 2 for bad input (like any CLI), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Sweep(e) => e.exit_code(),
            Error::AlreadyRunning { .. }
            | Error::Setup { .. }
            | Error::Process { .. }
            | Error::Failed { .. } => 1,
        }
    }
}
