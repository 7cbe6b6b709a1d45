//! How a sweep's runs become SLURM job arrays. The task id is the run's
//! index, less its array's offset: task ids must be below the cluster's
//! `MaxArraySize`, so a larger sweep goes as several arrays, each starting
//! once the one before has ended (`--dependency=afterany`), which keeps the
//! throttle (`%<jobs>`) a bound on the whole sweep at the cost of a
//! narrower tail at each array's end.

use std::path::Path;
use std::process::Command;

use super::super::launcher::LaunchError;
use super::{SLURM_DIR, SlurmOptions, commands};

/// Submits `array` with `options` and returns its job id; `after`: the
/// array it waits for.
pub(super) fn sbatch(
    options: &SlurmOptions,
    dir: &Path,
    script: &Path,
    name: &str,
    array: &Array,
    throttle: usize,
    after: Option<&String>,
) -> Result<String, LaunchError> {
    let task_ids: Vec<usize> = array.indices.iter().map(|i| i - array.offset).collect();
    let console = match array.offset {
        0 => dir.join("run-%a.out"),
        offset => dir.join(SLURM_DIR).join(console_name(offset, "%a")),
    };
    let mut command = Command::new("sbatch");
    command
        .arg("--parsable")
        .arg(format!(
            "--array={}%{throttle}",
            commands::array_ranges(&task_ids)
        ))
        .arg(format!("--job-name={name}"))
        .arg(format!("--output={}", console.display()));
    if let Some(after) = after {
        command.arg(format!("--dependency=afterany:{after}"));
    }
    command
        .args(options.flags())
        .arg(script)
        .arg(array.offset.to_string());
    let submitted = commands::run(command)?;
    // `<job id>[;<cluster>]`
    submitted
        .lines()
        .next()
        .and_then(|l| l.split(';').next())
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| LaunchError::Refused {
            command: "sbatch".to_owned(),
            message: format!("printed no job id: '{}'", submitted.trim()),
        })
}

/// The runs of one `sbatch`: task id = run index − `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Array {
    pub(super) offset: usize,
    pub(super) indices: Vec<usize>,
}

/// `indices` as arrays whose task ids stay below `max_array_size` (the
/// cluster's `MaxArraySize`; one array when unknown), in order.
pub(super) fn split(indices: &[usize], max_array_size: Option<usize>) -> Vec<Array> {
    let size = max_array_size.unwrap_or(usize::MAX).max(1);
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    let mut arrays: Vec<Array> = Vec::new();
    for index in sorted {
        let offset = index / size * size;
        match arrays.last_mut() {
            Some(array) if array.offset == offset => array.indices.push(index),
            _ => arrays.push(Array {
                offset,
                indices: vec![index],
            }),
        }
    }
    arrays
}

/// The console file, in the sweep's `slurm/`, of task `task_id` of the
/// array at `offset` (a link to the run's `run-<index>.out`).
pub(super) fn console_name(offset: usize, task_id: &str) -> String {
    format!("console-{offset}-{task_id}.out")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_split_where_task_ids_reach_the_clusters_limit() {
        let array = |offset, indices: &[usize]| Array {
            offset,
            indices: indices.to_vec(),
        };
        assert_eq!(split(&[2, 0, 1], None), [array(0, &[0, 1, 2])]);
        assert_eq!(split(&[0, 1, 2], Some(3)), [array(0, &[0, 1, 2])]);
        assert_eq!(
            split(&[0, 1, 2, 3, 4, 5, 6], Some(3)),
            [array(0, &[0, 1, 2]), array(3, &[3, 4, 5]), array(6, &[6])]
        );
        // A resume's runs: only the arrays that hold some.
        assert_eq!(
            split(&[7, 1, 1500], Some(1001)),
            [array(0, &[1, 7]), array(1001, &[1500])]
        );
    }
}
