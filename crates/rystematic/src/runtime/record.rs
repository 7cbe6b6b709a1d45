//! `run.json` over a run's life: written with the directory, rewritten
//! when a distributed run's world is known and when the run ends, with the
//! provenance that is slow to gather (the git diff, the executable's hash)
//! collected in the background meanwhile.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;

use crate::rundir::info::{self, GitInfo, RunInfo, RunStatus, WorldInfo};
use crate::rundir::{self, git, provenance, slurm_ids};
use crate::sync::LockUnpoisoned as _;
use crate::value::ExperimentPath;

/// How long the final `run.json` waits for the dirty check, and then for
/// `git.diff`.
const GIT_STATUS_WAIT: Duration = Duration::from_secs(2);

/// What the run's start tells `run.json`.
pub(super) struct Identity<'a> {
    pub(super) experiment: &'a str,
    pub(super) path: &'a ExperimentPath,
    pub(super) argv: Option<&'a [String]>,
    pub(super) seed: i64,
    pub(super) started: &'a jiff::ZonedDateTime,
}

/// `run.json` of a main (rank 0) process, the pending `git diff`, the
/// pending hash of the executable and the pending sync of the run
/// directory's name.
pub(super) struct Record {
    info: Mutex<RunInfo>,
    /// Wall time of the run's earlier attempts, in seconds (0 for a run's
    /// first): the final `duration_s` is the run's total.
    earlier_seconds: f64,
    dirty: Mutex<Option<git::PendingDiff>>,
    exe_hash: Mutex<Option<JoinHandle<Option<String>>>>,
    name_synced: Mutex<Option<JoinHandle<std::io::Result<()>>>>,
}

impl Record {
    /// The record of a run starting now; nothing is written yet.
    pub(super) fn new(identity: &Identity<'_>) -> Record {
        let cwd = std::env::current_dir().unwrap_or_default();
        let repo = git::Repo::discover(&cwd);
        let dirty = repo.as_ref().map(git::Repo::start_dirty_check);
        let info = RunInfo {
            experiment: identity.experiment.to_owned(),
            status: RunStatus::Running,
            started: info::timestamp(identity.started),
            ended: None,
            duration_s: None,
            error: None,
            argv: identity.argv.map(<[String]>::to_vec),
            host: rundir::hostname(),
            pid: std::process::id(),
            pid_start_ticks: info::process_start_ticks(std::process::id()),
            boot_id: info::boot_id(),
            output_dir: PathBuf::new(),
            git: repo.map(|repo| GitInfo {
                commit: repo.head_commit(),
                dirty: None,
            }),
            rystematic_version: env!("CARGO_PKG_VERSION").to_owned(),
            random_seed: identity.seed,
            world: None,
            attempt: 1,
            seeds_drawn: None,
            slurm: slurm_ids::SlurmInfo::current(),
            executable: provenance::current_exe(),
            executable_sha256: None,
            experiment_path: Some(identity.path.clone().into()),
            build: Some(provenance::BuildInfo::current()),
            cwd: std::env::current_dir().ok(),
        };
        // Hashed while the experiment runs; the final run.json waits for it.
        let exe_hash = info.executable.clone().map(provenance::spawn_exe_hash);
        Record {
            info: Mutex::new(info),
            earlier_seconds: 0.0,
            dirty: Mutex::new(dirty),
            exe_hash: Mutex::new(exe_hash),
            name_synced: Mutex::new(None),
        }
    }

    /// The record of a stopped run that goes on in its own directory `dir`
    /// (`previous` is its `run.json`): the next attempt, by this process,
    /// with this program's provenance. `run.json` says `running` again
    /// when this returns.
    pub(super) fn resume(
        identity: &Identity<'_>,
        dir: &Path,
        previous: RunInfo,
    ) -> anyhow::Result<Record> {
        let mut record = Record::new(identity);
        record.earlier_seconds = previous.duration_s.unwrap_or(0.0);
        {
            let info = crate::sync::unpoisoned(record.info.get_mut());
            info.output_dir = dir.to_owned();
            info.started = previous.started;
            info.attempt = previous.attempt + 1;
            info.world = previous.world;
            if let Some(pending) = &*crate::sync::unpoisoned(record.dirty.get_mut()) {
                pending.save_into(dir);
            }
            crate::process::spec::report_run_dir(dir)
                .context("cannot report the run directory to the parent process")?;
            info.write()
                .with_context(|| format!("cannot write run.json in '{}'", dir.display()))?;
        }
        Ok(record)
    }

