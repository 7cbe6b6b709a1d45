//! How an array task that left the queue ended: what its run recorded,
//! else what SLURM says.

use std::path::Path;

use super::commands::TaskState;
use crate::process::spec;
use crate::standard::run_info::{RunInfo, RunStatus};
use crate::sweep::launcher::JobExit;
use crate::sweep::manifest::SweepStatus;
use crate::sweep::previous::report_path;

/// How a task that left the queue ended: what its run recorded, else what
/// SLURM says (`None`: SLURM has forgotten it).
pub(super) fn outcome(
    dir: &Path,
    index: usize,
    run_dir: Option<&Path>,
    state: Option<&TaskState>,
) -> JobExit {
    let run_dir = run_dir
        .map(Path::to_owned)
        .or_else(|| spec::read_report(&report_path(dir, index)).map(|r| r.run_dir));
    let recorded = run_dir
        .as_deref()
        .and_then(|d| RunInfo::read(d).ok())
        .map(|info| info.status);
    let slurm = state.map(|s| s.state.as_str());
    let killed = |name: &str| format!("SLURM ended the task ({name})");
    match (recorded, slurm) {
        // SLURM stopped it (a time limit, out of memory, a node failure):
        // the run may have recorded an interruption, but it failed.
        (_, Some(name))
            if !matches!(name, "COMPLETED" | "FAILED" | "CANCELLED")
                && recorded != Some(RunStatus::Completed) =>
        {
            JobExit::new(index, None, None)
                .with_status(SweepStatus::Failed)
                .with_reason(killed(name))
        }
        (Some(RunStatus::Completed), _) => JobExit::new(index, Some(0), None),
        (Some(RunStatus::Failed), _) => JobExit::new(index, Some(1), None),
        (_, Some("CANCELLED")) | (Some(RunStatus::Interrupted), _) => {
            JobExit::new(index, None, Some(15))
                .with_status(SweepStatus::Interrupted)
                .with_reason("cancelled (scancel)")
        }
        (Some(RunStatus::Running), _) => JobExit::new(index, None, None)
            .with_status(SweepStatus::Failed)
            .with_reason("the task ended without finishing its run"),
        (None, _) => JobExit::new(index, None, None)
            .with_status(SweepStatus::Failed)
            .with_reason(format!(
                "the task ended before its run started; see {}",
                dir.join(format!("run-{index}.out")).display()
            )),
    }
}
