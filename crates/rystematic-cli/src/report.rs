//! `rystematic report`: the dashboard as one self-contained HTML file —
//! the `ls --json` document and the selected runs' scalars inline, with the
//! page's CSS and script, so it opens anywhere with no network.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::RunsError;
use crate::ls::{self, LsOptions};
use crate::scalars::{self, SCALARS_FILE};
use crate::scan::{self, ReadOptions};
use crate::web::{self, PageData};

/// What goes into a report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Which runs, and their order.
    pub ls: LsOptions,
    /// At most this many points per tag and run (evenly spaced, the last
    /// one kept), to bound the file's size.
    pub points: usize,
}

/// What a report holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportSummary {
    /// Runs listed.
    pub runs: usize,
    /// Size of the file in bytes.
    pub bytes: usize,
}

/// Writes the report of the runs under `output` to `to`, whole or not at
/// all (a temporary file renamed into place).
pub fn report(
    output: &Path,
    options: &ReportOptions,
    to: &Path,
) -> Result<ReportSummary, RunsError> {
    let scan = scan::scan(output, ReadOptions::default())?;
    let listing = ls::select(&scan, &options.ls)?;
    let extras = ls::extras(&scan, &options.ls.filter);
    let doc = ls::document(output, &listing, &extras);
    let series = scan::par_map(&listing.runs, |run| {
        // An unreadable scalars.csv leaves the run without charts; the
        // table still shows it.
        let series =
            scalars::series(&run.dir.join(SCALARS_FILE), options.points).unwrap_or_default();
        (ls::relative(output, &run.dir), series)
    });
    let scalars: serde_json::Map<String, Value> = series
        .into_iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(path, s)| (path, serde_json::to_value(s).unwrap_or_default()))
        .collect();
    let html = web::page(PageData {
        source: &output.display().to_string(),
        live: false,
        ls: Some(doc),
        scalars: Some(Value::Object(scalars)),
    });
    write_whole(to, html.as_bytes())?;
    Ok(ReportSummary {
        runs: listing.runs.len(),
        bytes: html.len(),
    })
}

/// Writes `bytes` to `to` through a temporary file beside it, so `to` is
/// never half-written.
fn write_whole(to: &Path, bytes: &[u8]) -> Result<(), RunsError> {
    let parent = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = to
        .file_name()
        .ok_or_else(|| RunsError::BadOption {
            option: "--output",
            value: to.display().to_string(),
            reason: "expected a file name".into(),
        })?
        .to_string_lossy()
        .into_owned();
    let tmp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = std::fs::File::create_new(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, to));
    result.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        RunsError::Io {
            path: to.to_owned(),
            source,
        }
    })
}
