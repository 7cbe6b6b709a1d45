//! The child protocol: how a parent tells a re-executed copy of itself
//! which experiment to run with which values.
//!
//! The parent writes a [`ChildSpec`] to a file it creates exclusively
//! (`.rystematic-child-<random>.json`, mode 0600) and starts the current
//! executable with [`CHILD_SPEC_ENV`] naming it. The program's entry point
//! checks for the variable before looking at argv.
//!
//! Every process the child starts inherits the variable, so a spec is bound
//! to the one process it was made for: it names the executable and the
//! parent's pid, and only a process of that executable whose parent is that
//! pid honours it (and removes it, before any experiment code runs). Any
//! other process — a rystematic program started by the experiment, a stray
//! variable naming some file — ignores it, runs as a normal program, and
//! deletes nothing.
//!
//! A spec for a batch scheduler's task (a SLURM array task) is bound to the
//! task instead (its parent is the scheduler's daemon, e.g. `slurmstepd`,
//! not the sweep's process): see [`ChildSpec::write_for_task`].

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::fs::{create_exclusive, write_atomic};
use crate::sync::LockUnpoisoned as _;
use crate::value::{ExperimentPath, Value};

/// The environment variable naming a child's spec file.
pub const CHILD_SPEC_ENV: &str = "RYSTEMATIC_CHILD_SPEC";

/// Spec files are named `<SPEC_PREFIX><random><SPEC_SUFFIX>`; a child only
/// ever removes a file named so.
pub(crate) const SPEC_PREFIX: &str = ".rystematic-child-";
pub(crate) const SPEC_SUFFIX: &str = ".json";

/// What a child process is asked to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChildSpec {
    /// The executable the spec is for.
    pub(crate) exe: PathBuf,
    /// Group names from the root, then the experiment's name.
    pub(crate) experiment: ExperimentPath,
    /// Command-line options, parsed as if typed after the experiment's path.
    #[serde(default)]
    pub(crate) args: Vec<String>,
    /// Values on top of the options (they win).
    #[serde(default)]
    pub(crate) values: BTreeMap<String, Value>,
    /// Where to write the run directory once created (sweeps read it).
    #[serde(default)]
    pub(crate) report: Option<PathBuf>,
}

/// A spec as written to its file: bound to the process that starts the
/// child, whose direct child alone honours it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Bound {
    #[serde(flatten)]
    spec: ChildSpec,
    parent_pid: u32,
    /// For a batch scheduler's task: how that task is recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task: Option<TaskBinding>,
}

/// How the process a scheduler starts for one task is recognised: its
/// environment variable `env` is `value` (e.g. `SLURM_ARRAY_TASK_ID=3`) and
/// its parent process is named `parent` (e.g. `slurmstepd`: the batch
/// script `exec`s the program).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TaskBinding {
    pub(crate) env: String,
    pub(crate) value: String,
    pub(crate) parent: String,
}

/// What a child writes to its spec's `report` path once its run directory exists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChildReport {
    pub(crate) run_dir: PathBuf,
    pub(crate) pid: u32,
}

impl ChildSpec {
    /// Writes the spec, bound to this process as the parent, into `dir`
    /// (or the temp dir) under a fresh unpredictable name, readable only by
    /// its owner, and returns its path.
    pub(crate) fn write(&self, dir: Option<&Path>) -> io::Result<PathBuf> {
        let bound = Bound {
            spec: self.clone(),
            parent_pid: std::process::id(),
            task: None,
        };
        let json = serde_json::to_vec(&bound).map_err(io::Error::other)?;
        let dir = dir.map_or_else(std::env::temp_dir, Path::to_owned);
        let (path, mut file) = create_exclusive(&dir, SPEC_PREFIX, SPEC_SUFFIX, 0o600)?;
        if let Err(e) = file.write_all(&json) {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        Ok(path)
    }
}

impl ChildSpec {
    /// Writes the spec for a scheduler's task to `path` (atomically, mode
    /// 0600 through the temp file). The file name must start with
    /// `.rystematic-child-` and end with `.json`.
    ///
    /// Such a spec is honoured only by a process that `task` recognises,
    /// and is kept when taken: a requeued task reads it again.
    pub(crate) fn write_for_task(&self, path: &Path, task: &TaskBinding) -> io::Result<()> {
        let bound = Bound {
            spec: self.clone(),
            parent_pid: 0,
            task: Some(task.clone()),
        };
        write_atomic(path, &serde_json::to_vec(&bound).map_err(io::Error::other)?)
    }
}

/// Whether this process is the task `task` describes.
fn is_task(task: &TaskBinding) -> Result<(), String> {
    let value = std::env::var(&task.env).unwrap_or_default();
    if value != task.value {
        return Err(format!(
            "made for the task with {}={}, and this process has '{value}'",
            task.env, task.value
        ));
    }
    let parent = nix::unistd::getppid().as_raw();
    let comm = std::fs::read_to_string(format!("/proc/{parent}/comm")).unwrap_or_default();
    if comm.trim() != task.parent {
        return Err(format!(
            "made for a task started by {}, and this process's parent ({parent}) is '{}'",
            task.parent,
            comm.trim()
        ));
    }
    Ok(())
}

/// How the spec named by the environment relates to this process.
enum Found {
    /// Made for this process, an array task: kept for a requeue.
    ArrayTask(Bound),
    /// Made for this process.
    Mine(PathBuf, Bound),
    /// Made for this process, but its parent died before we got here.
    Orphaned(PathBuf, Bound),
}

/// Looks at the spec named by [`CHILD_SPEC_ENV`] without acting on it.
/// `None` when there is none or it is not for this process (logged at
/// debug level: inherited variables are normal in processes a run starts).
fn find() -> Option<Found> {
    let path = PathBuf::from(std::env::var_os(CHILD_SPEC_ENV)?);
    let ignore = |why: String| {
        tracing::debug!(
            target: "rystematic",
            "ignoring {CHILD_SPEC_ENV}='{}': {why}",
            path.display()
        );
        None
    };
    let named_as_spec = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(SPEC_PREFIX) && n.ends_with(SPEC_SUFFIX));
    if !named_as_spec {
        return ignore("not a rystematic child spec file name".to_owned());
    }
    // A symlink is never ours (we create specs with O_EXCL): don't follow it.
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return ignore("not a regular file".to_owned()),
        // The usual case in a program started by a child: the child
        // removed its spec before running any experiment code.
        Err(e) => return ignore(e.to_string()),
    }
    let bound: Bound = match std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_slice(&text).map_err(|e| e.to_string()))
    {
        Ok(bound) => bound,
        Err(e) => return ignore(e),
    };
    if !is_current_exe(&bound.spec.exe) {
        return ignore(format!("made for '{}'", bound.spec.exe.display()));
    }
    if let Some(task) = &bound.task {
        return match is_task(task) {
            Ok(()) => Some(Found::ArrayTask(bound)),
            Err(why) => ignore(why),
        };
    }
    let parent = nix::unistd::getppid().as_raw();
    if i64::from(parent) == i64::from(bound.parent_pid) {
        return Some(Found::Mine(path, bound));
    }
    // Not our parent. If the process it names still exists, the spec is
    // another process's (this program was started some other way);
    // if it is gone, we were started by it and it died before we looked.
    if !process_exists(bound.parent_pid) || is_zombie(bound.parent_pid) {
        return Some(Found::Orphaned(path, bound));
    }
    ignore(format!(
        "made for a child of process {}, and this process's parent is {parent}",
        bound.parent_pid
    ))
}

