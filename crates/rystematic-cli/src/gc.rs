//! `rystematic gc`: deletes the runs that match filters; a dry run unless
//! told `--yes`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::RunsError;
use crate::scan::{self, ReadOptions, Status};
use crate::select::Filter;

/// What `gc` deletes.
#[derive(Debug, Clone, Default)]
pub struct GcOptions {
    /// Runs matching these (at least one condition, or `damaged`).
    pub filter: Filter,
    /// Also (or only, without other filters) damaged run directories.
    pub damaged: bool,
    /// Delete; without it, only say what would be deleted.
    pub yes: bool,
}

/// Deletes (or lists, in a dry run) the matching run directories. Runs
/// whose process still runs are never deleted. Returns what was (or would
/// be) deleted.
pub fn gc(
    output: &Path,
    options: &GcOptions,
    out: &mut dyn Write,
) -> Result<Vec<PathBuf>, RunsError> {
    if options.filter.is_empty() && !options.damaged {
        return Err(RunsError::BadOption {
            option: "gc",
            value: String::new(),
            reason: "give at least one filter (--experiment, --status, --where, --since) or \
                     --damaged; gc never deletes every run by default"
                .into(),
        });
    }
    let scan = scan::scan(
        output,
        ReadOptions {
            metrics: false,
            ..ReadOptions::default()
        },
    )?;
    let mut chosen: Vec<PathBuf> = Vec::new();
    if !options.filter.is_empty() {
        for run in scan.runs.iter().filter(|r| options.filter.matches(r)) {
            if run.status == Status::Running {
                writeln!(out, "keeping {} (still running)", run.dir.display())
                    .map_err(RunsError::output)?;
            } else {
                chosen.push(run.dir.clone());
            }
        }
    }
    if options.damaged {
        // Only run directories (two levels down): a foreign top-level
        // folder is the user's, not ours to delete.
        chosen.extend(
            scan.damaged
                .iter()
                .filter(|(path, _)| {
                    path.parent().and_then(Path::parent) == Some(output) && path.is_dir()
                })
                .map(|(path, _)| path.clone()),
        );
    }
    let verb = if options.yes {
        "deleting"
    } else {
        "would delete"
    };
    let mut bytes = 0;
    for dir in &chosen {
        bytes += dir_size(dir);
        writeln!(out, "{verb} {}", dir.display()).map_err(RunsError::output)?;
        if options.yes {
            std::fs::remove_dir_all(dir).map_err(RunsError::io(dir))?;
        }
    }
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if options.yes {
        writeln!(out, "deleted {} run(s), {mib:.1} MiB", chosen.len())
            .map_err(RunsError::output)?;
    } else {
        writeln!(
            out,
            "{} run(s), {mib:.1} MiB would be deleted; run again with --yes to delete them",
            chosen.len()
        )
        .map_err(RunsError::output)?;
    }
    Ok(chosen)
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}
