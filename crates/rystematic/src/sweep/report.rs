//! [`SweepReport`]: what `run_parameter_sweep` returns, and its summary table.

use std::fmt;
use std::path::{Path, PathBuf};

use super::manifest::{SweepRun, SweepStatus};

/// How every run of a sweep went.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SweepReport {
    /// The sweep directory (holds `sweep.json` and each run's console output).
    pub dir: PathBuf,
    /// One entry per parameter set, in sweep order.
    pub runs: Vec<SweepRun>,
    /// For a sweep submitted with [`Sweep::detach`](super::Sweep::detach):
    /// where its runs went (e.g. `SLURM job 123`); they may still be
    /// queued or running.
    pub detached: Option<String>,
}

impl SweepReport {
    /// Reads the sweep in `dir` as it stands now: its manifest snapshot
    /// (`sweep.json`) with the changes since (`sweep.journal`) applied —
    /// while the sweep runs, too.
    ///
    /// # Errors
    /// If there is no manifest, or it cannot be parsed.
    pub fn read(dir: &Path) -> std::io::Result<SweepReport> {
        let manifest = super::manifest::Manifest::read(dir)?;
        Ok(SweepReport {
            dir: dir.to_owned(),
            runs: manifest.runs,
            detached: None,
        })
    }

    /// How many runs completed.
    pub fn completed(&self) -> usize {
        self.count(SweepStatus::Completed)
    }

    /// How many runs failed.
    pub fn failed(&self) -> usize {
        self.count(SweepStatus::Failed)
    }

    /// Whether every run completed.
    pub fn all_completed(&self) -> bool {
        self.completed() == self.runs.len()
    }

    fn count(&self, status: SweepStatus) -> usize {
        self.runs.iter().filter(|r| r.status == status).count()
    }
}

/// A table: one line per run with status, exit, duration, values, devices
/// (only if runs were given any) and directory, then a summary line.
impl fmt::Display for SweepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let devices = self.runs.iter().any(|r| !r.devices.is_empty());
        let rows: Vec<Vec<String>> = self
            .runs
            .iter()
            .map(|run| {
                let mut row = vec![
                    run.index.to_string(),
                    run.status.to_string(),
                    match (run.exit_code, run.signal) {
                        (Some(code), _) => code.to_string(),
                        (None, Some(signal)) => format!("signal {signal}"),
                        (None, None) => "-".to_owned(),
                    },
                    run.duration_s
                        .map_or_else(|| "-".to_owned(), |d| format!("{d:.2}s")),
                    run.values
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                ];
                if devices {
                    row.push(if run.devices.is_empty() {
                        "-".to_owned()
                    } else {
                        run.devices.join(",")
                    });
                }
                row.push(
                    run.run_dir
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), |d| d.display().to_string()),
                );
                row
            })
            .collect();
        let mut header = vec!["#", "status", "exit", "time", "values"];
        if devices {
            header.push("devices");
        }
        header.push("run directory");
        let header: Vec<String> = header.into_iter().map(str::to_owned).collect();
        let mut widths: Vec<usize> = header.iter().map(String::len).collect();
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| -> fmt::Result {
            for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                if i + 1 == cells.len() {
                    writeln!(f, "{cell}")?;
                } else {
                    write!(f, "{cell:<width$}  ")?;
                }
            }
            Ok(())
        };
        line(f, &header)?;
        for row in &rows {
            line(f, row)?;
        }
        write!(
            f,
            "{} of {} runs completed, {} failed; manifest: {}",
            self.completed(),
            self.runs.len(),
            self.failed(),
            self.dir.join(super::manifest::MANIFEST_FILE).display()
        )
    }
}
