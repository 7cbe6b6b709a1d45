//! Parameter sweeps: run one experiment over many parameter sets, each in
//! its own process, at most N at once.
//!
//! A sweep never lets one failure stop the others, records every set in a
//! manifest (`sweep.json`) as runs start and end, and can be resumed: the
//! sets that completed are skipped, the rest run again. On Ctrl-C or
//! SIGTERM it stops every run's process tree, marks the unfinished runs
//! `interrupted` (in their `run.json` and the manifest) and exits 130/143.

mod devices;
mod drive;
mod in_run;
mod launcher;
mod lock;
mod manifest;
mod matrix;
mod previous;
mod progress;
mod report;
mod slurm;
mod state;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use launcher::{Job, JobEvent, JobExit, Launcher, LocalLauncher, SchedulerTask};
pub use manifest::{JOURNAL_FILE, MANIFEST_FILE, SweepRun, SweepStatus};
pub use matrix::param_matrix;
pub use report::SweepReport;
pub(crate) use slurm::shell_quote;
pub use slurm::{SlurmLauncher, status as sweep_status};

use devices::DeviceSlots;
use drive::{RunSpec, drive};
use lock::SweepLock;
pub(crate) use manifest::Manifest;
use state::{Counts, SweepState, interrupt, state_lock};

use crate::clock;
use crate::error::{Error, LaunchError, ProcessError, SweepError};
use crate::experiment::Experiment;
use crate::experiment::entry;
use crate::process::signals;
use crate::rundir::info::{RunInfo, RunStatus, timestamp};
use crate::value::{ExperimentPath, Value, Values, collect_values};

/// The most runs one sweep may have. Every parameter set has an entry in
/// the manifest, which is rewritten as runs start and end, so a sweep's
/// cost grows with its size: past this, a sweep is refused before anything
/// is created (on the command line, before its values are even listed).
pub const MAX_SWEEP_RUNS: usize = 100_000;

/// How long a resume waits for the runs of an earlier, killed runner to
/// end (they get SIGTERM when it dies, and take a moment to record it)
/// before it refuses to start them again.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// A parameter sweep, configured and ready to [`run`](Sweep::run).
///
/// One sweep directory has one runner at a time: [`Sweep::run`] holds an
/// exclusive lock on `sweep.lock` in it for as long as it runs.
///
/// ```no_run
/// # use rystematic::{Experiment, Sweep, param_matrix, Value};
/// # let work = Experiment::new("work", |_, _| Ok::<_, anyhow::Error>(()));
/// let report = Sweep::new(&work, param_matrix([("lr", Value::from(vec![0.1, 0.01]))]))
///     .max_processes(2)
///     .dir("output/my-sweep")
///     .run()?;
/// println!("{report}");
/// # Ok::<_, rystematic::Error>(())
/// ```
#[derive(Debug)]
pub struct Sweep {
    experiment: Experiment,
    points: Vec<Values>,
    /// Common command-line options (command-line sweeps).
    args: Vec<String>,
    max_processes: usize,
    gpus_per_run: usize,
    devices: Option<Vec<String>>,
    runs_per_device: usize,
    dir: Option<PathBuf>,
    /// The command that resumes this sweep (command-line sweeps).
    resume_command: Option<String>,
    /// Where a new sweep directory goes, if not in `dir` (default:
    /// `<output_dir>/sweeps`).
    sweeps_dir: Option<PathBuf>,
    resume: bool,
    /// Where the runs execute (default: a local pool of `max_processes`).
    launcher: Option<Box<dyn Launcher>>,
    /// Return once the runs are submitted (batch schedulers only).
    detach: bool,
}

impl std::fmt::Debug for Box<dyn Launcher> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Launcher({})", self.name())
    }
}

