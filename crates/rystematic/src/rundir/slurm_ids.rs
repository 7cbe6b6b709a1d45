//! SLURM's ids for a run that runs under SLURM, recorded in `run.json`: the
//! job, the array job and task (a sweep's array task), the node, and how
//! often SLURM requeued the task.

use serde::{Deserialize, Serialize};

/// Where SLURM ran a run (from the environment SLURM gives a job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SlurmInfo {
    /// `SLURM_JOB_ID`: this task's own job id.
    pub job_id: String,
    /// `SLURM_ARRAY_JOB_ID`: the array's job id (the id `sbatch` printed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_job_id: Option<String>,
    /// `SLURM_ARRAY_TASK_ID`: the task's index in the array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_task_id: Option<u64>,
    /// `SLURMD_NODENAME`: the node the task ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// `SLURM_RESTART_COUNT`: how many times the task was requeued before
    /// this attempt (0 for the first).
    #[serde(default)]
    pub restart_count: u32,
}

impl SlurmInfo {
    /// From `env` (e.g. `std::env::var`), if `SLURM_JOB_ID` is set.
    pub(crate) fn from_env(env: impl Fn(&str) -> Option<String>) -> Option<SlurmInfo> {
        let job_id = env("SLURM_JOB_ID").filter(|id| !id.is_empty())?;
        Some(SlurmInfo {
            job_id,
            array_job_id: env("SLURM_ARRAY_JOB_ID"),
            array_task_id: env("SLURM_ARRAY_TASK_ID").and_then(|t| t.parse().ok()),
            node: env("SLURMD_NODENAME"),
            restart_count: env("SLURM_RESTART_COUNT")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        })
    }

    /// From this process's environment.
    pub(crate) fn current() -> Option<SlurmInfo> {
        SlurmInfo::from_env(|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn ids_come_from_the_environment_only_under_slurm() {
        assert_eq!(SlurmInfo::from_env(|_| None), None);
        let env: HashMap<&str, &str> = [
            ("SLURM_JOB_ID", "42"),
            ("SLURM_ARRAY_JOB_ID", "40"),
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURMD_NODENAME", "n1"),
            ("SLURM_RESTART_COUNT", "1"),
        ]
        .into();
        let info = SlurmInfo::from_env(|k| env.get(k).map(|v| (*v).to_owned())).unwrap();
        assert_eq!(info.job_id, "42");
        assert_eq!(info.array_job_id.as_deref(), Some("40"));
        assert_eq!(info.array_task_id, Some(2));
        assert_eq!(info.node.as_deref(), Some("n1"));
        assert_eq!(info.restart_count, 1);
    }
}
