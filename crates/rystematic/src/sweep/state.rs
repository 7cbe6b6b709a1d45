//! The state a running sweep shares between its loop and the signal
//! thread: the manifest, device slots and progress, and how runs start,
//! end and get interrupted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::devices::DeviceSlots;
use super::launcher::{Job, JobExit, Launcher};
use super::manifest::{Journal, MANIFEST_FILE, Manifest, SweepStatus};
use super::previous::report_path;
use super::progress::Progress;
use crate::clock;
use crate::process::Interrupt;
use crate::process::child::{GRACE, describe_exit, stop_all};
use crate::process::spec::{self, ChildSpec};
use crate::rundir::info::{RunInfo, RunStatus, timestamp};
use crate::sync::LockUnpoisoned as _;
use crate::value::ExperimentPath;

/// The sweep's shared state: the loop and the signal thread both touch it.
pub(super) struct SweepState {
    pub(super) manifest: Manifest,
    pub(super) dir: PathBuf,
    pub(super) slots: Option<DeviceSlots>,
    pub(super) progress: Progress,
    pub(super) interrupted: bool,
    /// How to resume this sweep, for the line logged when it is interrupted.
    pub(super) resume_hint: String,
    /// Whether the latest manifest write failed (logged once per outage).
    pub(super) manifest_failing: bool,
    /// The manifest's journal, once a snapshot was written.
    pub(super) journal: Option<Journal>,
    /// The size of the latest snapshot: the journal may grow as large
    /// before a new snapshot replaces it.
    pub(super) snapshot_bytes: u64,
    /// Runs changed since the manifest was last saved.
    pub(super) changed: BTreeSet<usize>,
    /// How many runs are in each status, kept as they change (counting
    /// them on every change would cost a pass over the whole sweep).
    pub(super) counts: Counts,
    /// Runs handed to the launcher that have not ended.
    pub(super) in_flight: BTreeSet<usize>,
}

/// Runs per status.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counts {
    running: usize,
    completed: usize,
    failed: usize,
}

impl Counts {
    pub(super) fn of(manifest: &Manifest) -> Counts {
        let mut counts = Counts::default();
        for run in &manifest.runs {
            counts.add(run.status, 1);
        }
        counts
    }

    fn add(&mut self, status: SweepStatus, n: isize) {
        let slot = match status {
            SweepStatus::Running => &mut self.running,
            SweepStatus::Completed => &mut self.completed,
            SweepStatus::Failed => &mut self.failed,
            SweepStatus::Pending | SweepStatus::Interrupted => return,
        };
        *slot = slot.saturating_add_signed(n);
    }
}

/// The journal is never compacted below this size: small sweeps write
/// their snapshot at the start and the end only.
const MIN_JOURNAL_BEFORE_SNAPSHOT: u64 = 1 << 20;

fn completed(manifest: &Manifest) -> usize {
    manifest
        .runs
        .iter()
        .filter(|r| r.status == SweepStatus::Completed)
        .count()
}

pub(super) fn state_lock(state: &Mutex<SweepState>) -> MutexGuard<'_, SweepState> {
    state.lock_unpoisoned()
}

impl SweepState {
    /// The state of a sweep about to run `manifest` in `dir`.
    pub(super) fn new(
        manifest: Manifest,
        dir: PathBuf,
        slots: Option<DeviceSlots>,
        counts: Counts,
    ) -> SweepState {
        SweepState {
            progress: Progress::new(manifest.runs.len(), completed(&manifest)),
            manifest,
            dir,
            slots,
            interrupted: false,
            resume_hint: String::new(),
            manifest_failing: false,
            journal: None,
            snapshot_bytes: 0,
            changed: BTreeSet::new(),
            counts,
            in_flight: BTreeSet::new(),
        }
    }

    /// A submission that was refused: its runs never left; they are pending
    /// as before (their attempt not counted).
    pub(super) fn unsubmit(&mut self, indices: &[usize]) {
        for &index in indices {
            if self.in_flight.remove(&index) {
                self.set_status(index, SweepStatus::Pending);
                let run = &mut self.manifest.runs[index];
                run.attempts = run.attempts.saturating_sub(1);
                run.started = None;
                run.host = None;
            }
        }
    }

    pub(super) fn acquire_devices(&mut self) -> Option<Vec<String>> {
        match &mut self.slots {
            Some(slots) => slots.acquire(),
            None => Some(Vec::new()),
        }
    }

    fn report_path(&self, index: usize) -> PathBuf {
        report_path(&self.dir, index)
    }

