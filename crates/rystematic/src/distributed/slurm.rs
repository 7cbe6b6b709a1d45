//! Reading the world from SLURM, so that
//! `srun prog train --distributed --nproc-per-node 4` needs nothing else:
//! one agent per task, the node rank is the task's rank and the master is
//! the first host of the job.

/// What SLURM says about this task, when it runs under `srun` or `sbatch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlurmTask {
    pub(crate) node_rank: u32,
    pub(crate) nnodes: u32,
    pub(crate) master_addr: String,
}

impl SlurmTask {
    /// From `SLURM_PROCID`, `SLURM_NTASKS` and `SLURM_JOB_NODELIST` (the step's
    /// node list when there is one), if all are present and make sense.
    pub(crate) fn from_env(env: impl Fn(&str) -> Option<String>) -> Option<SlurmTask> {
        let node_rank = env("SLURM_PROCID")?.parse().ok()?;
        let nnodes = env("SLURM_NTASKS")?.parse().ok()?;
        let nodes = env("SLURM_STEP_NODELIST").or_else(|| env("SLURM_JOB_NODELIST"))?;
        Some(SlurmTask {
            node_rank,
            nnodes,
            master_addr: first_host(&nodes)?,
        })
    }
}

/// The first host of a SLURM host list: `node[07-09,12],gpu1` → `node07`.
pub(crate) fn first_host(list: &str) -> Option<String> {
    let list = list.trim();
    let end = list.find([',', '[']).unwrap_or(list.len());
    let prefix = &list[..end];
    let host = match list[end..].strip_prefix('[') {
        // The first number of the first range keeps its zero padding.
        Some(ranges) => {
            let first = ranges.split([',', '-', ']']).next()?;
            format!("{prefix}{first}")
        }
        None => prefix.to_owned(),
    };
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_first_host_of_a_host_list() {
        assert_eq!(first_host("node07").as_deref(), Some("node07"));
        assert_eq!(first_host("a,b").as_deref(), Some("a"));
        assert_eq!(first_host("node[07-09,12],gpu1").as_deref(), Some("node07"));
        assert_eq!(first_host("gpu[3,5]").as_deref(), Some("gpu3"));
        assert_eq!(first_host("").as_deref(), None);
    }

    #[test]
    fn the_task_comes_from_the_environment() {
        let env: HashMap<&str, &str> = [
            ("SLURM_PROCID", "1"),
            ("SLURM_NTASKS", "2"),
            ("SLURM_JOB_NODELIST", "n[1-2]"),
        ]
        .into();
        let task = SlurmTask::from_env(|k| env.get(k).map(|v| (*v).to_owned()));
        assert_eq!(
            task,
            Some(SlurmTask {
                node_rank: 1,
                nnodes: 2,
                master_addr: "n1".into()
            })
        );
        assert_eq!(SlurmTask::from_env(|_| None), None);
    }
}
