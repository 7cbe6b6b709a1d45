//! The sweep manifest: every parameter set of a sweep, its run directory
//! and status, so an interrupted sweep can be read — and resumed — from it.
//!
//! It lives in two files. `sweep.json` is a snapshot of the whole sweep,
//! written atomically; `sweep.journal` holds one JSON line per change since
//! that snapshot (a run started, ended, ...), appended and synced. A change
//! costs one small append however large the sweep, and the snapshot is
//! rewritten only when the journal has grown as large as it (and when the
//! sweep ends), so the cost per run stays flat. Reading applies the journal
//! to the snapshot; a torn last line (a crash mid-append) is ignored.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fs::write_atomic;
use crate::value::Values;

/// File name of the manifest's snapshot inside a sweep directory.
pub const MANIFEST_FILE: &str = "sweep.json";

/// File name of the manifest's journal: the changes since the snapshot.
pub const JOURNAL_FILE: &str = "sweep.journal";

/// Where one parameter set of a sweep is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SweepStatus {
    /// Not started (yet).
    Pending,
    /// Its process runs.
    Running,
    /// Its run completed.
    Completed,
    /// Its run failed, or its process died (see exit code and signal).
    Failed,
    /// The sweep was interrupted while it ran.
    Interrupted,
}

impl fmt::Display for SweepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SweepStatus::Pending => "pending",
            SweepStatus::Running => "running",
            SweepStatus::Completed => "completed",
            SweepStatus::Failed => "failed",
            SweepStatus::Interrupted => "interrupted",
        })
    }
}

/// One parameter set of a sweep and how its (latest) run went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SweepRun {
    /// Position in the sweep.
    pub index: usize,
    /// The values this run was given (on top of the sweep's common options).
    pub values: Values,
    /// Where it is.
    pub status: SweepStatus,
    /// Its run directory, once the run created one.
    pub run_dir: Option<PathBuf>,
    /// The process's exit code, if it exited.
    pub exit_code: Option<i32>,
    /// The signal that killed the process, if one did.
    pub signal: Option<i32>,
    /// When the latest attempt started (RFC 3339).
    pub started: Option<String>,
    /// When it ended.
    pub ended: Option<String>,
    /// How long it took, in seconds.
    pub duration_s: Option<f64>,
    /// Device ids it was given (`CUDA_VISIBLE_DEVICES`).
    pub devices: Vec<String>,
    /// How many times it was started (resumes add attempts).
    pub attempts: u32,
    /// The process of the latest attempt, once started: a resume checks
    /// it before starting the run again.
    #[serde(default)]
    pub pid: Option<u32>,
    /// The host that process ran on.
    #[serde(default)]
    pub host: Option<String>,
}

impl SweepRun {
    pub(crate) fn pending(index: usize, values: Values) -> SweepRun {
        SweepRun {
            index,
            values,
            status: SweepStatus::Pending,
            run_dir: None,
            exit_code: None,
            signal: None,
            started: None,
            ended: None,
            duration_s: None,
            devices: Vec::new(),
            attempts: 0,
            pid: None,
            host: None,
        }
    }
}

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// Group names from the root, then the experiment's name.
    pub(crate) experiment: Vec<String>,
    /// Command-line options common to every run (command-line sweeps).
    pub(crate) args: Vec<String>,
    pub(crate) created: String,
    pub(crate) updated: String,
    pub(crate) runs: Vec<SweepRun>,
}

impl Manifest {
    /// The snapshot with the journal's changes applied.
    pub(crate) fn read(dir: &Path) -> io::Result<Manifest> {
        let text = std::fs::read(dir.join(MANIFEST_FILE))?;
        let mut manifest: Manifest = serde_json::from_slice(&text).map_err(io::Error::other)?;
        let journal = match std::fs::read(dir.join(JOURNAL_FILE)) {
            Ok(journal) => journal,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        // Only whole lines: a crash mid-append leaves a torn last one.
        let whole = journal
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |end| end + 1);
        for line in journal[..whole]
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
        {
            let change: RunState = serde_json::from_slice(line).map_err(io::Error::other)?;
            if let Some(run) = manifest.runs.get_mut(change.index) {
                change.apply(run);
            }
        }
        Ok(manifest)
    }

    /// Writes the snapshot atomically and returns its size in bytes. The
    /// journal must be emptied after it (see [`Journal::start`]).
    pub(crate) fn write(&self, dir: &Path) -> io::Result<u64> {
        let mut json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        json.push(b'\n');
        write_atomic(&dir.join(MANIFEST_FILE), &json)?;
        Ok(json.len() as u64)
    }

