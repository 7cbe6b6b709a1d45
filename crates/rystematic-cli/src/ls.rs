//! `rystematic ls`: one row per run, sweeps with their progress, and what
//! could not be read, with the reason.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::error::RunsError;
use crate::scan::{self, ReadOptions, RunRecord, Scan};
use crate::select::{self, Filter};
use crate::table::{self, write_table};

/// What `ls` lists and how.
#[derive(Debug, Clone, Default)]
pub struct LsOptions {
    /// Which runs.
    pub filter: Filter,
    /// Column, parameter or metric to sort by (default: start time).
    pub sort: Option<String>,
    /// Largest first.
    pub descending: bool,
    /// Print JSON instead of a table.
    pub json: bool,
}

/// The selected runs of a scan, sorted, and the parameters that differ
/// among them.
pub struct Listing<'a> {
    /// The runs, in order.
    pub runs: Vec<&'a RunRecord>,
    /// Parameters whose values are not all equal among `runs`.
    pub params: Vec<String>,
    /// Tags recorded by any of `runs`.
    pub metrics: Vec<String>,
}

/// Filters and sorts the runs of `scan`.
pub fn select<'a>(scan: &'a Scan, options: &LsOptions) -> Result<Listing<'a>, RunsError> {
    let mut runs: Vec<&RunRecord> = scan
        .runs
        .iter()
        .filter(|r| options.filter.matches(r))
        .collect();
    let sort = options.sort.as_deref().unwrap_or("started");
    select::sort_runs(&mut runs, sort, options.descending)?;
    Ok(Listing {
        params: select::differing_params(&runs),
        metrics: select::metric_tags(&runs),
        runs,
    })
}

/// Lists the runs under `output` into `out`.
pub fn ls(output: &Path, options: &LsOptions, out: &mut dyn Write) -> Result<(), RunsError> {
    let scan = scan::scan(output, ReadOptions::default())?;
    let listing = select(&scan, options)?;
    // Sweeps and damaged entries are not runs: only the filters that make
    // sense for them apply.
    let filter = &options.filter;
    let run_only_filter = filter.status.is_some() || !filter.wheres.is_empty();
    let sweeps: Vec<_> = scan
        .sweeps
        .iter()
        .filter(|_| !run_only_filter)
        .filter(|s| {
            filter
                .experiment
                .as_ref()
                .is_none_or(|e| s.experiment.last() == Some(e))
        })
        .collect();
    let damaged: Vec<_> = if filter.is_empty() {
        scan.damaged.iter().collect()
    } else {
        Vec::new()
    };

    if options.json {
        let runs: Vec<_> = listing
            .runs
            .iter()
            .map(|r| {
                let params: serde_json::Map<_, _> = listing
                    .params
                    .iter()
                    .map(|p| (p.clone(), r.params.get(p).cloned().unwrap_or_default()))
                    .collect();
                let metrics: serde_json::Map<_, _> = r
                    .metrics
                    .iter()
                    .map(|(tag, p)| (tag.clone(), json!({"step": p.step, "value": p.value})))
                    .collect();
                json!({
                    "id": r.id,
                    "dir": r.dir,
                    "experiment": r.info.experiment,
                    "status": r.status.name(),
                    "started": r.info.started,
                    "ended": r.info.ended,
                    "duration_s": r.info.duration_s,
                    "params": params,
                    "metrics": metrics,
                })
            })
            .collect();
        let sweeps: Vec<_> = sweeps
            .iter()
            .map(|s| {
                json!({
                    "id": s.id, "dir": s.dir, "experiment": s.experiment,
                    "created": s.created, "total": s.total, "counts": s.counts,
                    "progress": s.progress(),
                })
            })
            .collect();
        let damaged: Vec<_> = damaged
            .iter()
            .map(|(path, reason)| json!({"path": path, "reason": reason}))
            .collect();
        let doc = json!({"runs": runs, "sweeps": sweeps, "damaged": damaged});
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        return out.write_all(text.as_bytes()).map_err(RunsError::output);
    }

    let mut header: Vec<String> = ["RUN", "EXPERIMENT", "STATUS", "STARTED", "DURATION"]
        .map(String::from)
        .to_vec();
    header.extend(listing.params.iter().cloned());
    header.extend(listing.metrics.iter().cloned());
    let rows: Vec<Vec<String>> = listing
        .runs
        .iter()
        .map(|r| {
            let mut row = vec![
                r.id.clone(),
                r.info.experiment.clone(),
                r.status.name().to_owned(),
                table::short_time(&r.info.started),
                table::short_duration(r.info.duration_s),
            ];
            row.extend(listing.params.iter().map(|p| match r.params.get(p) {
                Some(v) => select::render_value(v),
                None => "-".into(),
            }));
            row.extend(listing.metrics.iter().map(|m| match r.metrics.get(m) {
                Some(p) => table::short_number(p.value),
                None => "-".into(),
            }));
            row
        })
        .collect();
    if rows.is_empty() {
        writeln!(out, "no runs in '{}'", output.display()).map_err(RunsError::output)?;
    } else {
        write_table(out, &header, &rows).map_err(RunsError::output)?;
    }
    if !sweeps.is_empty() {
        writeln!(out).map_err(RunsError::output)?;
        let header = ["SWEEP", "EXPERIMENT", "CREATED", "PROGRESS"].map(String::from);
        let rows: Vec<Vec<String>> = sweeps
            .iter()
            .map(|s| {
                vec![
                    s.id.clone(),
                    s.experiment.join(" "),
                    table::short_time(&s.created),
                    s.progress(),
                ]
            })
            .collect();
        write_table(out, &header, &rows).map_err(RunsError::output)?;
    }
    if !damaged.is_empty() {
        writeln!(out).map_err(RunsError::output)?;
        let header = ["DAMAGED", "REASON"].map(String::from);
        let rows: Vec<Vec<String>> = damaged
            .iter()
            .map(|(path, reason)| {
                let shown = path.strip_prefix(output).unwrap_or(path);
                vec![shown.display().to_string(), reason.clone()]
            })
            .collect();
        write_table(out, &header, &rows).map_err(RunsError::output)?;
    }
    Ok(())
}
