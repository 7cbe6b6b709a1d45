//! Choosing and ordering runs: the filters of `ls` and `gc`, the parameters
//! that differ, and `--sort`.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use crate::error::RunsError;
use crate::scan::{RunRecord, Status};

/// Which runs to keep. Every given filter must hold.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The experiment's name.
    pub experiment: Option<String>,
    /// The status (`dead` included).
    pub status: Option<Status>,
    /// `name=value` conditions on parameters.
    pub wheres: Vec<(String, String)>,
    /// Runs started at or after this instant.
    pub since: Option<jiff::Timestamp>,
}

impl Filter {
    /// Whether any condition is set.
    pub fn is_empty(&self) -> bool {
        self.experiment.is_none()
            && self.status.is_none()
            && self.wheres.is_empty()
            && self.since.is_none()
    }

    /// Whether `run` passes every condition.
    pub fn matches(&self, run: &RunRecord) -> bool {
        if self
            .experiment
            .as_ref()
            .is_some_and(|e| *e != run.info.experiment)
        {
            return false;
        }
        if self.status.is_some_and(|s| s != run.status) {
            return false;
        }
        if let Some(since) = self.since {
            match run.info.started.parse::<jiff::Timestamp>() {
                Ok(started) if started >= since => {}
                _ => return false,
            }
        }
        self.wheres
            .iter()
            .all(|(name, want)| run.params.get(name).is_some_and(|v| value_matches(v, want)))
    }
}

/// Parses a `--status` value.
pub fn parse_status(text: &str) -> Result<Status, RunsError> {
    Status::ALL
        .into_iter()
        .find(|s| s.name() == text)
        .ok_or_else(|| RunsError::BadOption {
            option: "--status",
            value: text.to_owned(),
            reason: format!(
                "expected one of {}",
                Status::ALL.map(Status::name).join(", ")
            ),
        })
}

/// Parses a `--where name=value` condition.
pub fn parse_where(text: &str) -> Result<(String, String), RunsError> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(RunsError::BadOption {
            option: "--where",
            value: text.to_owned(),
            reason: "expected NAME=VALUE, e.g. --where lr=0.1".into(),
        }),
    }
}

/// Parses a `--since` value: an RFC 3339 instant, or a local date or date
/// and time (`2026-11-28`, `2026-11-28T09:00`).
pub fn parse_since(text: &str) -> Result<jiff::Timestamp, RunsError> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    let local = text.parse::<jiff::civil::DateTime>().or_else(|_| {
        text.parse::<jiff::civil::Date>()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
    });
    local
        .ok()
        .and_then(|dt| dt.to_zoned_datetime(jiff::tz::TimeZone::system()).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| RunsError::BadOption {
            option: "--since",
            value: text.to_owned(),
            reason: "expected a date (2026-11-28), a local date and time (2026-11-28T09:30) \
                     or an RFC 3339 instant"
                .into(),
        })
}

/// Whether a parameter's value equals what the user typed: numbers compare
/// as numbers (`0.10` = `0.1`), `null`/`~` match an unset value, anything
/// else compares as text.
fn value_matches(value: &serde_json::Value, want: &str) -> bool {
    match value {
        serde_json::Value::Null => matches!(want, "null" | "~" | ""),
        serde_json::Value::Number(n) => match (n.as_f64(), want.parse::<f64>()) {
            (Some(have), Ok(want)) => have == want,
            _ => false,
        },
        serde_json::Value::String(s) => s == want,
        other => render_value(other) == want,
    }
}

/// A parameter value as one short piece of text.
pub fn render_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Names of the parameters whose values are not the same in all `runs`
/// (a missing parameter counts as a value of its own).
pub fn differing_params(runs: &[&RunRecord]) -> Vec<String> {
    let mut names: BTreeSet<&String> = BTreeSet::new();
    for run in runs {
        for name in run.params.keys() {
            // Runs of one program share their names: look up before inserting.
            if !names.contains(name) {
                names.insert(name);
            }
        }
    }
    names
        .into_iter()
        .filter(|name| {
            let mut values = runs.iter().map(|r| r.params.get(*name));
            let first = values.next().flatten();
            values.any(|v| v != first)
        })
        .cloned()
        .collect()
}

/// Every tag recorded by any of `runs`.
pub fn metric_tags(runs: &[&RunRecord]) -> Vec<String> {
    let tags: BTreeSet<&String> = runs.iter().flat_map(|r| r.metrics.keys()).collect();
    tags.into_iter().cloned().collect()
}

