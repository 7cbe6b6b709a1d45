//! `run.json`: what a run was and how it ended, for people and tools.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::provenance::BuildInfo;
use crate::fs::write_atomic;

/// File name of the run metadata inside a run directory.
pub const RUN_INFO_FILE: &str = "run.json";

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Started and not (yet) ended. See [`RunInfo::pid`] and
    /// [`RunInfo::host`] to tell a live run from one whose process died.
    Running,
    /// The main function returned `Ok`.
    Completed,
    /// The main function returned an error or panicked, or setup failed.
    Failed,
    /// Stopped by a signal (Ctrl-C, SIGTERM).
    Interrupted,
}

/// The contents of `run.json`, written atomically when a run starts and
/// again when it ends.
///
/// ```no_run
/// let info = rystematic::RunInfo::read("output/hello-world/2026-11-28_05-15-13_a1b2c3".as_ref())?;
/// println!("{} {:?} seed={}", info.experiment, info.status, info.random_seed);
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunInfo {
    /// The experiment's name.
    pub experiment: String,
    /// Where the run is in its life.
    pub status: RunStatus,
    /// Start time, RFC 3339 with the local offset.
    pub started: String,
    /// End time, once ended.
    pub ended: Option<String>,
    /// Wall time in seconds, once ended.
    pub duration_s: Option<f64>,
    /// The error and its causes (`a: b: c`), if the run failed.
    pub error: Option<String>,
    /// The process's command line (`None` for a programmatic `run`).
    pub argv: Option<Vec<String>>,
    /// The host the run ran on.
    pub host: String,
    /// The process that ran it.
    pub pid: u32,
    /// The run's directory.
    pub output_dir: PathBuf,
    /// The git commit of the working directory, if it is in a repository.
    pub git: Option<GitInfo>,
    /// Version of rystematic that ran it.
    pub rystematic_version: String,
    /// The `random_seed` the run used.
    pub random_seed: i64,
    /// The executable that ran it (`None` if the OS could not tell).
    pub executable: Option<PathBuf>,
    /// SHA-256 of the executable, lowercase hex (`None` until the final
    /// `run.json`, or if it could not be read).
    pub executable_sha256: Option<String>,
    /// Group names from the root, then the experiment's name.
    pub experiment_path: Option<Vec<String>>,
    /// The compiler, target and profile the program was built with.
    pub build: Option<BuildInfo>,
    /// The working directory it ran in (relative paths in its parameters
    /// are relative to it).
    pub cwd: Option<PathBuf>,
}

/// The repository state a run started from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// HEAD's commit hash (`None` in a repository without commits).
    pub commit: Option<String>,
    /// Whether tracked files had uncommitted changes (`None` until known,
    /// or if git could not tell).
    pub dirty: Option<bool>,
}

impl RunInfo {
    /// Reads `run.json` from a run directory.
    pub fn read(run_dir: &Path) -> io::Result<RunInfo> {
        let text = std::fs::read(run_dir.join(RUN_INFO_FILE))?;
        serde_json::from_slice(&text).map_err(io::Error::other)
    }

    /// Whether this says `running` although its process is gone: the run
    /// was on this host and no process with its pid exists any more (it
    /// was killed with SIGKILL, or the machine rebooted). A run on another
    /// host cannot be checked from here and is never called stale.
    pub fn is_stale(&self) -> bool {
        self.status == RunStatus::Running
            && self.host == super::hostname()
            && !process_exists(self.pid)
    }

    /// Writes `run.json` into its run directory, atomically.
    pub(crate) fn write(&self) -> io::Result<()> {
        let mut json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        json.push(b'\n');
        write_atomic(&self.output_dir.join(RUN_INFO_FILE), &json)
    }
}

fn process_exists(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // Signal 0 checks existence; EPERM means it exists but is not ours.
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(errno) => errno == nix::errno::Errno::EPERM,
    }
}

/// RFC 3339 with microseconds and the local offset.
pub(crate) fn timestamp(time: &jiff::ZonedDateTime) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%S%.6f%:z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let info = RunInfo {
            experiment: "e".into(),
            status: RunStatus::Running,
            started: timestamp(&"2026-11-28T05:15:13.5+01:00[Europe/Paris]".parse().unwrap()),
            ended: None,
            duration_s: None,
            error: None,
            argv: Some(vec!["prog".into()]),
            host: "h".into(),
            pid: 7,
            output_dir: dir.path().to_owned(),
            git: Some(GitInfo {
                commit: None,
                dirty: None,
            }),
            rystematic_version: "0.1.0".into(),
            random_seed: 42,
            executable: Some("/bin/prog".into()),
            executable_sha256: None,
            experiment_path: Some(vec!["e".into()]),
            build: Some(BuildInfo::current()),
            cwd: Some("/work".into()),
        };
        assert_eq!(info.started, "2026-11-28T05:15:13.500000+01:00");
        info.write().unwrap();
        let text = std::fs::read_to_string(dir.path().join("run.json")).unwrap();
        assert!(text.contains("\"status\": \"running\""), "{text}");
        assert_eq!(RunInfo::read(dir.path()).unwrap(), info);
        assert!(!info.is_stale(), "another host's run is never stale");
        let mine = RunInfo {
            host: super::super::hostname(),
            pid: std::process::id(),
            ..info
        };
        assert!(!mine.is_stale(), "this process is alive");
        let dead = RunInfo {
            pid: i32::MAX as u32,
            ..mine.clone()
        };
        assert!(dead.is_stale());
        let finished = RunInfo {
            status: RunStatus::Completed,
            ..dead
        };
        assert!(!finished.is_stale());
    }
}
