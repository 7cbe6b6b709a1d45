//! Finding and reading the run directories of an output directory: the run
//! directories are the database.
//!
//! Layout: `<output>/<experiment>/<run id>/run.json` for runs and
//! `<output>/sweeps/<experiment>/<stamp>/sweep.json` for sweeps. Anything
//! else in there is reported as [`Entry::Damaged`] with the reason, never
//! skipped silently and never a panic.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rystematic::files::{MANIFEST_FILE, PARAMETERS_FILE, RUN_INFO_FILE};
use rystematic::{RunInfo, RunStatus, SweepRun, SweepStatus};
use serde::Deserialize;

use crate::error::RunsError;
use crate::params::read_params_of;
use crate::read::with_file;
use crate::scalars::{self, Point, SCALARS_FILE};

/// A run's status as `ls` shows it: `run.json`'s, or `dead` for a
/// `running` run whose process is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Ended well.
    Completed,
    /// Ended with an error.
    Failed,
    /// Stopped by a signal.
    Interrupted,
    /// Its process still runs (or runs on another host).
    Running,
    /// Says `running`, but its process is gone (SIGKILL, reboot).
    Dead,
}

impl Status {
    /// All statuses, for parsing and help.
    pub const ALL: [Status; 5] = [
        Status::Completed,
        Status::Failed,
        Status::Interrupted,
        Status::Running,
        Status::Dead,
    ];

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
            Status::Running => "running",
            Status::Dead => "dead",
        }
    }

    /// The status of a run as recorded, checking whether a `running` one
    /// is still alive.
    pub fn of(info: &RunInfo) -> Status {
        match info.status {
            RunStatus::Completed => Status::Completed,
            RunStatus::Failed => Status::Failed,
            RunStatus::Interrupted => Status::Interrupted,
            RunStatus::Running if info.is_stale() => Status::Dead,
            RunStatus::Running => Status::Running,
        }
    }
}

/// One run directory that could be read.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// The directory's name, which is the run id.
    pub id: String,
    /// The run directory.
    pub dir: PathBuf,
    /// `run.json`.
    pub info: RunInfo,
    /// Its status, `dead` included.
    pub status: Status,
    /// `parameters.yaml` (empty when missing or unreadable; see
    /// [`RunRecord::params_error`]).
    pub params: BTreeMap<String, serde_json::Value>,
    /// Why `parameters.yaml` could not be read, if it could not.
    pub params_error: Option<String>,
    /// The last value of each tag in `scalars.csv`.
    pub metrics: BTreeMap<String, Point>,
}

/// A sweep directory and how far it got.
#[derive(Debug, Clone)]
pub struct SweepRecord {
    /// The directory's name (its time stamp).
    pub id: String,
    /// The sweep directory.
    pub dir: PathBuf,
    /// The experiment's path (groups, then its name).
    pub experiment: Vec<String>,
    /// When it was created.
    pub created: String,
    /// How many parameter sets are in each state.
    pub counts: BTreeMap<&'static str, usize>,
    /// How many parameter sets it has.
    pub total: usize,
}

impl SweepRecord {
    /// `done/total` and the counts per state, e.g. `3/4 (3 completed, 1 running)`.
    pub fn progress(&self) -> String {
        let done: usize = ["completed", "failed", "interrupted"]
            .iter()
            .filter_map(|s| self.counts.get(s))
            .sum();
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|(state, n)| format!("{n} {state}"))
            .collect();
        format!("{done}/{} ({})", self.total, parts.join(", "))
    }
}

/// Anything found in an output directory.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A run directory with a readable `run.json`.
    Run(Box<RunRecord>),
    /// A sweep directory with a readable `sweep.json`.
    Sweep(SweepRecord),
    /// Something that is not a readable run or sweep, and why.
    Damaged {
        /// The path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// What [`scan`] found, sorted by path.
#[derive(Debug, Default)]
pub struct Scan {
    /// Readable runs.
    pub runs: Vec<RunRecord>,
    /// Readable sweeps.
    pub sweeps: Vec<SweepRecord>,
    /// Damaged or foreign entries, with the reason.
    pub damaged: Vec<(PathBuf, String)>,
}

/// How much of each run to read.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Read `parameters.yaml`.
    pub params: bool,
    /// Read the last values in `scalars.csv`.
    pub metrics: bool,
    /// Read a run's files when they are symlinks. The dashboard does not:
    /// it serves only what lies under its output directory.
    pub follow_symlinks: bool,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            params: true,
            metrics: true,
            follow_symlinks: true,
        }
    }
}