    pub(super) fn job(
        &self,
        index: usize,
        exe: &Path,
        path: &ExperimentPath,
        args: &[String],
        devices: &[String],
    ) -> Job {
        let report = self.report_path(index);
        let _ = std::fs::remove_file(&report);
        let mut env = Vec::new();
        if self.slots.is_some() {
            env.push(("CUDA_VISIBLE_DEVICES".to_owned(), devices.join(",")));
        }
        Job {
            index,
            spec: ChildSpec {
                exe: exe.to_owned(),
                experiment: path.clone(),
                args: args.to_vec(),
                values: self.manifest.runs[index].values.clone(),
                report: Some(report),
            },
            env,
            console: self.dir.join(format!("run-{index}.out")),
            spec_dir: self.dir.clone(),
        }
    }

    /// Moves run `index` to `status`, keeping the counts.
    fn set_status(&mut self, index: usize, status: SweepStatus) {
        let run = &mut self.manifest.runs[index];
        self.counts.add(run.status, -1);
        self.counts.add(status, 1);
        run.status = status;
        self.changed.insert(index);
    }

    pub(super) fn start(&mut self, index: usize, devices: Vec<String>) {
        self.set_status(index, SweepStatus::Running);
        self.in_flight.insert(index);
        let run = &mut self.manifest.runs[index];
        run.run_dir = None;
        run.exit_code = None;
        run.signal = None;
        run.started = Some(timestamp(&clock::now()));
        run.ended = None;
        run.duration_s = None;
        run.devices = devices;
        run.attempts += 1;
        run.pid = None;
        run.host = Some(crate::rundir::hostname());
    }

    /// Run `index` was handed to a batch scheduler: queued, not started.
    pub(super) fn queue(&mut self, index: usize) {
        self.start(index, Vec::new());
        self.set_status(index, SweepStatus::Pending);
        let run = &mut self.manifest.runs[index];
        run.started = None;
        run.host = None;
    }

    /// The run's process started (a queued run left the queue).
    pub(super) fn launched(&mut self, index: usize, pid: Option<u32>, host: Option<String>) {
        if !self.in_flight.contains(&index) {
            return;
        }
        if self.manifest.runs[index].status != SweepStatus::Running {
            self.set_status(index, SweepStatus::Running);
            self.manifest.runs[index].started = Some(timestamp(&clock::now()));
        }
        let run = &mut self.manifest.runs[index];
        run.pid = pid.or(run.pid);
        run.host = host.or(run.host.take());
        self.changed.insert(index);
    }

    /// The scheduler requeued the run and it started again: a new attempt
    /// (the previous one recorded itself interrupted in its own run dir).
    pub(super) fn restarted(&mut self, index: usize, pid: Option<u32>, host: Option<String>) {
        if !self.in_flight.contains(&index) {
            return;
        }
        tracing::warn!(
            target: "rystematic",
            "sweep run {index} was requeued by the scheduler and started again"
        );
        let run = &mut self.manifest.runs[index];
        run.attempts += 1;
        run.run_dir = None;
        run.started = None;
        self.set_status(index, SweepStatus::Pending);
        self.launched(index, pid, host);
    }

    pub(super) fn finish(&mut self, exit: JobExit) {
        if !self.in_flight.remove(&exit.index) {
            return;
        }
        let run = &mut self.manifest.runs[exit.index];
        run.exit_code = exit.code;
        run.signal = exit.signal;
        let devices = run.devices.clone();
        if let Some(slots) = &mut self.slots {
            slots.release(&devices);
        }
        let status = match exit.status {
            Some(status) => status,
            None if exit.code == Some(0) => SweepStatus::Completed,
            None => SweepStatus::Failed,
        };
        let how = match &exit.reason {
            Some(reason) => reason.clone(),
            None => describe_exit(exit.code, exit.signal),
        };
        let run_status = match status {
            SweepStatus::Interrupted => RunStatus::Interrupted,
            _ => RunStatus::Failed,
        };
        self.collect_run_dir(exit.index, run_status, &how);
        if status == SweepStatus::Failed {
            tracing::warn!(target: "rystematic", "sweep run {} failed ({how})", exit.index);
        }
        self.end(exit.index, status);
    }

    pub(super) fn end(&mut self, index: usize, status: SweepStatus) {
        let now = clock::now();
        self.set_status(index, status);
        let run = &mut self.manifest.runs[index];
        run.duration_s = run
            .started
            .as_deref()
            .and_then(|s| s.parse::<jiff::Timestamp>().ok())
            .map(|started| now.timestamp().duration_since(started).as_secs_f64());
        run.ended = Some(timestamp(&now));
    }