    /// Whether `self` describes the same sweep: experiment, common options
    /// and parameter sets, in order.
    pub(crate) fn is_same_sweep(
        &self,
        experiment: &[String],
        args: &[String],
        points: &[Values],
    ) -> bool {
        self.experiment == experiment
            && self.args == args
            && self.runs.len() == points.len()
            && self
                .runs
                .iter()
                .zip(points)
                .all(|(run, values)| &run.values == values)
    }
}

/// A run's entry without its parameter values (which never change): one
/// line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunState {
    index: usize,
    status: SweepStatus,
    run_dir: Option<PathBuf>,
    exit_code: Option<i32>,
    signal: Option<i32>,
    started: Option<String>,
    ended: Option<String>,
    duration_s: Option<f64>,
    devices: Vec<String>,
    attempts: u32,
    pid: Option<u32>,
    host: Option<String>,
}

impl RunState {
    fn of(run: &SweepRun) -> RunState {
        RunState {
            index: run.index,
            status: run.status,
            run_dir: run.run_dir.clone(),
            exit_code: run.exit_code,
            signal: run.signal,
            started: run.started.clone(),
            ended: run.ended.clone(),
            duration_s: run.duration_s,
            devices: run.devices.clone(),
            attempts: run.attempts,
            pid: run.pid,
            host: run.host.clone(),
        }
    }

    fn apply(self, run: &mut SweepRun) {
        run.status = self.status;
        run.run_dir = self.run_dir;
        run.exit_code = self.exit_code;
        run.signal = self.signal;
        run.started = self.started;
        run.ended = self.ended;
        run.duration_s = self.duration_s;
        run.devices = self.devices;
        run.attempts = self.attempts;
        run.pid = self.pid;
        run.host = self.host;
    }
}

/// The manifest's journal, open for appending.
#[derive(Debug)]
pub(crate) struct Journal {
    file: File,
    /// Bytes appended since the snapshot.
    pub(crate) bytes: u64,
}

impl Journal {
    /// An empty journal, right after a snapshot was written: what it held is
    /// in the snapshot now.
    pub(crate) fn start(dir: &Path) -> io::Result<Journal> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(JOURNAL_FILE))?;
        file.set_len(0)?;
        file.sync_data()?;
        Ok(Journal { file, bytes: 0 })
    }

    /// Appends the current state of `runs` in one write, and syncs it.
    pub(crate) fn append<'a>(
        &mut self,
        runs: impl IntoIterator<Item = &'a SweepRun>,
    ) -> io::Result<()> {
        let mut lines = Vec::new();
        for run in runs {
            serde_json::to_writer(&mut lines, &RunState::of(run)).map_err(io::Error::other)?;
            lines.push(b'\n');
        }
        if lines.is_empty() {
            return Ok(());
        }
        self.file.write_all(&lines)?;
        self.file.sync_data()?;
        self.bytes += lines.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(n: usize) -> Manifest {
        Manifest {
            experiment: vec!["prog".into(), "work".into()],
            args: Vec::new(),
            created: "t".into(),
            updated: "t".into(),
            runs: (0..n)
                .map(|i| SweepRun::pending(i, Values::new()))
                .collect(),
        }
    }

    #[test]
    fn reading_applies_the_journal_to_the_snapshot_and_skips_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = manifest(3);
        m.write(dir.path()).unwrap();
        let mut journal = Journal::start(dir.path()).unwrap();
        m.runs[1].status = SweepStatus::Running;
        m.runs[1].attempts = 1;
        journal.append([&m.runs[1]]).unwrap();
        m.runs[1].status = SweepStatus::Completed;
        m.runs[1].run_dir = Some("out/run".into());
        m.runs[2].status = SweepStatus::Failed;
        journal.append([&m.runs[1], &m.runs[2]]).unwrap();
        // A crash in the middle of the next append.
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.path().join(JOURNAL_FILE))
            .unwrap();
        file.write_all(br#"{"index":0,"status":"compl"#).unwrap();

        let read = Manifest::read(dir.path()).unwrap();
        let statuses: Vec<SweepStatus> = read.runs.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [
                SweepStatus::Pending,
                SweepStatus::Completed,
                SweepStatus::Failed
            ]
        );
        assert_eq!(read.runs[1].run_dir.as_deref(), Some(Path::new("out/run")));
        assert_eq!(read.runs[1].attempts, 1);

        // A new snapshot empties the journal.
        let m = read;
        m.write(dir.path()).unwrap();
        let journal = Journal::start(dir.path()).unwrap();
        assert_eq!(journal.bytes, 0);
        assert_eq!(
            std::fs::metadata(dir.path().join(JOURNAL_FILE))
                .unwrap()
                .len(),
            0
        );
        assert_eq!(
            Manifest::read(dir.path()).unwrap().runs[2].status,
            SweepStatus::Failed
        );
    }
}
