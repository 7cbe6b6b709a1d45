//! SLURM's commands as rystematic uses them: `sbatch` to submit one job
//! array, `squeue` to see which tasks are still queued or running, and
//! `scancel` to stop them. No accounting (`sacct`): a cluster may not have
//! it, and each task records its own end in its run directory.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use super::super::launcher::LaunchError;

/// Runs `command` and returns its stdout, or the error naming the command
/// and SLURM's message.
pub(super) fn run(mut command: Command) -> Result<String, LaunchError> {
    let name = command.get_program().to_string_lossy().into_owned();
    let output: Output = command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| LaunchError::Missing {
            command: name.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(LaunchError::Refused {
            command: name,
            message: one_line(&output),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// SLURM's message on one line: stderr's lines (else stdout's, else the
/// exit status), joined with `; `.
fn one_line(output: &Output) -> String {
    let text = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let message = text(&output.stderr);
    if !message.is_empty() {
        return message;
    }
    let message = text(&output.stdout);
    if !message.is_empty() {
        return message;
    }
    format!("it exited with {}", output.status)
}

/// Where a task of an array is, as `squeue --states=all` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TaskState {
    /// SLURM's state name (`PENDING`, `RUNNING`, `COMPLETED`, ...).
    pub(super) state: String,
}

impl TaskState {
    /// Whether the task may still run (queued, running, being requeued):
    /// anything but a final state.
    pub(super) fn is_live(&self) -> bool {
        !matches!(
            self.state.as_str(),
            "COMPLETED"
                | "FAILED"
                | "CANCELLED"
                | "TIMEOUT"
                | "NODE_FAIL"
                | "PREEMPTED"
                | "OUT_OF_MEMORY"
                | "BOOT_FAIL"
                | "DEADLINE"
                | "SPECIAL_EXIT"
        )
    }
}

/// A task: its array's job id and its task id.
pub(super) type TaskId = (String, u64);

/// The tasks of `jobs` SLURM still knows. A job SLURM has forgotten (ended
/// longer ago than its `MinJobAge`) has no entries.
pub(super) fn tasks(jobs: &[String]) -> Result<BTreeMap<TaskId, TaskState>, LaunchError> {
    let mut all = BTreeMap::new();
    if jobs.is_empty() {
        return Ok(all);
    }
    let mut command = Command::new("squeue");
    command.args([
        "--noheader",
        "--array",
        "--states=all",
        "--format=%F %K %T",
        "--jobs",
    ]);
    command.arg(jobs.join(","));
    match run(command) {
        Ok(text) => parse_tasks(&text, &mut all),
        // Every job asked about was forgotten: nothing of it is left.
        Err(LaunchError::Refused { message, .. }) if message.contains("Invalid job id") => {
            if jobs.len() > 1 {
                // One of several may be forgotten: ask one at a time.
                for job in jobs {
                    all.extend(tasks(std::slice::from_ref(job))?);
                }
            }
        }
        Err(e) => return Err(e),
    }
    Ok(all)
}

fn parse_tasks(text: &str, into: &mut BTreeMap<TaskId, TaskState>) {
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(job), Some(task), Some(state)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        // `%K` of a pending array that was not expanded is a range: with
        // `--array` it always is one task.
        if let Ok(task) = task.parse::<u64>() {
            into.insert(
                (job.to_owned(), task),
                TaskState {
                    state: state.to_owned(),
                },
            );
        }
    }
}

/// The cluster's `MaxArraySize` (task ids must be below it), if
/// `scontrol` says.
pub(super) fn max_array_size_now() -> Option<usize> {
    let mut config = Command::new("scontrol");
    config.args(["show", "config"]);
    max_array_size(&run(config).ok()?)
}

/// `MaxArraySize` from `scontrol show config`: task ids must be below it.
pub(super) fn max_array_size(config: &str) -> Option<usize> {
    config.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "MaxArraySize").then(|| value.trim().parse().ok())?
    })
}

/// Cancels `jobs` (every task of each array).
pub(super) fn cancel(jobs: &[String]) -> Result<(), LaunchError> {
    if jobs.is_empty() {
        return Ok(());
    }
    let mut command = Command::new("scancel");
    command.args(jobs);
    run(command).map(|_| ())
}

/// `0-3,7,9-10` for the task ids `0 1 2 3 7 9 10`.
pub(super) fn array_ranges(indices: &[usize]) -> String {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// `word` as one POSIX shell word: as is if it is plain, else in single
/// quotes (for the batch script, and the commands shown to the user).
pub(crate) fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=,:@%+".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_array_size_is_read_from_the_config() {
        let config = "MaxJobCount             = 10000\nMaxArraySize            = 1001\n";
        assert_eq!(max_array_size(config), Some(1001));
        assert_eq!(max_array_size("Other = 1\n"), None);
    }

    #[test]
    fn task_ids_are_compressed_into_ranges() {
        assert_eq!(array_ranges(&[0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10");
        assert_eq!(array_ranges(&[5]), "5");
        assert_eq!(array_ranges(&[3, 1, 2, 2]), "1-3");
    }

    #[test]
    fn squeue_lines_give_each_task_its_state() {
        let mut tasks = BTreeMap::new();
        parse_tasks(
            "7 0 COMPLETED\n7 1 RUNNING\n7 2 PENDING\n\n8 0-3%1 PENDING\n9 0 RUNNING\n",
            &mut tasks,
        );
        assert_eq!(tasks.len(), 4);
        let task = |job: &str, id| &tasks[&(job.to_owned(), id)];
        assert!(!task("7", 0).is_live());
        assert!(task("7", 1).is_live());
        assert!(task("7", 2).is_live());
        assert!(task("9", 0).is_live());
    }
}