    /// The run directory exists under its name: sync that name and save
    /// the git diff into it, both in the background.
    pub(super) fn published(&self, dir: &Path) {
        if let Some(pending) = &*self.dirty.lock_unpoisoned() {
            pending.save_into(dir);
        }
        self.sync_name_in_background(dir);
    }

    /// Syncs the run directory's name (its parent directory) while the
    /// experiment starts: a disk flush the run need not wait for. The end
    /// of the run waits for it.
    fn sync_name_in_background(&self, dir: &Path) {
        let owned = dir.to_owned();
        let spawned = std::thread::Builder::new()
            .name("rystematic-sync".into())
            .spawn(move || rundir::dir::sync_name(&owned));
        match spawned {
            Ok(handle) => {
                *self.name_synced.lock_unpoisoned() = Some(handle);
            }
            // No thread: sync now.
            Err(_) => {
                if let Err(e) = rundir::dir::sync_name(dir) {
                    tracing::warn!(target: "rystematic", "cannot sync the run directory's name: {e}");
                }
            }
        }
    }

    /// Writes the first `run.json` into `staging`, which becomes `dir`.
    pub(super) fn write_first(&self, staging: &Path, dir: &Path) -> anyhow::Result<()> {
        let mut info = self.info.lock_unpoisoned();
        info.output_dir = dir.to_owned();
        // Report first: once run.json exists, a parent can always find it
        // (and fix it, should this process die before ending the run).
        crate::process::spec::report_run_dir(dir)
            .context("cannot report the run directory to the parent process")?;
        info.write_staged(staging)
            .with_context(|| format!("cannot write run.json in '{}'", dir.display()))
    }

    pub(super) fn end(
        &self,
        status: RunStatus,
        error: Option<String>,
        ended: &jiff::ZonedDateTime,
        duration: f64,
        seeds_drawn: u64,
    ) -> anyhow::Result<()> {
        let mut info = self.info.lock_unpoisoned();
        info.status = status;
        info.error = error;
        info.seeds_drawn = Some(seeds_drawn);
        info.ended = Some(info::timestamp(ended));
        info.duration_s = Some(self.earlier_seconds + duration);
        let hashing = self.exe_hash.lock_unpoisoned().take();
        if let Some(handle) = hashing {
            info.executable_sha256 = handle.join().ok().flatten();
        }
        let pending = self.dirty.lock_unpoisoned().take();
        // run.json and git.diff are written at the same time, their disk
        // flushes overlapping, and one sync of the directory then makes
        // both names durable.
        let written = write_final(&mut info, pending.as_ref(), GIT_STATUS_WAIT)
            .and_then(|()| {
                if let Some(pending) = pending {
                    pending.wait_saved(GIT_STATUS_WAIT);
                }
                crate::fs::sync_dir(&info.output_dir)
            })
            .with_context(|| format!("cannot write run.json in '{}'", info.output_dir.display()));
        // After the final write, whose own flushes then overlap this one.
        let pending = self.name_synced.lock_unpoisoned().take();
        if let Some(Ok(Err(e))) = pending.map(JoinHandle::join) {
            tracing::warn!(target: "rystematic", "cannot sync the run directory's name: {e}");
        }
        written
    }
    /// Records the world of a distributed run and rewrites `run.json`.
    pub(super) fn world(&self, world: WorldInfo) -> anyhow::Result<()> {
        let mut info = self.info.lock_unpoisoned();
        info.world = Some(world);
        info.write()
            .with_context(|| format!("cannot write run.json in '{}'", info.output_dir.display()))
    }
}

