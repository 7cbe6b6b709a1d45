//! A SLURM sweep after its submitter: showing its status, waiting for it
//! (`--sweep-status`, `--sweep-wait`), and settling it before a resume.
//! The tasks' own files say how each run ended; `squeue` says which tasks
//! are still queued or running.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::commands::{self, TaskId, TaskState};
use super::{JobsRecord, SlurmLauncher, outcome};
use crate::error::Error;
use crate::error::SweepError;
use crate::process::signals;
use crate::rundir::info::{RunInfo, RunStatus};
use crate::sweep::drive::{RunSpec, drive};
use crate::sweep::launcher::Launcher;
use crate::sweep::lock::SweepLock;
use crate::sweep::manifest::{MANIFEST_FILE, Manifest, SweepRun, SweepStatus};
use crate::sweep::previous::report_path;
use crate::sweep::report::SweepReport;
use crate::sweep::state::{Counts, SweepState, interrupt, state_lock};
use crate::value::ExperimentPath;

/// The sweep's manifest, or the error naming it.
fn manifest(dir: &Path) -> Result<Manifest, Error> {
    Manifest::read(dir).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            SweepError::NoSweep {
                dir: dir.to_owned(),
                source,
            }
        } else {
            SweepError::BadManifest {
                path: dir.join(MANIFEST_FILE),
                source,
            }
        }
        .into()
    })
}

/// The array record, or the error naming it.
fn record(dir: &Path) -> Result<Option<JobsRecord>, Error> {
    JobsRecord::read(dir).map_err(|source| {
        SweepError::BadManifest {
            path: dir.join(super::SLURM_DIR).join(super::JOBS_FILE),
            source,
        }
        .into()
    })
}

/// The runs whose task SLURM still has queued or running, with the task's
/// array job id.
fn live_runs(
    manifest: &Manifest,
    tasks: &BTreeMap<usize, TaskId>,
    queue: &BTreeMap<TaskId, TaskState>,
) -> BTreeMap<usize, String> {
    manifest
        .runs
        .iter()
        .filter(|r| r.status != SweepStatus::Completed)
        .filter_map(|run| {
            let task = tasks.get(&run.index)?;
            let live = queue.get(task).is_some_and(TaskState::is_live);
            live.then(|| (run.index, task.0.clone()))
        })
        .collect()
}

/// Brings `run` up to date from its task's files, for a task that is no
/// longer queued or running (`state`: SLURM's last word on it, if any).
fn fold_ended(dir: &Path, run: &mut SweepRun, state: Option<&TaskState>, write: bool) {
    if run.status == SweepStatus::Completed || run.attempts == 0 {
        return;
    }
    let run_dir = spec_run_dir(dir, run.index).or_else(|| run.run_dir.clone());
    let exit = outcome(dir, run.index, run_dir.as_deref(), state);
    let status = match exit.status {
        Some(status) => status,
        None if exit.code == Some(0) => SweepStatus::Completed,
        None => SweepStatus::Failed,
    };
    if write
        && status != SweepStatus::Completed
        && let Some(d) = &run_dir
        && let Ok(mut info) = RunInfo::read(d)
        && info.status == RunStatus::Running
    {
        // Its task is gone and could not say so.
        info.status = match status {
            SweepStatus::Interrupted => RunStatus::Interrupted,
            _ => RunStatus::Failed,
        };
        info.error = Some(format!(
            "the run's SLURM task ended without finishing it ({})",
            exit.reason.as_deref().unwrap_or("no reason given")
        ));
        let _ = info.write();
    }
    run.status = status;
    run.exit_code = exit.code;
    run.signal = exit.signal;
    run.run_dir = run_dir;
}

fn spec_run_dir(dir: &Path, index: usize) -> Option<std::path::PathBuf> {
    crate::process::spec::read_report(&report_path(dir, index)).map(|r| r.run_dir)
}

/// Before a resume: a sweep whose array still has tasks queued or running
/// is not resumed (that would run them twice); the runs of ended tasks are
/// brought up to date from their files (a detached sweep's manifest never
/// saw them end). A sweep that never used SLURM is left as it is.
///
/// # Errors
/// [`SweepError::StillQueued`]; `squeue` failing.
pub(crate) fn settle(dir: &Path, manifest: &mut Manifest) -> Result<(), Error> {
    let Some(record) = record(dir)? else {
        return Ok(());
    };
    let queue = commands::tasks(&record.job_ids()).map_err(SweepError::Launch)?;
    let tasks = record.tasks();
    let live = live_runs(manifest, &tasks, &queue);
    if let Some((_, job)) = live.first_key_value() {
        return Err(SweepError::StillQueued {
            dir: dir.to_owned(),
            job: job.clone(),
            tasks: live.len(),
        }
        .into());
    }
    for run in &mut manifest.runs {
        if run.status == SweepStatus::Completed {
            continue;
        }
        let state = tasks.get(&run.index).and_then(|task| queue.get(task));
        fold_ended(dir, run, state, true);
    }
    Ok(())
}

