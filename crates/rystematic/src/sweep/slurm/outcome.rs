//! How an array task that left the queue ended: what its run recorded,
//! else what SLURM says.

use std::path::Path;

use super::commands::TaskState;
use crate::process::spec;
use crate::rundir::info::{RunInfo, RunStatus};
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
        (_, Some("CANCELLED")) => JobExit::new(index, None, Some(15))
            .with_status(SweepStatus::Interrupted)
            .with_reason("cancelled (scancel)"),
        (Some(RunStatus::Interrupted), _) => JobExit::new(index, None, Some(15))
            .with_status(SweepStatus::Interrupted)
            .with_reason("interrupted (SIGTERM)"),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A run directory whose `run.json` says `status`.
    fn run_dir(root: &Path, status: &str) -> std::path::PathBuf {
        let dir = root.join(status);
        std::fs::create_dir_all(&dir).unwrap();
        let info = serde_json::json!({
            "experiment": "work", "status": status, "started": "t", "host": "n1",
            "pid": 1, "output_dir": dir, "rystematic_version": "0", "random_seed": 0,
            "git": null, "executable": null, "executable_sha256": null,
            "experiment_path": null, "build": null, "cwd": null, "ended": null,
            "duration_s": null, "error": null, "argv": null
        });
        std::fs::write(dir.join("run.json"), info.to_string()).unwrap();
        dir
    }

    fn state(name: &str) -> TaskState {
        TaskState {
            state: name.to_owned(),
        }
    }

    #[test]
    fn what_the_run_recorded_wins_unless_slurm_stopped_it() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let exit = |status: &str, slurm: Option<&str>| {
            let dir = run_dir(root, status);
            outcome(root, 0, Some(&dir), slurm.map(state).as_ref())
        };
        let completed = exit("completed", Some("COMPLETED"));
        assert_eq!((completed.code, completed.status), (Some(0), None));
        // Forgotten by SLURM: the files alone.
        assert_eq!(exit("failed", None).code, Some(1));
        let cancelled = exit("interrupted", Some("CANCELLED"));
        assert_eq!(cancelled.status, Some(SweepStatus::Interrupted));
        // Killed outright: the run still says running.
        let killed = exit("running", Some("FAILED"));
        assert_eq!(killed.status, Some(SweepStatus::Failed));
        assert!(killed.reason.unwrap().contains("without finishing"));
        // A time limit: the run recorded an interruption, but it failed.
        let timeout = exit("interrupted", Some("TIMEOUT"));
        assert_eq!(timeout.status, Some(SweepStatus::Failed));
        assert!(timeout.reason.unwrap().contains("TIMEOUT"));
        // Never got as far as a run directory.
        let never = outcome(root, 3, None, Some(&state("FAILED")));
        assert_eq!(never.status, Some(SweepStatus::Failed));
        assert!(never.reason.unwrap().contains("run-3.out"));
    }
}
