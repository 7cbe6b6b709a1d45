//! `rystematic show RUN` and `rystematic diff RUN RUN`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use rystematic::{SlurmInfo, WorldInfo};

use crate::error::RunsError;
use crate::scalars::{self, SCALARS_FILE};
use crate::scan::RunRecord;
use crate::select::render_value;
use crate::table::{self, write_table};

/// How many lines of the log `show` prints.
const LOG_LINES: usize = 10;

/// The metadata rows of a run, in display order (missing values as `-`).
pub fn metadata(run: &RunRecord) -> Vec<(&'static str, String)> {
    let info = &run.info;
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let json = serde_json::to_value(info).unwrap_or_default();
    let field = |name: &str| match json.get(name) {
        Some(serde_json::Value::Null) | None => "-".to_owned(),
        Some(v) => render_value(v),
    };
    let build = json.get("build");
    let build_field = |name: &str| {
        build
            .and_then(|b| b.get(name))
            .filter(|v| !v.is_null())
            .map_or_else(|| "-".to_owned(), render_value)
    };
    vec![
        ("run", run.id.clone()),
        ("dir", run.dir.display().to_string()),
        ("experiment", info.experiment.clone()),
        ("status", run.status.name().to_owned()),
        ("started", info.started.clone()),
        ("ended", opt(info.ended.clone())),
        ("duration", table::short_duration(info.duration_s)),
        ("error", opt(info.error.clone())),
        ("host", info.host.clone()),
        ("pid", info.pid.to_string()),
        ("command", opt(info.argv.as_ref().map(|a| a.join(" ")))),
        ("cwd", field("cwd")),
        (
            "git commit",
            opt(info.git.as_ref().and_then(|g| g.commit.clone())),
        ),
        (
            "git dirty",
            opt(info
                .git
                .as_ref()
                .and_then(|g| g.dirty)
                .map(|d| d.to_string())),
        ),
        ("executable", field("executable")),
        ("executable sha256", field("executable_sha256")),
        ("rystematic", info.rystematic_version.clone()),
        ("rustc", build_field("rustc")),
        ("target", build_field("target")),
        ("profile", build_field("profile")),
        ("random_seed", info.random_seed.to_string()),
        ("attempt", info.attempt.to_string()),
        (
            "slurm",
            info.slurm.as_ref().map_or_else(|| "-".into(), slurm_line),
        ),
        (
            "world",
            info.world.as_ref().map_or_else(|| "-".into(), world_line),
        ),
    ]
}

/// Where SLURM ran the run: `job 42 (array 40, task 2) on n1, restarted 1×`.
fn slurm_line(slurm: &SlurmInfo) -> String {
    let mut line = format!("job {}", slurm.job_id);
    match (&slurm.array_job_id, slurm.array_task_id) {
        (Some(array), Some(task)) => line.push_str(&format!(" (array {array}, task {task})")),
        (Some(array), None) => line.push_str(&format!(" (array {array})")),
        _ => {}
    }
    if let Some(node) = &slurm.node {
        line.push_str(&format!(" on {node}"));
    }
    if slurm.restart_count > 0 {
        line.push_str(&format!(", restarted {}×", slurm.restart_count));
    }
    line
}

/// A distributed run's world: `4 workers on 2 nodes (a, b), master a:29500`.
fn world_line(world: &WorldInfo) -> String {
    let nodes = if world.nnodes == 1 { "node" } else { "nodes" };
    format!(
        "{} workers on {} {nodes} ({}), master {}:{}",
        world.world_size,
        world.nnodes,
        world.hosts.join(", "),
        world.master_addr,
        world.master_port
    )
}