/// Whether this process was started to serve a spec it has not served yet;
/// then the experiment named in it (group path then name).
pub(crate) fn pending() -> Option<ExperimentPath> {
    if TAKEN.get().is_some() {
        return None;
    }
    match find()? {
        Found::Mine(_, bound) | Found::Orphaned(_, bound) | Found::ArrayTask(bound) => {
            Some(bound.spec.experiment)
        }
    }
}

/// Set once this process has acted on its spec.
static TAKEN: OnceLock<()> = OnceLock::new();

/// The spec this process was started with, if it was made for this very
/// process; its file is removed and the process arranged to die with its
/// parent before this returns. Acts once; later calls return `None`.
///
/// `Some(Err(..))` if the parent died before the child could take over:
/// the child must not run.
pub(crate) fn take() -> Option<Result<ChildSpec, String>> {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock_unpoisoned();
    if TAKEN.get().is_some() {
        return None;
    }
    let found = find()?;
    let _ = TAKEN.set(());
    let (path, bound) = match found {
        Found::Mine(path, bound) => (path, bound),
        // slurmstepd is the parent: SLURM ends the task, and a requeued
        // task takes the same spec again.
        Found::ArrayTask(bound) => return Some(Ok(bound.spec)),
        Found::Orphaned(path, bound) => {
            let _ = std::fs::remove_file(&path);
            return Some(Err(super::child::orphaned(bound.parent_pid)));
        }
    };
    let _ = std::fs::remove_file(&path);
    if let Err(reason) = super::child::die_with_parent(bound.parent_pid) {
        return Some(Err(reason));
    }
    Some(Ok(bound.spec))
}

fn is_current_exe(exe: &Path) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    match (std::env::current_exe().ok(), canonical(exe)) {
        (Some(current), Some(exe)) => canonical(&current).as_ref() == Some(&exe),
        _ => false,
    }
}

/// Whether a process with this pid exists (EPERM: it does, and is not ours).
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(errno) => errno == nix::errno::Errno::EPERM,
    }
}

/// Whether `pid` has exited and only waits to be reaped (a parent killed
/// with `kill -9` stays so until its own parent waits for it).
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|end| stat[end + 1..].split_whitespace().next())
            == Some("Z")
    })
}

/// Where this child should report its run directory (set when serving a spec).
static REPORT: OnceLock<PathBuf> = OnceLock::new();

pub(crate) fn set_report_path(path: PathBuf) {
    let _ = REPORT.set(path);
}

/// Tells the parent where this child's run lives, if it asked.
pub(crate) fn report_run_dir(run_dir: &Path) -> io::Result<()> {
    let Some(path) = REPORT.get() else {
        return Ok(());
    };
    let report = ChildReport {
        run_dir: run_dir.to_owned(),
        pid: std::process::id(),
    };
    write_atomic(
        path,
        &serde_json::to_vec(&report).map_err(io::Error::other)?,
    )
}

/// Reads a child's report, if it wrote one.
pub(crate) fn read_report(path: &Path) -> Option<ChildReport> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_unreaped_process_is_a_zombie_and_a_live_one_is_not() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not reaped yet: it exists, as a zombie, once it has exited.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !is_zombie(pid) {
            assert!(
                std::time::Instant::now() < deadline,
                "never became a zombie"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(process_exists(pid));
        child.wait().unwrap();
        assert!(!is_zombie(std::process::id()));
    }
}
