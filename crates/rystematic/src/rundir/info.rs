//! `run.json`: what a run was and how it ended, for people and tools.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::provenance::BuildInfo;
use crate::fs::{Prepared, replace, write_atomic, write_unpublished};

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
    /// When that process started, in clock ticks since boot (field 22 of
    /// `/proc/<pid>/stat`): with [`RunInfo::boot_id`], it tells the process
    /// apart from a later one that got the same pid. `None` in records
    /// written before it was recorded, or where `/proc` is not available.
    #[serde(default)]
    pub pid_start_ticks: Option<u64>,
    /// The kernel's boot id (`/proc/sys/kernel/random/boot_id`) when the
    /// run started: a different one now means the machine rebooted since.
    #[serde(default)]
    pub boot_id: Option<String>,
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
    /// The world of a distributed run (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world: Option<WorldInfo>,
    /// Which attempt at the run this is: 1, then 2, 3, ... each time the
    /// run is resumed in its own directory (`--resume-run`).
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// How many numbers the run's seed stream gave out, once an attempt
    /// ended: a resumed run's stream goes on from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds_drawn: Option<u64>,
    /// SLURM's job, array and node ids, for a run under SLURM (absent
    /// otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm: Option<super::slurm_ids::SlurmInfo>,
}

fn first_attempt() -> u32 {
    1
}

