//! `<sweep>/slurm/jobs.json`: the job arrays submitted for a sweep, so a
//! later command can follow, resume or cancel them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::commands::TaskId;
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
    /// The run indices it holds.
    pub(crate) tasks: Vec<usize>,
    /// The run index of task id 0: a sweep larger than the cluster's
    /// `MaxArraySize` is split into arrays whose task ids start at 0 again.
    /// (0 in records written before sweeps were split.)
    #[serde(default)]
    pub(crate) offset: usize,
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

    /// For each run, the task that ran it last: its array's job id and its
    /// task id there. (A task id below its array's offset, from a damaged
    /// record, is no task.)
    pub(crate) fn tasks(&self) -> BTreeMap<usize, TaskId> {
        let mut tasks = BTreeMap::new();
        for array in &self.arrays {
            for &index in &array.tasks {
                if let Some(task_id) = index.checked_sub(array.offset) {
                    tasks.insert(index, (array.job_id.clone(), task_id as u64));
                }
            }
        }
        tasks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_found_in_the_last_array_that_ran_it_at_its_offset() {
        // As written before sweeps were split: no offset, task id = index.
        let old = r#"{"arrays": [{"job_id": "7", "tasks": [0, 1, 2], "submitted": "t"}]}"#;
        let record: JobsRecord = serde_json::from_str(old).unwrap();
        assert_eq!(record.tasks().get(&2), Some(&("7".to_owned(), 2)));
        let mut record = record;
        record.arrays.push(ArrayRecord {
            job_id: "8".into(),
            tasks: vec![2, 5, 6],
            offset: 5,
            submitted: "t".into(),
        });
        record.arrays.push(ArrayRecord {
            job_id: "9".into(),
            tasks: vec![2],
            offset: 0,
            submitted: "t".into(),
        });
        record.arrays.push(ArrayRecord {
            job_id: "10".into(),
            tasks: vec![3],
            offset: 5,
            submitted: "t".into(),
        });
        let tasks = record.tasks();
        assert_eq!(tasks.get(&6), Some(&("8".to_owned(), 1)));
        assert_eq!(tasks.get(&2), Some(&("9".to_owned(), 2)), "resubmitted");
        assert_eq!(tasks.get(&4), None);
        assert_eq!(tasks.get(&3), None, "below its array's offset: damaged");
    }
}