impl Sweep {
    /// A sweep of `experiment` over `points` (e.g. from [`param_matrix`]).
    pub fn new<P, I, K, V>(experiment: &Experiment, points: P) -> Sweep
    where
        P: IntoIterator<Item = I>,
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        Sweep {
            experiment: experiment.clone(),
            points: points.into_iter().map(collect_values).collect(),
            args: Vec::new(),
            max_processes: 1,
            gpus_per_run: 0,
            devices: None,
            runs_per_device: 1,
            dir: None,
            sweeps_dir: None,
            resume_command: None,
            resume: false,
            launcher: None,
            detach: false,
        }
    }

    /// Runs the sweep through `launcher` instead of local processes, e.g.
    /// [`SlurmLauncher`] for one SLURM job array. [`Sweep::max_processes`]
    /// still bounds how many runs run at once (the array's `%N` throttle).
    pub fn launcher(mut self, launcher: impl Launcher + 'static) -> Sweep {
        self.launcher = Some(Box::new(launcher));
        self
    }

    /// With a batch-scheduler launcher: return as soon as every run is
    /// submitted, with the runs still pending in the report and
    /// [`SweepReport::detached`] saying how to find them. Follow the sweep
    /// later with [`SlurmLauncher::wait`] (or `--sweep-wait DIR`).
    pub fn detach(mut self, detach: bool) -> Sweep {
        self.detach = detach;
        self
    }

    /// At most `n` runs at once (default 1).
    pub fn max_processes(mut self, n: usize) -> Sweep {
        self.max_processes = n.max(1);
        self
    }

    /// Gives each run `n` device ids, exported to it as
    /// `CUDA_VISIBLE_DEVICES`. The ids come from [`Sweep::devices`], else
    /// from this process's `CUDA_VISIBLE_DEVICES`. A run waits until enough
    /// ids are free.
    pub fn gpus_per_run(mut self, n: usize) -> Sweep {
        self.gpus_per_run = n;
        self
    }

    /// The device ids to hand out.
    pub fn devices<D: Into<String>>(mut self, ids: impl IntoIterator<Item = D>) -> Sweep {
        self.devices = Some(ids.into_iter().map(Into::into).collect());
        self
    }

    /// How many concurrent runs may share one device id (default 1: never).
    pub fn runs_per_device(mut self, n: usize) -> Sweep {
        self.runs_per_device = n;
        self
    }

    /// The sweep directory (manifest, each run's console output). Default:
    /// `<output_dir>/sweeps/<experiment>/<date>_<time>_<suffix>`.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Sweep {
        self.dir = Some(dir.into());
        self
    }

    /// Continue the sweep in [`Sweep::dir`] if it holds this same sweep:
    /// completed runs are skipped; failed, interrupted and missing ones run
    /// again. A run the manifest still calls running (its runner was
    /// killed) is waited for, for a few seconds, while its previous attempt
    /// may be alive, and counts as completed if that attempt completed. A
    /// manifest that cannot be read is an error, never a fresh start.
    pub fn resume(mut self, resume: bool) -> Sweep {
        self.resume = resume;
        self
    }

    pub(crate) fn with_args(mut self, args: Vec<String>) -> Sweep {
        self.args = args;
        self
    }

    /// The command line that resumes this sweep, logged when it is
    /// interrupted.
    pub(crate) fn resume_command(mut self, command: String) -> Sweep {
        self.resume_command = Some(command);
        self
    }

    /// Without [`Sweep::dir`]: create the new sweep's directory under
    /// `sweeps` (`<sweeps>/<experiment>/<date>_<time>_<suffix>`), once the
    /// sweep is known to be valid.
    pub(crate) fn in_new_dir_under(mut self, sweeps: PathBuf) -> Sweep {
        self.sweeps_dir = Some(sweeps);
        self
    }

    /// Runs every parameter set and blocks until all have ended.
    ///
    /// # Errors
    /// Before anything runs: a parameter set with bad values
    /// ([`Error::Usage`]); an experiment the program's entry point cannot
    /// reach, a sweep directory that cannot be created or holds another
    /// sweep ([`Error::Process`]); too many sets, impossible device
    /// requests, a sweep directory another process runs, a damaged manifest
    /// ([`Error::Sweep`]). Nothing is created before the sweep is known to
    /// be valid. Runs that fail are not errors: see [`SweepReport`].
    pub fn run(mut self) -> Result<SweepReport, Error> {
        if self.points.len() > MAX_SWEEP_RUNS {
            return Err(SweepError::TooLarge {
                runs: self.points.len(),
                limit: MAX_SWEEP_RUNS,
            }
            .into());
        }
        let name = self.experiment.name().to_owned();
        let fail = |source| Error::Process {
            experiment: name.clone(),
            source,
        };
        // Without an entry point (a #[test], a main calling run), each run
        // re-enters the program and reaches this call again: serve it here.
        self.experiment.serve_if_child();
        let experiment = match entry::registered() {
            Some(entry) => entry
                .find(&self.experiment.path())
                .map_err(|reason| fail(ProcessError::NotInProgram { reason }))?,
            None => &self.experiment,
        };
        let path = experiment.path();
        if self.args.is_empty() {
            for point in &self.points {
                experiment.resolve(experiment.programmatic_request(point.clone())?)?;
            }
        }
        let launcher: Box<dyn Launcher> = self
            .launcher
            .take()
            .unwrap_or_else(|| Box::new(LocalLauncher::new(self.max_processes)));
        let batch = launcher.capacity().is_none();
        if batch && self.gpus_per_run > 0 {
            return Err(SweepError::DevicesWithScheduler {
                launcher: launcher.name().to_owned(),
            }
            .into());
        }
        if self.detach && !batch {
            return Err(SweepError::Launch(LaunchError::Unsupported {
                launcher: launcher.name().to_owned(),
                what: "detach from its runs".to_owned(),
            })
            .into());
        }
        launcher
            .check(self.points.len())
            .map_err(SweepError::Launch)?;
        let slots = match self.gpus_per_run {
            0 => None,
            n => Some(
                DeviceSlots::new(
                    self.devices.clone().unwrap_or_else(DeviceSlots::from_env),
                    n,
                    self.runs_per_device,
                )
                .map_err(|reason| SweepError::Devices { reason })?,
            ),
        };
        // Only now, with the sweep known to be valid, is anything created.
        let dir = match &self.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| SweepError::CreateDir {
                    path: dir.clone(),
                    source,
                })?;
                // Absolute, so the report and logs name it the same way
                // whatever the working directory.
                std::path::absolute(dir).unwrap_or_else(|_| dir.clone())
            }
            None => {
                let sweeps = match &self.sweeps_dir {
                    Some(sweeps) => sweeps.clone(),
                    None => default_sweeps_dir(experiment),
                };
                crate::rundir::dir::create(&sweeps, experiment.name(), &clock::now()).map_err(
                    |source| SweepError::CreateDir {
                        path: sweeps.clone(),
                        source,
                    },
                )?
            }
        };
        // Held until this function returns: one runner per sweep directory.
        let _lock = SweepLock::acquire(&dir)?;
        let exe = crate::process::current_exe().map_err(|e| fail(ProcessError::Executable(e)))?;
        let manifest = self.manifest(&dir, &path, &exe)?;
        let manifest_counts = Counts::of(&manifest);

        let mut state = SweepState::new(manifest, dir.clone(), slots, manifest_counts);
        state.resume_hint = self.resume_command.clone().unwrap_or_else(|| {
            format!(
                "Sweep::new(..).dir({:?}).resume(true)",
                dir.display().to_string()
            )
        });
        let state = Arc::new(Mutex::new(state));
        {
            let mut guard = state_lock(&state);
            guard.save();
            let total = guard.manifest.runs.len();
            let done = count_done(&guard.manifest);
            tracing::info!(
                target: "rystematic",
                "Sweep of {total} runs ({} to run, at most {} at once, {} launcher); manifest: {}",
                total - done,
                self.max_processes,
                launcher.name(),
                guard.manifest_path().display()
            );
        }
        let launcher = Arc::new(Mutex::new(launcher));
        let (on_signal, on_signal_launcher) = (state.clone(), launcher.clone());
        let _interrupt = signals::on_interrupt(move |signal| {
            interrupt(&on_signal, &on_signal_launcher, signal);
        });
        let queue: VecDeque<usize> = state_lock(&state)
            .manifest
            .runs
            .iter()
            .filter(|r| r.status != SweepStatus::Completed)
            .map(|r| r.index)
            .collect();
        let spec = RunSpec {
            exe: &exe,
            path: &path,
            args: &self.args,
        };
        let detached = drive(
            &state,
            &launcher,
            queue,
            &spec,
            self.max_processes,
            self.detach,
        )?;
        let mut guard = state_lock(&state);
        // The final state as one snapshot: sweep.json alone is complete.
        guard.save_with(true);
        Ok(SweepReport {
            dir,
            runs: guard.manifest.runs.clone(),
            detached,
        })
    }

    /// A new manifest (taking the parameter sets), or the one being resumed.
    fn manifest(
        &mut self,
        dir: &Path,
        path: &ExperimentPath,
        exe: &Path,
    ) -> Result<Manifest, Error> {
        let now = timestamp(&clock::now());
        let file = dir.join(MANIFEST_FILE);
        if self.resume {
            match Manifest::read(dir) {
                Ok(mut existing) => {
                    if !existing.is_same_sweep(path.words(), &self.args, &self.points) {
                        return Err(SweepError::DifferentSweep {
                            dir: dir.to_owned(),
                        }
                        .into());
                    }
                    // The manifest holds every set: do not keep a second copy.
                    self.points = Vec::new();
                    slurm::settle(dir, &mut existing)?;
                    previous::settle(dir, &mut existing, exe, PATIENCE)?;
                    return Ok(resumed(existing, now));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // A damaged manifest is not "no sweep": starting afresh
                // would run every completed run again.
                Err(source) => return Err(SweepError::BadManifest { path: file, source }.into()),
            }
        } else if file.exists() {
            return Err(SweepError::Occupied {
                dir: dir.to_owned(),
            }
            .into());
        }
        Ok(Manifest {
            experiment: path.words().to_vec(),
            args: self.args.clone(),
            created: now.clone(),
            updated: now,
            runs: std::mem::take(&mut self.points)
                .into_iter()
                .enumerate()
                .map(|(index, values)| SweepRun::pending(index, values))
                .collect(),
        })
    }
}

