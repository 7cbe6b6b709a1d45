//! `rystematic ls`: one row per run, sweeps with their progress, and what
//! could not be read, with the reason.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::RunsError;
use crate::scan::{self, ReadOptions, RunRecord, Scan, SweepRecord};
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

/// What `ls` shows besides the runs: the sweeps and damaged entries that
/// pass the filters.
pub struct Extras<'a> {
    /// Sweep directories.
    pub sweeps: Vec<&'a SweepRecord>,
    /// Damaged or foreign entries, with the reason.
    pub damaged: Vec<&'a (PathBuf, String)>,
}

/// The sweeps and damaged entries of `scan` that `filter` lets through.
pub fn extras<'a>(scan: &'a Scan, filter: &Filter) -> Extras<'a> {
    // Sweeps and damaged entries are not runs: only the filters that make
    // sense for them apply.
    let run_only_filter = filter.status.is_some() || !filter.wheres.is_empty();
    let sweeps = scan
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
    let damaged = if filter.is_empty() {
        scan.damaged.iter().collect()
    } else {
        Vec::new()
    };
    Extras { sweeps, damaged }
}

/// One run as `ls --json` prints it. `path` is the run directory relative
/// to `output`: what the dashboard names a run by.
pub fn run_json(output: &Path, run: &RunRecord, params: &[String]) -> Value {
    let params: serde_json::Map<_, _> = params
        .iter()
        .map(|p| (p.clone(), run.params.get(p).cloned().unwrap_or_default()))
        .collect();
    let metrics: serde_json::Map<_, _> = run
        .metrics
        .iter()
        .map(|(tag, p)| (tag.clone(), json!({"step": p.step, "value": p.value})))
        .collect();
    json!({
        "id": run.id,
        "path": relative(output, &run.dir),
        "dir": run.dir,
        "experiment": run.info.experiment,
        "status": run.status.name(),
        "started": run.info.started,
        "ended": run.info.ended,
        "duration_s": run.info.duration_s,
        "params": params,
        "metrics": metrics,
    })
}

/// One sweep as `ls --json` prints it.
pub fn sweep_json(sweep: &SweepRecord) -> Value {
    json!({
        "id": sweep.id, "dir": sweep.dir, "experiment": sweep.experiment,
        "created": sweep.created, "total": sweep.total, "counts": sweep.counts,
        "progress": sweep.progress(),
    })
}

/// The document `ls --json` prints, and the dashboard shows: `runs`,
/// `sweeps` and `damaged`.
pub fn document(output: &Path, listing: &Listing<'_>, extras: &Extras<'_>) -> Value {
    let runs: Vec<_> = listing
        .runs
        .iter()
        .map(|r| run_json(output, r, &listing.params))
        .collect();
    let sweeps: Vec<_> = extras.sweeps.iter().map(|s| sweep_json(s)).collect();
    let damaged: Vec<_> = extras
        .damaged
        .iter()
        .map(|(path, reason)| json!({"path": path, "reason": reason}))
        .collect();
    json!({"runs": runs, "sweeps": sweeps, "damaged": damaged})
}

/// `dir` relative to `output` with `/` separators (`dir` itself when it is
/// not below `output`).
pub fn relative(output: &Path, dir: &Path) -> String {
    let rel = dir.strip_prefix(output).unwrap_or(dir);
    let parts: Vec<_> = rel.iter().map(|p| p.to_string_lossy()).collect();
    parts.join("/")
}

/// Lists the runs under `output` into `out`.
pub fn ls(output: &Path, options: &LsOptions, out: &mut dyn Write) -> Result<(), RunsError> {
    let scan = scan::scan(output, ReadOptions::default())?;
    let listing = select(&scan, options)?;
    let extras = extras(&scan, &options.filter);
    if options.json {
        let doc = document(output, &listing, &extras);
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        return out.write_all(text.as_bytes()).map_err(RunsError::output);
    }
    let Extras { sweeps, damaged } = extras;
    // One write per line would be a system call per run.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let out: &mut dyn Write = &mut out;

    let mut header: Vec<String> = ["RUN", "EXPERIMENT", "STATUS", "STARTED", "DURATION"]
        .map(String::from)
        .to_vec();
    header.extend(listing.params.iter().cloned());
    header.extend(listing.metrics.iter().cloned());
    // Formatting 10,000 rows of numbers is worth both cores.
    let rows: Vec<Vec<String>> = scan::par_map(&listing.runs, |r| {
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
    });
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
    out.flush().map_err(RunsError::output)?;
    drop(listing);
    // Freeing 10,000 records takes a noticeable share of `ls`; the answer
    // is out, so do it off this thread (a process that exits now skips it).
    std::thread::spawn(move || drop(scan));
    Ok(())
}
