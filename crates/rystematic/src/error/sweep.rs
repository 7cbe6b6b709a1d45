//! [`SweepError`]: why a sweep could not start (or go on).

use std::io;
use std::path::PathBuf;

/// A sweep that cannot start: its directory is taken, its manifest is
/// damaged, or a run of an earlier attempt may still be alive. Nothing has
/// run when a sweep returns one of these.
///
/// A message names the context; the cause, if any, is the
/// [`source`](std::error::Error::source), so a reporter walking the chain
/// prints it once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// Another process runs (or resumes) the sweep in this directory.
    #[error(
        "the sweep in '{}' is being run by {holder}; one sweep directory has one runner at a \
         time: wait for it to end, or stop it",
        dir.display()
    )]
    Busy {
        /// The sweep directory.
        dir: PathBuf,
        /// Who holds it, e.g. `pid 123 on host gpu1 since 2026-…`.
        holder: String,
    },
    /// The sweep directory's lock file could not be opened or locked.
    #[error("cannot lock the sweep directory with '{}'", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// More parameter sets than the limit of a sweep (100,000 runs).
    #[error("a sweep of {runs} runs is more than the limit of {limit} runs per sweep")]
    TooLarge {
        /// How many parameter sets were given.
        runs: usize,
        /// The limit.
        limit: usize,
    },
    /// Runs need more device ids than there are.
    #[error("cannot give each run its devices: {reason}")]
    Devices {
        /// What was asked and what is there.
        reason: String,
    },
    /// The manifest to resume cannot be read or parsed.
    #[error("cannot resume the sweep: its manifest '{}' is unreadable", path.display())]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// What was wrong with it.
        #[source]
        source: io::Error,
    },
    /// A run that an earlier runner started may still be alive, so starting
    /// it again could run it twice.
    #[error(
        "cannot resume the sweep in '{}': run {index} ('{}') may still be alive (pid {pid} on \
         host {host}); wait for it to end, or stop it",
        dir.display(),
        run_dir.display()
    )]
    RunStillAlive {
        /// The sweep directory.
        dir: PathBuf,
        /// The run's index in the sweep.
        index: usize,
        /// The run's directory.
        run_dir: PathBuf,
        /// Its process.
        pid: u32,
        /// Its host.
        host: String,
    },
    /// The sweep directory (or the directory of sweeps) cannot be created.
    #[error("cannot create the sweep directory '{}'", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The file system's error.
        #[source]
        source: io::Error,
    },
    /// `--resume-sweep` (or `resume`) found a sweep with other parameter
    /// sets in the directory.
    #[error(
        "'{}' holds a different sweep; cannot resume it with these parameter sets",
        dir.display()
    )]
    DifferentSweep {
        /// The sweep directory.
        dir: PathBuf,
    },
    /// A new sweep was pointed at a directory that holds one already.
    #[error("'{}' already holds a sweep; resume it or choose another directory", dir.display())]
    Occupied {
        /// The sweep directory.
        dir: PathBuf,
    },
    /// There is no sweep to show or follow in this directory.
    #[error("no sweep in '{}': cannot read its manifest", dir.display())]
    NoSweep {
        /// The directory given.
        dir: PathBuf,
        /// What was wrong.
        #[source]
        source: io::Error,
    },
    /// The launcher could not submit, follow or cancel the runs (SLURM's
    /// commands are missing, or refused the job array).
    #[error(transparent)]
    Launch(#[from] super::LaunchError),
    /// The sweep's SLURM job arrays still have tasks queued or running: a
    /// resume would run them twice.
    #[error(
        "the sweep in '{}' still has {tasks} task(s) of SLURM job {job} queued or running; wait \
         for them (--sweep-wait '{}') or cancel them (scancel {job})",
        dir.display(),
        dir.display()
    )]
    StillQueued {
        /// The sweep directory.
        dir: PathBuf,
        /// The array's job id.
        job: String,
        /// How many tasks are live.
        tasks: usize,
    },
    /// `--gpus-per-run` (this machine's devices) with a batch scheduler.
    #[error(
        "cannot hand out this machine's devices to runs of the {launcher} launcher; ask the \
         scheduler for them (--slurm-gpus-per-task, SlurmLauncher::gpus_per_task)"
    )]
    DevicesWithScheduler {
        /// The launcher's name.
        launcher: String,
    },
}

impl SweepError {
    /// The exit code a command line ends with: 2 for bad input (a damaged
    /// manifest to resume, too many runs, too few devices), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            SweepError::Launch(e) => e.exit_code(),
            SweepError::BadManifest { .. }
            | SweepError::TooLarge { .. }
            | SweepError::DevicesWithScheduler { .. }
            | SweepError::NoSweep { .. }
            | SweepError::Devices { .. } => 2,
            SweepError::Busy { .. }
            | SweepError::Lock { .. }
            | SweepError::RunStillAlive { .. }
            | SweepError::StillQueued { .. }
            | SweepError::CreateDir { .. }
            | SweepError::DifferentSweep { .. }
            | SweepError::Occupied { .. } => 1,
        }
    }
}
