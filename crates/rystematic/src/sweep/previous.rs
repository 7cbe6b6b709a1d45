//! What an earlier runner left behind: when a sweep's process is killed
//! (SIGKILL, a crash), its manifest still says `running` for the runs it
//! had started. A resume must not start such a run again while its
//! previous attempt may still be alive, and must not run again what that
//! attempt completed after the runner died.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::lock::process_exists;
use super::manifest::{Manifest, SweepRun, SweepStatus};
use crate::clock;
use crate::error::SweepError;
use crate::process::spec;
use crate::rundir::info::{RunInfo, RunStatus, timestamp};

/// Where run `index`'s process reports its run directory.
pub(super) fn report_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!(".run-{index}.report.json"))
}

/// How the previous attempt of a run left `running` stands.
enum Attempt {
    /// Its process may still run.
    Alive {
        pid: u32,
        host: String,
        run_dir: Option<PathBuf>,
    },
    /// It completed (after its runner died): nothing to run again.
    Completed(PathBuf),
    /// It ended without completing, or never started a run.
    Ended(Option<PathBuf>),
}

/// Settles every run `manifest` says is `running`: waits up to `patience`
/// for previous attempts that may be alive to end, then records those that
/// completed as completed and leaves the others to run again.
///
/// # Errors
/// [`SweepError::RunStillAlive`] if an attempt still seems alive after
/// `patience`: starting the run again could run it twice.
pub(super) fn settle(
    dir: &Path,
    manifest: &mut Manifest,
    exe: &Path,
    patience: Duration,
) -> Result<(), SweepError> {
    let deadline = Instant::now() + patience;
    let mut waited = false;
    loop {
        let alive = manifest
            .runs
            .iter()
            .filter(|r| r.status == SweepStatus::Running)
            .find_map(|run| match attempt(dir, run, exe) {
                Attempt::Alive { pid, host, run_dir } => Some((run.index, pid, host, run_dir)),
                _ => None,
            });
        let Some((index, pid, host, run_dir)) = alive else {
            break;
        };
        if Instant::now() >= deadline {
            return Err(SweepError::RunStillAlive {
                dir: dir.to_owned(),
                index,
                run_dir: run_dir.unwrap_or_else(|| dir.to_owned()),
                pid,
                host,
            });
        }
        if !std::mem::replace(&mut waited, true) {
            tracing::warn!(
                target: "rystematic",
                "sweep run {index} of an earlier runner may still be alive (pid {pid} on host \
                 {host}); waiting up to {}s for it to end",
                patience.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for run in manifest
        .runs
        .iter_mut()
        .filter(|r| r.status == SweepStatus::Running)
    {
        match attempt(dir, run, exe) {
            Attempt::Completed(run_dir) => {
                run.status = SweepStatus::Completed;
                run.exit_code = Some(0);
                run.run_dir = Some(run_dir);
            }
            Attempt::Ended(run_dir) => {
                run.status = SweepStatus::Interrupted;
                run.run_dir = run_dir.or(run.run_dir.take());
            }
            // It started after the check above (a process with its pid
            // appeared): refuse rather than risk running it twice.
            Attempt::Alive { pid, host, run_dir } => {
                return Err(SweepError::RunStillAlive {
                    dir: dir.to_owned(),
                    index: run.index,
                    run_dir: run_dir.unwrap_or_else(|| dir.to_owned()),
                    pid,
                    host,
                });
            }
        }
    }
    Ok(())
}

/// Where the previous attempt of `run` stands, from what its process
/// reported and its `run.json`.
fn attempt(dir: &Path, run: &SweepRun, exe: &Path) -> Attempt {
    let report = spec::read_report(&report_path(dir, run.index));
    let run_dir = report
        .as_ref()
        .map(|r| r.run_dir.clone())
        .or_else(|| run.run_dir.clone());
    if let Some(run_dir) = &run_dir
        && let Ok(mut info) = RunInfo::read(run_dir)
    {
        return match info.status {
            RunStatus::Completed => Attempt::Completed(run_dir.clone()),
            RunStatus::Running if !info.is_stale() => Attempt::Alive {
                pid: info.pid,
                host: info.host,
                run_dir: Some(run_dir.clone()),
            },
            RunStatus::Running => {
                // Its process died with the runner and could not say so.
                info.status = RunStatus::Interrupted;
                info.error = Some(
                    "the run's process ended without finishing it (its sweep was killed)"
                        .to_owned(),
                );
                info.ended = Some(timestamp(&clock::now()));
                let _ = info.write();
                Attempt::Ended(Some(run_dir.clone()))
            }
            _ => Attempt::Ended(Some(run_dir.clone())),
        };
    }
    // No run.json (yet): the process itself, if this host can tell.
    let pid = report.map(|r| r.pid).or(run.pid);
    let host = run.host.clone().unwrap_or_default();
    match pid {
        Some(pid) if host == crate::rundir::hostname() && runs_program(pid, exe) => {
            Attempt::Alive { pid, host, run_dir }
        }
        // Another host's process cannot be checked from here.
        Some(pid) if !host.is_empty() && host != crate::rundir::hostname() => {
            Attempt::Alive { pid, host, run_dir }
        }
        _ => Attempt::Ended(run_dir),
    }
}

/// Whether process `pid` exists and runs `exe` (so a reused pid of some
/// other program does not count). If its executable cannot be read (another
/// user's process), it counts.
fn runs_program(pid: u32, exe: &Path) -> bool {
    if !process_exists(pid) {
        return false;
    }
    match std::fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(target) => {
            // A binary replaced since it started reads "<path> (deleted)".
            let target = target.to_string_lossy();
            target.strip_suffix(" (deleted)").unwrap_or(&target) == exe.to_string_lossy()
        }
        Err(_) => true,
    }
}
