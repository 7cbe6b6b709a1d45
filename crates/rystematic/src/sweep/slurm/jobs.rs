//! `<sweep>/slurm/jobs.json`: the job arrays submitted for a sweep, so a
//! later command can follow, resume or cancel them.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{JOBS_FILE, SLURM_DIR};
use crate::fs::write_atomic;

/// The arrays submitted for one sweep (`<sweep>/slurm/jobs.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct JobsRecord {
    /// Every submission, oldest first.
    pub(crate) arrays: Vec<ArrayRecord>,
}

/// One `sbatch` of a sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ArrayRecord {
    /// The array's job id.
    pub(crate) job_id: String,
    /// The run indices (= task ids) it holds.
    pub(crate) tasks: Vec<usize>,
    /// When it was submitted.
    pub(crate) submitted: String,
}

impl JobsRecord {
    /// The record of the sweep in `dir`; `None` if it never used SLURM.
    pub(crate) fn read(dir: &Path) -> std::io::Result<Option<JobsRecord>> {
        match std::fs::read(dir.join(SLURM_DIR).join(JOBS_FILE)) {
            Ok(text) => serde_json::from_slice(&text)
                .map(Some)
                .map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) fn write(&self, dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        write_atomic(&dir.join(SLURM_DIR).join(JOBS_FILE), &json)
    }

    pub(crate) fn job_ids(&self) -> Vec<String> {
        self.arrays.iter().map(|a| a.job_id.clone()).collect()
    }

    /// The array that ran task `index` last.
    pub(crate) fn job_of(&self, index: usize) -> Option<&str> {
        self.arrays
            .iter()
            .rev()
            .find(|a| a.tasks.contains(&index))
            .map(|a| a.job_id.as_str())
    }
}
