//! `rystematic report`: the dashboard as one self-contained HTML file —
//! the `ls --json` document and the listed runs' scalars inline, with the
//! page's CSS and script, so it opens anywhere with no network.

use std::path::Path;

use std::collections::BTreeMap;

use crate::error::RunsError;
use crate::ls::{self, LsOptions};
use crate::scalars::{self, SCALARS_FILE, Series};
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
    // Each run's line is made (read, thinned, serialised) on all cores.
    let lines = scan::par_map(&listing.runs, |run| {
        // An unreadable scalars.csv leaves the run without charts; the
        // table still shows it.
        let series =
            scalars::series(&run.dir.join(SCALARS_FILE), options.points).unwrap_or_default();
        if series.is_empty() {
            return String::new();
        }
        web::scalar_line(&ls::relative(output, &run.dir), &compact(&series))
    });
    let html = web::page(PageData {
        source: &output.display().to_string(),
        live: false,
        ls: Some(doc),
        scalar_lines: lines.concat(),
    });
    write_whole(to, html.as_bytes())?;
    Ok(ReportSummary {
        runs: listing.runs.len(),
        bytes: html.len(),
    })
}

/// A series as a report carries it: values in single precision (7
/// significant digits, plenty for a chart, and half the text of a report
/// over many runs) unless one does not fit in it.
#[derive(serde::Serialize)]
struct Compact<'a> {
    steps: &'a [u64],
    values: Values<'a>,
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum Values<'a> {
    Single(Vec<f32>),
    Double(&'a [f64]),
}

fn compact(series: &BTreeMap<String, Series>) -> BTreeMap<&str, Compact<'_>> {
    series
        .iter()
        .map(|(tag, s)| {
            let single: Vec<f32> = s.values.iter().map(|&v| v as f32).collect();
            let values = if single.iter().all(|v| v.is_finite()) {
                Values::Single(single)
            } else {
                Values::Double(&s.values)
            };
            (
                tag.as_str(),
                Compact {
                    steps: &s.steps,
                    values,
                },
            )
        })
        .collect()
}

/// Writes `bytes` to `to` through a temporary file beside it, so `to` is
/// never half-written.
fn write_whole(to: &Path, bytes: &[u8]) -> Result<(), RunsError> {
    if to.file_name().is_none() {
        return Err(RunsError::BadOption {
            option: "--output",
            value: to.display().to_string(),
            reason: "expected a file name".into(),
        });
    }
    rystematic::write_atomic(to, bytes).map_err(|source| RunsError::Io {
        path: to.to_owned(),
        source,
    })
}