/// The sweep in `dir` as it stands now, without changing anything: runs
/// whose task is queued are pending, running ones running, ended ones as
/// their files say. The second value says what SLURM still has of it
/// (`None` when nothing).
///
/// # Errors
/// No readable manifest; `squeue` failing.
pub fn status(dir: &Path) -> Result<(SweepReport, Option<String>), Error> {
    let mut manifest = manifest(dir)?;
    let Some(record) = record(dir)? else {
        return Ok((report(dir, manifest.runs, None), None));
    };
    let queue = commands::tasks(&record.job_ids()).map_err(SweepError::Launch)?;
    let tasks = record.tasks();
    let (mut queued, mut running) = (0, 0);
    let mut jobs = Vec::new();
    for run in &mut manifest.runs {
        if run.status == SweepStatus::Completed {
            continue;
        }
        let Some(task) = tasks.get(&run.index) else {
            continue;
        };
        let state = queue.get(task);
        match state {
            Some(s) if s.is_live() => {
                if !jobs.contains(&task.0) {
                    jobs.push(task.0.clone());
                }
                if s.state == "PENDING" {
                    queued += 1;
                    run.status = SweepStatus::Pending;
                } else {
                    running += 1;
                    run.status = SweepStatus::Running;
                    run.run_dir = spec_run_dir(dir, run.index).or(run.run_dir.take());
                }
            }
            _ => fold_ended(dir, run, state, false),
        }
    }
    let live = (!jobs.is_empty()).then(|| {
        format!(
            "SLURM job {}: {queued} queued, {running} running",
            jobs.join(", ")
        )
    });
    Ok((report(dir, manifest.runs, live.clone()), live))
}

fn report(dir: &Path, runs: Vec<SweepRun>, detached: Option<String>) -> SweepReport {
    SweepReport {
        dir: dir.to_owned(),
        runs,
        detached,
    }
}

impl SlurmLauncher {
    /// Waits for the SLURM sweep in `dir` (submitted with
    /// [`Sweep::detach`](crate::Sweep::detach), or whose submitter died):
    /// follows its queued and running tasks with a progress bar, records
    /// each end in the manifest, and returns the report once none is left.
    /// Nothing is submitted again (resume the sweep for that). Ctrl-C or
    /// SIGTERM while waiting cancels the tasks, as for the submitter.
    ///
    /// # Errors
    /// No readable manifest; another process runs the sweep; `squeue`
    /// failing.
    pub fn wait(dir: &Path) -> Result<SweepReport, Error> {
        let _lock = SweepLock::acquire(dir)?;
        let mut manifest = manifest(dir)?;
        let record = record(dir)?.unwrap_or_default();
        let queue = commands::tasks(&record.job_ids()).map_err(SweepError::Launch)?;
        let tasks = record.tasks();
        let live = live_runs(&manifest, &tasks, &queue);
        for run in &mut manifest.runs {
            if live.contains_key(&run.index) {
                continue;
            }
            let state = tasks.get(&run.index).and_then(|task| queue.get(task));
            fold_ended(dir, run, state, true);
        }
        let counts = Counts::of(&manifest);
        let experiment = ExperimentPath::from_words(manifest.experiment.clone());
        let mut state = SweepState::new(manifest, dir.to_owned(), None, counts);
        state.resume_hint = format!("--resume-sweep (sweep directory {})", dir.display());
        for index in live.keys() {
            state.in_flight.insert(*index);
        }
        let state = Arc::new(Mutex::new(state));
        state_lock(&state).save_with(true);
        let launcher: Box<dyn Launcher> =
            Box::new(SlurmLauncher::attach(dir, &record, &tasks, &live));
        let launcher = Arc::new(Mutex::new(launcher));
        let (on_signal, on_signal_launcher) = (state.clone(), launcher.clone());
        let _interrupt = signals::on_interrupt(move |signal| {
            interrupt(&on_signal, &on_signal_launcher, signal);
        });
        let spec = RunSpec {
            exe: Path::new(""),
            path: &experiment,
            args: &[],
        };
        drive(&state, &launcher, VecDeque::new(), &spec, 1, false)?;
        let mut guard = state_lock(&state);
        guard.save_with(true);
        Ok(report(dir, guard.manifest.runs.clone(), None))
    }
}