    /// Records where the run lived. A process that died without ending its
    /// run (SIGKILL, a crash) left `run.json` saying "running": record
    /// `status` there instead, with `why`.
    pub(super) fn collect_run_dir(&mut self, index: usize, status: RunStatus, why: &str) {
        let Some(report) = spec::read_report(&self.report_path(index)) else {
            return;
        };
        if let Ok(mut info) = RunInfo::read(&report.run_dir)
            && info.status == RunStatus::Running
        {
            info.status = status;
            info.error = Some(format!(
                "the run's process ended without finishing it ({why})"
            ));
            info.ended = Some(timestamp(&clock::now()));
            let _ = info.write();
        }
        self.manifest.runs[index].run_dir = Some(report.run_dir);
        self.changed.insert(index);
    }

    /// The manifest file.
    pub(super) fn manifest_path(&self) -> PathBuf {
        self.dir.join(MANIFEST_FILE)
    }

    /// Saves what changed: an append to the journal, or a new snapshot when
    /// the journal has grown as large as the last one (or `snapshot` asks
    /// for one, as the end of a sweep does). A failure is logged (once,
    /// until a write works again) and does not stop the runs: they keep
    /// their own `run.json`. Returns whether the manifest on disk is up to
    /// date.
    pub(super) fn save_with(&mut self, snapshot: bool) -> bool {
        let result = match &mut self.journal {
            Some(journal)
                if !snapshot
                    && journal.bytes < self.snapshot_bytes.max(MIN_JOURNAL_BEFORE_SNAPSHOT) =>
            {
                let runs = &self.manifest.runs;
                journal.append(self.changed.iter().map(|&i| &runs[i]))
            }
            _ => self.write_snapshot(),
        };
        let written = match result {
            Ok(()) => {
                self.changed.clear();
                if std::mem::take(&mut self.manifest_failing) {
                    tracing::info!(
                        target: "rystematic",
                        "the sweep manifest {} is up to date again",
                        self.manifest_path().display()
                    );
                }
                true
            }
            Err(e) => {
                // The next save writes a whole snapshot again.
                self.journal = None;
                if !std::mem::replace(&mut self.manifest_failing, true) {
                    tracing::error!(
                        target: "rystematic",
                        "cannot write the sweep manifest {}: {e}; the runs go on, but the \
                         manifest is out of date until a write succeeds",
                        self.manifest_path().display()
                    );
                }
                false
            }
        };
        let Counts {
            running,
            completed,
            failed,
        } = self.counts;
        self.progress.update(completed + failed, running, failed);
        written
    }

    /// Saves what changed (see [`SweepState::save_with`]).
    pub(super) fn save(&mut self) -> bool {
        self.save_with(false)
    }

    fn write_snapshot(&mut self) -> std::io::Result<()> {
        self.manifest.updated = timestamp(&clock::now());
        self.snapshot_bytes = self.manifest.write(&self.dir)?;
        self.journal = Some(Journal::start(&self.dir)?);
        Ok(())
    }
}

/// Ctrl-C / SIGTERM: cancel every job the launcher has (a local run's
/// process tree, a queued or running array task), mark what was in flight
/// as interrupted (manifest and `run.json`), keep the manifest consistent.
pub(super) fn interrupt(
    state: &Mutex<SweepState>,
    launcher: &Mutex<Box<dyn Launcher>>,
    signal: Interrupt,
) {
    state_lock(state).interrupted = true;
    // Not under the state lock: the sweep's loop may hold the launcher
    // (a poll) and wait for the state.
    {
        let mut launcher = launcher.lock_unpoisoned();
        if let Err(e) = launcher.cancel() {
            tracing::error!(target: "rystematic", "cannot cancel the sweep's jobs: {}", chain(&e));
        }
    }
    stop_all(GRACE);
    let mut guard = state_lock(state);
    let running: Vec<usize> = guard.in_flight.iter().copied().collect();
    for index in running {
        guard.collect_run_dir(index, RunStatus::Interrupted, "interrupted");
        guard.end(index, SweepStatus::Interrupted);
    }
    let saved = guard.save_with(true);
    guard.progress.abandon();
    let unfinished = guard
        .manifest
        .runs
        .iter()
        .filter(|r| r.status != SweepStatus::Completed)
        .count();
    tracing::warn!(
        target: "rystematic",
        "Sweep interrupted by {}: {unfinished} of {} runs unfinished; manifest: {}{}",
        signal.name(),
        guard.manifest.runs.len(),
        guard.manifest_path().display(),
        if saved { "" } else { " (out of date: it could not be written)" }
    );
    tracing::warn!(target: "rystematic", "Resume with: {}", guard.resume_hint);
}

/// An error and its causes, `a: b: c`.
pub(super) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}