/// The value of column `key` for sorting: a built-in column, a parameter
/// or a metric.
#[derive(Debug, PartialEq, PartialOrd)]
enum SortKey {
    Number(f64),
    Text(String),
}

fn sort_key(run: &RunRecord, key: &str) -> Option<SortKey> {
    let text = |s: &str| Some(SortKey::Text(s.to_owned()));
    match key {
        "id" | "run" => text(&run.id),
        "experiment" => text(&run.info.experiment),
        "status" => text(run.status.name()),
        "started" | "start" => run
            .info
            .started
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| SortKey::Number(t.as_millisecond() as f64)),
        "duration" | "duration_s" => run.info.duration_s.map(SortKey::Number),
        _ => {
            if let Some(point) = run.metrics.get(key) {
                return Some(SortKey::Number(point.value));
            }
            match run.params.get(key)? {
                serde_json::Value::Number(n) => n.as_f64().map(SortKey::Number),
                other => Some(SortKey::Text(render_value(other))),
            }
        }
    }
}

/// The columns `--sort` accepts besides parameters and metrics.
pub const BUILTIN_COLUMNS: [&str; 5] = ["id", "experiment", "status", "started", "duration"];

/// Sorts `runs` by `key` (runs without a value last, NaN after numbers),
/// then by id. Fails when no listed run has such a column.
pub fn sort_runs(runs: &mut [&RunRecord], key: &str, descending: bool) -> Result<(), RunsError> {
    let known = BUILTIN_COLUMNS.contains(&key)
        || matches!(key, "run" | "start" | "duration_s")
        || runs
            .iter()
            .any(|r| r.metrics.contains_key(key) || r.params.contains_key(key));
    if !known && !runs.is_empty() {
        return Err(RunsError::BadOption {
            option: "--sort",
            value: key.to_owned(),
            reason: format!(
                "no such column: use {}, a parameter or a metric",
                BUILTIN_COLUMNS.join(", ")
            ),
        });
    }
    // Each key computed once, not once per comparison.
    let mut keyed: Vec<(Option<SortKey>, &RunRecord)> =
        runs.iter().map(|r| (sort_key(r, key), *r)).collect();
    keyed.sort_by(|(ka, a), (kb, b)| {
        let order = match (ka, kb) {
            (Some(x), Some(y)) => {
                let o = x.partial_cmp(y).unwrap_or_else(|| nan_last(x, y));
                if descending { o.reverse() } else { o }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        order.then_with(|| a.id.cmp(&b.id))
    });
    for (slot, (_, run)) in runs.iter_mut().zip(keyed) {
        *slot = run;
    }
    Ok(())
}

/// Orders NaN after numbers, and numbers before text.
fn nan_last(x: &SortKey, y: &SortKey) -> Ordering {
    let rank = |k: &SortKey| match k {
        SortKey::Number(n) if n.is_nan() => 1,
        SortKey::Number(_) => 0,
        SortKey::Text(_) => 2,
    };
    rank(x).cmp(&rank(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_as_numbers_text_and_null() {
        assert!(value_matches(&serde_json::json!(0.1), "0.10"));
        assert!(value_matches(&serde_json::json!(3), "3.0"));
        assert!(!value_matches(&serde_json::json!(3), "x"));
        assert!(value_matches(&serde_json::json!("World"), "World"));
        assert!(value_matches(&serde_json::json!(true), "true"));
        assert!(value_matches(&serde_json::Value::Null, "null"));
    }

    #[test]
    fn bad_filters_name_the_option_and_value() {
        let e = parse_where("lr").unwrap_err().to_string();
        assert!(e.contains("--where") && e.contains("'lr'"), "{e}");
        let e = parse_status("done").unwrap_err().to_string();
        assert!(e.contains("--status") && e.contains("dead"), "{e}");
        let e = parse_since("yesterday").unwrap_err().to_string();
        assert!(e.contains("--since") && e.contains("'yesterday'"), "{e}");
        assert!(parse_since("2026-11-28").is_ok());
        assert!(parse_since("2026-11-28T09:30").is_ok());
        assert_eq!(
            parse_since("2026-11-28T09:30:00Z").unwrap().to_string(),
            "2026-11-28T09:30:00Z"
        );
    }
}