/// The shape of a distributed run, as its master agent saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorldInfo {
    /// Nodes (agents).
    pub nnodes: u32,
    /// Worker processes of each node, by node rank.
    pub nproc_per_node: Vec<u32>,
    /// Workers in all.
    pub world_size: u32,
    /// Each node's host, by node rank.
    pub hosts: Vec<String>,
    /// Where the agents met.
    pub master_addr: String,
    /// The rendezvous port.
    pub master_port: u16,
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
    /// was on this host and the machine rebooted since (another boot id),
    /// or no process with its pid exists any more (it was killed with
    /// SIGKILL), or the process with that pid now started at another time
    /// than the run's (the pid was reused). A run on another host cannot
    /// be checked from here and is never called stale.
    pub fn is_stale(&self) -> bool {
        self.status == RunStatus::Running
            && self.host == crate::rundir::hostname()
            && !self.process_alive()
    }

    /// Whether the process that ran this is, as far as this host can tell,
    /// still the one running with [`RunInfo::pid`]. A record without the
    /// start time or boot id (an older one) is checked by pid alone.
    fn process_alive(&self) -> bool {
        if let (Some(then), Some(now)) = (&self.boot_id, boot_id())
            && *then != now
        {
            return false;
        }
        if !process_exists(self.pid) {
            return false;
        }
        match (self.pid_start_ticks, process_start_ticks(self.pid)) {
            (Some(then), Some(now)) => then == now,
            // A process we may not read (another user's, no /proc) exists:
            // without proof otherwise, it is alive.
            _ => true,
        }
    }

    /// Writes `run.json` into its run directory, atomically and durably.
    pub(crate) fn write(&self) -> io::Result<()> {
        write_atomic(&self.output_dir.join(RUN_INFO_FILE), &self.to_json()?)
    }

    /// [`RunInfo::write`] but for the sync of the run directory, which the
    /// caller does once the other files it writes there are in place.
    pub(crate) fn write_unsynced_name(&self) -> io::Result<()> {
        replace(&self.output_dir.join(RUN_INFO_FILE), &self.to_json()?)
    }

    /// [`RunInfo::write_unsynced_name`] in two steps: written and synced
    /// now, in place once [`Prepared::put_in_place`] is called.
    pub(crate) fn prepare_write(&self) -> io::Result<Prepared> {
        Prepared::write(&self.output_dir.join(RUN_INFO_FILE), &self.to_json()?)
    }

    /// Writes `run.json` into the staging directory that becomes the run
    /// directory (which syncs all its files at once before it appears).
    pub(crate) fn write_staged(&self, staging: &Path) -> io::Result<()> {
        write_unpublished(&staging.join(RUN_INFO_FILE), &self.to_json()?)
    }

    fn to_json(&self) -> io::Result<Vec<u8>> {
        let mut json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        json.push(b'\n');
        Ok(json)
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

/// When process `pid` started, in clock ticks since boot: field 22 of
/// `/proc/<pid>/stat`. `None` if it cannot be read.
pub(crate) fn process_start_ticks(pid: u32) -> Option<u64> {
    parse_start_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn parse_start_ticks(stat: &str) -> Option<u64> {
    // Field 2, the command name in parentheses, may hold spaces and ')':
    // the fields after the last ')' start with field 3.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`), if the kernel has one.
pub(crate) fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(id.trim().to_owned()).filter(|id| !id.is_empty())
}

/// RFC 3339 with microseconds and the local offset.
pub(crate) fn timestamp(time: &jiff::ZonedDateTime) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%S%.6f%:z").to_string()
}

#[cfg(test)]
pub(crate) mod tests {
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
            pid_start_ticks: Some(1234),
            boot_id: Some("b".into()),
            output_dir: dir.path().to_owned(),
            git: Some(GitInfo {
                commit: None,
                dirty: None,
            }),
            rystematic_version: "0.1.0".into(),
            random_seed: 42,
            world: None,
            attempt: 1,
            seeds_drawn: None,
            slurm: None,
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
            host: crate::rundir::hostname(),
            pid: std::process::id(),
            pid_start_ticks: process_start_ticks(std::process::id()),
            boot_id: boot_id(),
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

    /// A running record of this very process, as this process writes it.
    pub(crate) fn this_process() -> RunInfo {
        let dir = std::env::temp_dir();
        RunInfo {
            experiment: "e".into(),
            status: RunStatus::Running,
            started: String::new(),
            ended: None,
            duration_s: None,
            error: None,
            argv: None,
            host: crate::rundir::hostname(),
            pid: std::process::id(),
            pid_start_ticks: process_start_ticks(std::process::id()),
            boot_id: boot_id(),
            output_dir: dir,
            git: None,
            rystematic_version: String::new(),
            random_seed: 0,
            world: None,
            attempt: 1,
            seeds_drawn: None,
            slurm: None,
            executable: None,
            executable_sha256: None,
            experiment_path: None,
            build: None,
            cwd: None,
        }
    }

    #[test]
    fn a_reused_pid_or_a_reboot_makes_a_run_stale() {
        let live = this_process();
        assert!(live.pid_start_ticks.is_some() && live.boot_id.is_some());
        assert!(!live.is_stale());
        // Same pid, started at another time: another process got the pid.
        let reused = RunInfo {
            pid_start_ticks: live.pid_start_ticks.map(|t| t + 1),
            ..live.clone()
        };
        assert!(reused.is_stale());
        // Recorded in another boot: whatever has the pid now is not it.
        let rebooted = RunInfo {
            boot_id: Some("00000000-0000-0000-0000-000000000000".into()),
            ..live.clone()
        };
        assert!(rebooted.is_stale());
    }

    #[test]
    fn an_older_run_json_without_identity_still_parses_and_checks_the_pid() {
        let live = this_process();
        let mut json = serde_json::to_value(&live).unwrap();
        let object = json.as_object_mut().unwrap();
        object.remove("pid_start_ticks");
        object.remove("boot_id");
        let old: RunInfo = serde_json::from_value(json).unwrap();
        assert_eq!((old.pid_start_ticks, old.boot_id.as_deref()), (None, None));
        assert!(!old.is_stale());
        assert!(
            RunInfo {
                pid: i32::MAX as u32,
                ..old
            }
            .is_stale()
        );
    }

    #[test]
    fn start_ticks_parse_past_a_command_name_with_spaces_and_parens() {
        let fields: Vec<String> = (3..=30).map(|n| n.to_string()).collect();
        let stat = format!("42 (my (odd) prog) {}\n", fields.join(" "));
        assert_eq!(parse_start_ticks(&stat), Some(22));
        assert_eq!(parse_start_ticks("42 (truncated) S 1"), None);
        assert!(process_start_ticks(std::process::id()).is_some_and(|t| t > 0));
        assert_eq!(process_start_ticks(i32::MAX as u32), None);
    }
}
