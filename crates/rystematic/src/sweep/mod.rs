//! Parameter sweeps: run one experiment over many parameter sets, each in
//! its own process, at most N at once.
//!
//! A sweep never lets one failure stop the others, records every set in a
//! manifest (`sweep.json`) as runs start and end, and can be resumed: the
//! sets that completed are skipped, the rest run again. On Ctrl-C or
//! SIGTERM it stops every run's process tree, marks the unfinished runs
//! `interrupted` (in their `run.json` and the manifest) and exits 130/143.

mod devices;
mod launcher;
mod manifest;
mod progress;
mod report;
mod state;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use manifest::{MANIFEST_FILE, SweepRun, SweepStatus};
pub use report::SweepReport;

use devices::DeviceSlots;
use launcher::{Launcher, LocalLauncher};
pub(crate) use manifest::Manifest;
use progress::Progress;
use state::{State, interrupt, state_lock};

use crate::error::Error;
use crate::experiment::{Experiment, Values, collect_values};
use crate::process::entry::{self, full_path};
use crate::process::signals;
use crate::standard::clock;
use crate::standard::run_info::{RunInfo, RunStatus, timestamp};
use crate::value::Value;

/// The cartesian product of value lists, in row-major order of the names
/// as given (the last name varies fastest). A scalar is a constant; to
/// hold a list constant, wrap it in a one-element list.
///
/// ```
/// use rystematic::{param_matrix, Value};
///
/// let sets = param_matrix([
///     ("int_param", Value::from(vec![1, 2])),
///     ("str_param", Value::from(vec!["hello", "world"])),
///     ("fixed", Value::from(0.5)),
/// ]);
/// let pairs: Vec<String> = sets
///     .iter()
///     .map(|s| format!("{}-{}", s["int_param"], s["str_param"]))
///     .collect();
/// assert_eq!(pairs, ["1-hello", "1-world", "2-hello", "2-world"]);
/// assert!(sets.iter().all(|s| s["fixed"] == Value::Float(0.5)));
/// ```
pub fn param_matrix<I, K, V>(params: I) -> Vec<Values>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<Value>,
{
    let axes: Vec<(String, Vec<Value>)> = params
        .into_iter()
        .map(|(name, value)| {
            let values = match value.into() {
                Value::List(items) => items,
                scalar => vec![scalar],
            };
            (name.into(), values)
        })
        .collect();
    let mut sets = vec![Values::new()];
    for (name, values) in &axes {
        sets = sets
            .into_iter()
            .flat_map(|set| {
                values.iter().map(move |value| {
                    let mut set = set.clone();
                    set.insert(name.clone(), value.clone());
                    set
                })
            })
            .collect();
    }
    sets
}