/// Reads every run and sweep under `output`. Only a missing or unreadable
/// `output` itself is an error; everything below it goes into the result.
pub fn scan(output: &Path, options: ReadOptions) -> Result<Scan, RunsError> {
    // First the directory walk (cheap), then the reading of each run, which
    // dominates, spread over the cores.
    enum Job {
        Entry(PathBuf),
        Sweep(PathBuf),
        Damaged(PathBuf, String),
    }
    let mut jobs = Vec::new();
    for (top, is_dir) in sorted_entries(output).map_err(RunsError::io(output))? {
        if is_hidden(&top) {
            continue;
        }
        if !is_dir {
            jobs.push(Job::Damaged(
                top,
                "not a directory: not an experiment's folder".into(),
            ));
            continue;
        }
        let children = match sorted_entries(&top) {
            Ok(children) => children,
            Err(e) => {
                jobs.push(Job::Damaged(top, format!("cannot read: {e}")));
                continue;
            }
        };
        let is_sweeps = top.file_name().is_some_and(|n| n == "sweeps");
        let mut found = false;
        for (child, _) in children.into_iter().filter(|(c, d)| *d && !is_hidden(c)) {
            found = true;
            if is_sweeps && !child.join(RUN_INFO_FILE).exists() {
                // `sweeps/<experiment>/<stamp>/sweep.json`
                match sorted_entries(&child) {
                    Ok(stamps) => jobs.extend(
                        stamps
                            .into_iter()
                            .filter(|(s, d)| *d && !is_hidden(s))
                            .map(|(s, _)| Job::Sweep(s)),
                    ),
                    Err(e) => jobs.push(Job::Damaged(child, format!("cannot read: {e}"))),
                }
            } else {
                jobs.push(Job::Entry(child));
            }
        }
        if !found {
            jobs.push(Job::Damaged(
                top,
                "no run directories in it: not an experiment's folder".into(),
            ));
        }
    }

    let read = |job: &Job| match job {
        Job::Entry(dir) => read_entry(dir, options),
        Job::Sweep(dir) => read_sweep(dir),
        Job::Damaged(path, reason) => Entry::Damaged {
            path: path.clone(),
            reason: reason.clone(),
        },
    };
    let entries = par_map(&jobs, read);
    let mut scan = Scan::default();
    for entry in entries {
        push(&mut scan, entry);
    }
    Ok(scan)
}

/// `f` applied to every item, in order, spread over the cores (reading run
/// directories is mostly waiting on small files).
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let per_thread = items.len().div_ceil(threads).max(256);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || chunk.iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            // A reader that panicked is a bug; losing its chunk silently
            // would be worse than showing the panic.
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

fn push(scan: &mut Scan, entry: Entry) {
    match entry {
        Entry::Run(run) => scan.runs.push(*run),
        Entry::Sweep(sweep) => scan.sweeps.push(sweep),
        Entry::Damaged { path, reason } => scan.damaged.push((path, reason)),
    }
}

/// Reads one run (or sweep) directory.
pub fn read_entry(dir: &Path, options: ReadOptions) -> Entry {
    let damaged = |reason: String| Entry::Damaged {
        path: dir.to_owned(),
        reason,
    };
    let info_path = dir.join(RUN_INFO_FILE);
    let follow = options.follow_symlinks;
    let parsed = with_file(&info_path, follow, |bytes| {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err("run.json is empty".to_owned());
        }
        serde_json::from_slice::<RunInfo>(bytes).map_err(|e| {
            if e.is_eof() {
                format!("run.json is cut short: {e}")
            } else {
                format!("run.json is corrupt: {e}")
            }
        })
    });
    let info = match parsed {
        Ok(Ok(info)) => info,
        Ok(Err(reason)) => return damaged(reason),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if dir.join(MANIFEST_FILE).exists() {
                return read_sweep(dir);
            }
            return damaged(if dir.join(PARAMETERS_FILE).exists() {
                "no run.json (the run stopped before recording itself)".into()
            } else {
                "no run.json: not a run directory".into()
            });
        }
        Err(e) => return damaged(format!("cannot read run.json: {e}")),
    };
    let (params, params_error) = if options.params {
        match read_params_of(dir, follow) {
            Ok(params) => (params, None),
            Err(reason) => (BTreeMap::new(), Some(reason)),
        }
    } else {
        (BTreeMap::new(), None)
    };
    let metrics = if options.metrics {
        scalars::last_values_of(&dir.join(SCALARS_FILE), follow).unwrap_or_default()
    } else {
        BTreeMap::new()
    };
    Entry::Run(Box::new(RunRecord {
        id: file_name(dir),
        dir: dir.to_owned(),
        status: Status::of(&info),
        info,
        params,
        params_error,
        metrics,
    }))
}