/// Writes the final `run.json` with the dirty check's flag (its name is
/// made durable by the caller's sync of the directory). A short run ends
/// before the check does: `run.json` is then written and synced meanwhile
/// with the flag of the repository's last check, and put in place if this
/// check agrees, else written again. The check has `wait` to answer.
fn write_final(
    info: &mut RunInfo,
    pending: Option<&git::PendingDiff>,
    wait: Duration,
) -> std::io::Result<()> {
    let (Some(pending), Some(_)) = (pending, &info.git) else {
        return info.write_unsynced_name();
    };
    let likely = match pending.dirty_now() {
        git::Flag::Known(dirty) => return write_with_flag(info, dirty),
        git::Flag::Pending => return write_with_flag(info, pending.dirty(wait)),
        git::Flag::Likely(likely) => Some(likely),
    };
    set_dirty(info, likely);
    let prepared = info.prepare_write();
    let dirty = pending.dirty(wait);
    match prepared {
        Ok(prepared) if dirty == likely => prepared.put_in_place(),
        // Dropped: its file is removed.
        _ => write_with_flag(info, dirty),
    }
}

fn write_with_flag(info: &mut RunInfo, dirty: Option<bool>) -> std::io::Result<()> {
    set_dirty(info, dirty);
    info.write_unsynced_name()
}

fn set_dirty(info: &mut RunInfo, dirty: Option<bool>) {
    if let Some(git) = info.git.as_mut() {
        git.dirty = dirty;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rundir::info::tests::this_process;

    /// Longer than any stall of a loaded test machine.
    const PATIENT: Duration = Duration::from_secs(600);

    /// A run in a git repository, its directory `dir`.
    fn in_repo(dir: &Path) -> RunInfo {
        RunInfo {
            output_dir: dir.to_owned(),
            git: Some(GitInfo {
                commit: None,
                dirty: None,
            }),
            ..this_process()
        }
    }

    fn written_flag(dir: &Path) -> Option<bool> {
        let names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, [info::RUN_INFO_FILE], "no temporary file left");
        RunInfo::read(dir).unwrap().git.unwrap().dirty
    }

    #[test]
    fn a_check_done_before_the_end_gives_its_flag() {
        let dir = tempfile::tempdir().unwrap();
        let (pending, likely, dirty) = git::PendingDiff::scripted();
        likely.send(false).unwrap();
        dirty.send(Some(true)).unwrap();
        write_final(&mut in_repo(dir.path()), Some(&pending), PATIENT).unwrap();
        assert_eq!(written_flag(dir.path()), Some(true));
    }

    /// `write_final` on another thread, the check answering `answer` once
    /// run.json is written ahead with `likely`.
    fn answered_late(likely: bool, answer: Option<bool>) -> Option<bool> {
        let dir = tempfile::tempdir().unwrap();
        let (pending, likely_tx, dirty) = git::PendingDiff::scripted();
        likely_tx.send(likely).unwrap();
        let mut info = in_repo(dir.path());
        let writer = std::thread::spawn(move || write_final(&mut info, Some(&pending), PATIENT));
        // Written ahead: the temporary file is there before the answer.
        let ahead = || {
            std::fs::read_dir(dir.path()).unwrap().any(|entry| {
                entry
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
        };
        while !ahead() {
            assert!(!writer.is_finished(), "run.json was not written ahead");
            std::thread::yield_now();
        }
        assert!(!dir.path().join(info::RUN_INFO_FILE).exists());
        dirty.send(answer).unwrap();
        writer.join().unwrap().unwrap();
        written_flag(dir.path())
    }

    #[test]
    fn a_late_check_that_agrees_puts_the_early_write_in_place() {
        assert_eq!(answered_late(true, Some(true)), Some(true));
        assert_eq!(answered_late(false, Some(false)), Some(false));
    }

    #[test]
    fn a_late_check_that_disagrees_is_written_again() {
        assert_eq!(answered_late(true, Some(false)), Some(false));
        assert_eq!(answered_late(false, None), None);
    }
}
