//! The sweep manifest, `sweep.json`: every parameter set of a sweep, its
//! run directory and status, rewritten atomically whenever a run starts or
//! ends, so an interrupted sweep can be read — and resumed — from it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::experiment::Values;
use crate::fs::write_atomic;

/// File name of the manifest inside a sweep directory.
pub const MANIFEST_FILE: &str = "sweep.json";

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
    pub(crate) fn read(dir: &Path) -> io::Result<Manifest> {
        let text = std::fs::read(dir.join(MANIFEST_FILE))?;
        serde_json::from_slice(&text).map_err(io::Error::other)
    }

    pub(crate) fn write(&self, dir: &Path) -> io::Result<()> {
        let mut json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        json.push(b'\n');
        write_atomic(&dir.join(MANIFEST_FILE), &json)
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