/// The parts of `sweep.json` the listing needs.
#[derive(Deserialize)]
struct Manifest {
    experiment: Vec<String>,
    created: String,
    runs: Vec<SweepRun>,
}

fn read_sweep(dir: &Path) -> Entry {
    let damaged = |reason: String| Entry::Damaged {
        path: dir.to_owned(),
        reason,
    };
    let bytes = match fs::read(dir.join(MANIFEST_FILE)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return damaged("no sweep.json: not a sweep directory".into());
        }
        Err(e) => return damaged(format!("cannot read sweep.json: {e}")),
    };
    let manifest: Manifest = match serde_json::from_slice(&bytes) {
        Ok(manifest) => manifest,
        Err(e) => return damaged(format!("sweep.json is corrupt: {e}")),
    };
    // The snapshot's statuses with the journal's changes since applied (a
    // running sweep appends to its journal and rewrites the snapshot
    // rarely).
    let runs = rystematic::SweepReport::read(dir).map_or(manifest.runs, |report| report.runs);
    let mut counts = BTreeMap::new();
    for run in &runs {
        let state = match run.status {
            SweepStatus::Pending => "pending",
            SweepStatus::Running => "running",
            SweepStatus::Completed => "completed",
            SweepStatus::Failed => "failed",
            SweepStatus::Interrupted => "interrupted",
        };
        *counts.entry(state).or_insert(0) += 1;
    }
    Entry::Sweep(SweepRecord {
        id: file_name(dir),
        dir: dir.to_owned(),
        experiment: manifest.experiment,
        created: manifest.created,
        counts,
        total: runs.len(),
    })
}

/// Finds a run: `run` is a directory path, or a unique prefix of a run id
/// among the runs under `output`.
pub fn find_run(output: &Path, run: &str) -> Result<PathBuf, RunsError> {
    let as_path = Path::new(run);
    if as_path.join(RUN_INFO_FILE).exists() || (as_path.is_dir() && run.contains('/')) {
        return Ok(as_path.to_owned());
    }
    let mut matches = Vec::new();
    for (top, is_dir) in sorted_entries(output).map_err(RunsError::io(output))? {
        if !is_dir || is_hidden(&top) {
            continue;
        }
        for (child, is_dir) in sorted_entries(&top).unwrap_or_default() {
            if is_dir && file_name(&child).starts_with(run) {
                matches.push(child);
            }
        }
    }
    match matches.len() {
        0 => Err(RunsError::NoSuchRun {
            run: run.to_owned(),
            dir: output.to_owned(),
        }),
        1 => Ok(matches.remove(0)),
        _ => Err(RunsError::AmbiguousRun {
            run: run.to_owned(),
            candidates: matches.iter().take(5).map(|p| file_name(p)).collect(),
        }),
    }
}

/// Reads the run at `dir`, failing if it is damaged.
pub fn read_run(dir: &Path) -> Result<RunRecord, RunsError> {
    match read_entry(dir, ReadOptions::default()) {
        Entry::Run(run) => Ok(*run),
        Entry::Sweep(_) => Err(RunsError::Damaged {
            dir: dir.to_owned(),
            reason: "it is a sweep directory, not a run".into(),
        }),
        Entry::Damaged { path, reason } => Err(RunsError::Damaged { dir: path, reason }),
    }
}

/// The entries of `dir`, sorted, each with whether it is a directory
/// (from the directory listing: no `stat` per entry, except for symlinks).
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<(PathBuf, bool)>> {
    let mut paths = fs::read_dir(dir)?
        .map(|entry| {
            let entry = entry?;
            let is_dir = match entry.file_type()? {
                t if t.is_symlink() => entry.path().is_dir(),
                t => t.is_dir(),
            };
            Ok((entry.path(), is_dir))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    paths.sort();
    Ok(paths)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