/// A parameter sweep, configured and ready to [`run`](Sweep::run).
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
    resume: bool,
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
            resume: false,
        }
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
    /// again.
    pub fn resume(mut self, resume: bool) -> Sweep {
        self.resume = resume;
        self
    }

    pub(crate) fn with_args(mut self, args: Vec<String>) -> Sweep {
        self.args = args;
        self
    }

    /// Runs every parameter set and blocks until all have ended.
    ///
    /// # Errors
    /// Before anything runs: a parameter set with bad values
    /// ([`Error::Usage`]), an experiment the program's entry point cannot
    /// reach, impossible device requests, a sweep directory that cannot be
    /// created or holds another sweep ([`Error::Process`]). Runs that fail
    /// are not errors: see [`SweepReport`].
    pub fn run(self) -> Result<SweepReport, Error> {
        let fail = |reason: String| Error::Process {
            experiment: self.experiment.name().to_owned(),
            reason,
        };
        // Without an entry point (a #[test], a main calling run), each run
        // re-enters the program and reaches this call again: serve it here.
        self.experiment.serve_if_child();
        let experiment = match entry::registered() {
            Some(entry) => entry.find(&full_path(&self.experiment)).map_err(fail)?,
            None => &self.experiment,
        };
        let path = full_path(experiment);
        if self.args.is_empty() {
            for point in &self.points {
                experiment.resolve(experiment.programmatic_request(point.clone())?)?;
            }
        }
        let slots = match self.gpus_per_run {
            0 => None,
            n => Some(
                DeviceSlots::new(
                    self.devices.clone().unwrap_or_else(DeviceSlots::from_env),
                    n,
                    self.runs_per_device,
                )
                .map_err(fail)?,
            ),
        };
        let dir = match &self.dir {
            Some(dir) => dir.clone(),
            None => default_dir(experiment).map_err(|e| fail(e.to_string()))?,
        };
        std::fs::create_dir_all(&dir).map_err(|e| {
            fail(format!(
                "cannot create sweep directory '{}': {e}",
                dir.display()
            ))
        })?;
        let manifest = self.manifest(&dir, &path).map_err(fail)?;
        let exe = crate::process::current_exe().map_err(|e| fail(e.to_string()))?;

        let state = Arc::new(Mutex::new(State {
            progress: Progress::new(manifest.runs.len(), count_done(&manifest)),
            manifest,
            dir: dir.clone(),
            slots,
            interrupted: false,
        }));
        state_lock(&state).save();
        let on_signal = state.clone();
        let _interrupt = signals::on_interrupt(move |_| interrupt(&on_signal));

        let mut launcher = LocalLauncher::new(self.max_processes);
        let mut queue: VecDeque<usize> = state_lock(&state)
            .manifest
            .runs
            .iter()
            .filter(|r| r.status != SweepStatus::Completed)
            .map(|r| r.index)
            .collect();
        loop {
            while launcher.running() < launcher.capacity() {
                let Some(&index) = queue.front() else { break };
                let mut guard = state_lock(&state);
                if guard.interrupted {
                    break;
                }
                let Some(devices) = guard.acquire_devices() else {
                    break;
                };
                queue.pop_front();
                let job = guard.job(index, &exe, &path, &self.args, &devices);
                guard.start(index, devices);
                if let Err(e) = launcher.launch(job) {
                    guard.finish_unstarted(index, &e.to_string());
                }
                guard.save();
            }
            let Some(exit) = launcher.wait_any() else {
                break;
            };
            let mut guard = state_lock(&state);
            if guard.interrupted {
                // The signal thread owns the ending now.
                drop(guard);
                loop {
                    std::thread::park();
                }
            }
            guard.finish(exit);
            guard.save();
        }
        let guard = state_lock(&state);
        Ok(SweepReport {
            dir,
            runs: guard.manifest.runs.clone(),
        })
    }

    /// A new manifest, or the one being resumed.
    fn manifest(&self, dir: &Path, path: &[String]) -> Result<Manifest, String> {
        let now = timestamp(&clock::now());
        if self.resume
            && let Ok(mut existing) = Manifest::read(dir)
        {
            if !existing.is_same_sweep(path, &self.args, &self.points) {
                return Err(format!(
                    "'{}' holds a different sweep; cannot resume it with these parameter sets",
                    dir.display()
                ));
            }
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
            return Ok(existing);
        }
        if dir.join(MANIFEST_FILE).exists() && !self.resume {
            return Err(format!(
                "'{}' already holds a sweep; resume it or choose another directory",
                dir.display()
            ));
        }
        Ok(Manifest {
            experiment: path.to_vec(),
            args: self.args.clone(),
            created: now.clone(),
            updated: now,
            runs: self
                .points
                .iter()
                .enumerate()
                .map(|(index, values)| SweepRun::pending(index, values.clone()))
                .collect(),
        })
    }
}

/// Reads the manifest of the sweep in `dir`.
pub(crate) fn read_manifest(dir: &Path) -> std::io::Result<Manifest> {
    Manifest::read(dir)
}

/// `<output_dir>/sweeps/<experiment>/<date>_<time>_<suffix>`, with the
/// experiment's default output directory.
fn default_dir(experiment: &Experiment) -> std::io::Result<PathBuf> {
    let output_dir = experiment
        .resolve(
            experiment
                .programmatic_request(Values::new())
                .map_err(std::io::Error::other)?,
        )
        .ok()
        .and_then(|r| {
            r.params
                .get::<PathBuf>(crate::standard::names::OUTPUT_DIR)
                .ok()
        })
        .unwrap_or_else(|| PathBuf::from("./output"));
    crate::standard::run_dir::create(&output_dir.join("sweeps"), experiment.name(), &clock::now())
}

fn count_done(manifest: &Manifest) -> usize {
    manifest
        .runs
        .iter()
        .filter(|r| r.status == SweepStatus::Completed)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_matrix_is_row_major_with_constants() {
        let sets = param_matrix([
            ("a", Value::from(vec![1, 2, 3])),
            ("b", Value::from(vec!["x", "y"])),
            ("c", Value::Null),
        ]);
        assert_eq!(sets.len(), 6);
        let order: Vec<String> = sets
            .iter()
            .map(|s| format!("{}{}", s["a"], s["b"]))
            .collect();
        assert_eq!(order, ["1x", "1y", "2x", "2y", "3x", "3y"]);
        assert!(sets.iter().all(|s| s["c"] == Value::Null));
        assert!(param_matrix([("a", Value::List(vec![]))]).is_empty());
        assert_eq!(
            param_matrix(Vec::<(String, Value)>::new()),
            vec![Values::new()]
        );
    }
}