/// `existing`, ready to go on: every run that did not complete (according
/// to both the manifest and its `run.json`) is pending again.
fn resumed(mut existing: Manifest, now: String) -> Manifest {
    for run in &mut existing.runs {
        let completed = run.status == SweepStatus::Completed
            && run
                .run_dir
                .as_deref()
                .and_then(|d| RunInfo::read(d).ok())
                .is_some_and(|info| info.status == RunStatus::Completed);
        if !completed {
            run.status = SweepStatus::Pending;
        }
    }
    existing.updated = now;
    existing
}

/// Reads the manifest of the sweep in `dir`.
pub(crate) fn read_manifest(dir: &Path) -> std::io::Result<Manifest> {
    Manifest::read(dir)
}

/// `<output_dir>/sweeps`, with the experiment's default output directory.
fn default_sweeps_dir(experiment: &Experiment) -> PathBuf {
    let output_dir = experiment
        .programmatic_request(Values::new())
        .ok()
        .and_then(|request| experiment.resolve(request).ok())
        .and_then(|r| {
            r.params
                .get::<PathBuf>(crate::param::names::OUTPUT_DIR)
                .ok()
        })
        .unwrap_or_else(|| PathBuf::from("./output"));
    output_dir.join("sweeps")
}

fn count_done(manifest: &Manifest) -> usize {
    manifest
        .runs
        .iter()
        .filter(|r| r.status == SweepStatus::Completed)
        .count()
}