/// Prints one run: metadata, parameters, metrics, log tail, files.
pub fn show(run: &RunRecord, out: &mut dyn Write) -> Result<(), RunsError> {
    for (key, value) in metadata(run) {
        writeln!(out, "{key:<18} {value}").map_err(RunsError::output)?;
    }
    writeln!(out, "\nparameters:").map_err(RunsError::output)?;
    if let Some(reason) = &run.params_error {
        writeln!(out, "  ({reason})").map_err(RunsError::output)?;
    }
    for (name, value) in &run.params {
        writeln!(out, "  {name}: {}", render_value(value)).map_err(RunsError::output)?;
    }

    let rows = scalars::all_rows(&run.dir.join(SCALARS_FILE)).unwrap_or_default();
    if !rows.is_empty() {
        writeln!(out, "\nmetrics:").map_err(RunsError::output)?;
        let mut summary: BTreeMap<&str, (usize, u64, f64, f64, f64)> = BTreeMap::new();
        for (step, tag, value) in &rows {
            let e = summary
                .entry(tag)
                .or_insert((0, *step, *value, *value, *value));
            *e = (e.0 + 1, *step, *value, e.3.min(*value), e.4.max(*value));
        }
        let header = ["  TAG", "POINTS", "LAST STEP", "LAST", "MIN", "MAX"].map(String::from);
        let rows: Vec<Vec<String>> = summary
            .iter()
            .map(|(tag, (n, step, last, min, max))| {
                vec![
                    format!("  {tag}"),
                    n.to_string(),
                    step.to_string(),
                    table::short_number(*last),
                    table::short_number(*min),
                    table::short_number(*max),
                ]
            })
            .collect();
        write_table(out, &header, &rows).map_err(RunsError::output)?;
    }

    let log = log_tail(&run.dir.join("log.txt"), LOG_LINES);
    if !log.is_empty() {
        writeln!(out, "\nlog (last {} lines):", log.len()).map_err(RunsError::output)?;
        for line in log {
            writeln!(out, "  {line}").map_err(RunsError::output)?;
        }
    }

    writeln!(out, "\nfiles:").map_err(RunsError::output)?;
    let mut entries: Vec<_> = std::fs::read_dir(&run.dir)
        .map_err(RunsError::io(&run.dir))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        match entry.metadata() {
            Ok(m) if m.is_dir() => writeln!(out, "  {name}/"),
            Ok(m) => writeln!(out, "  {name} ({} bytes)", m.len()),
            Err(_) => writeln!(out, "  {name}"),
        }
        .map_err(RunsError::output)?;
    }
    Ok(())
}

/// The last `n` lines of a text file, reading only its end.
fn log_tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(16 * 1024);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // probably cut
    }
    let from = lines.len().saturating_sub(n);
    lines[from..].iter().map(|l| (*l).to_owned()).collect()
}

/// Prints what differs between two runs: parameters, metadata, final
/// metrics. Returns whether anything differs.
pub fn diff(a: &RunRecord, b: &RunRecord, out: &mut dyn Write) -> Result<bool, RunsError> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let section =
        |rows: &mut Vec<Vec<String>>, title: &str, items: Vec<(String, String, String)>| {
            let differing: Vec<_> = items.into_iter().filter(|(_, x, y)| x != y).collect();
            if !differing.is_empty() {
                rows.push(vec![format!("{title}:"), String::new(), String::new()]);
                rows.extend(
                    differing
                        .into_iter()
                        .map(|(k, x, y)| vec![format!("  {k}"), x, y]),
                );
            }
        };

    let names: BTreeSet<&String> = a.params.keys().chain(b.params.keys()).collect();
    let param = |r: &RunRecord, n: &str| r.params.get(n).map_or_else(|| "-".into(), render_value);
    section(
        &mut rows,
        "parameters",
        names
            .iter()
            .map(|n| ((*n).clone(), param(a, n), param(b, n)))
            .collect(),
    );

    // The run's identity always differs; compare what it ran with.
    const SKIP: [&str; 6] = ["run", "dir", "started", "ended", "pid", "duration"];
    let (ma, mb) = (metadata(a), metadata(b));
    section(
        &mut rows,
        "metadata",
        ma.into_iter()
            .zip(mb)
            .filter(|((k, _), _)| !SKIP.contains(k))
            .map(|((k, x), (_, y))| (k.to_owned(), x, y))
            .collect(),
    );

    let tags: BTreeSet<&String> = a.metrics.keys().chain(b.metrics.keys()).collect();
    let metric = |r: &RunRecord, t: &str| {
        r.metrics
            .get(t)
            .map_or_else(|| "-".into(), |p| format!("{} (step {})", p.value, p.step))
    };
    section(
        &mut rows,
        "final metrics",
        tags.iter()
            .map(|t| ((*t).clone(), metric(a, t), metric(b, t)))
            .collect(),
    );

    if rows.is_empty() {
        writeln!(out, "no differences").map_err(RunsError::output)?;
        return Ok(false);
    }
    let header = vec![String::new(), a.id.clone(), b.id.clone()];
    write_table(out, &header, &rows).map_err(RunsError::output)?;
    Ok(true)
}
