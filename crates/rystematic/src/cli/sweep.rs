//! Command-line sweeps, on every experiment:
//!
//! ```text
//! prog work --sweep int_param=1,2 --sweep str_param=hello,world --jobs 2
//! prog work --sweep random_seed=1..6 --epochs 3 --resume-sweep
//! ```
//!
//! `--sweep NAME=V1,V2,...` (repeatable) gives a parameter a list of values
//! (`\,` for a literal comma; `A..B` for the integers A to B-1); the runs
//! are the cartesian product, in the order the options were given. Every
//! other option applies to all runs. `--jobs N` runs N at once (default 1),
//! `--gpus-per-run N` hands each run N ids from `CUDA_VISIBLE_DEVICES`, and
//! `--resume-sweep` continues the latest identical sweep: what completed is
//! skipped, the rest runs again.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::{Arg, ArgAction, ArgMatches, Command};

use super::{CliError, CliOutcome, command, error_kind};
use crate::error::Source;
use crate::experiment::{Experiment, HasParams, Values};
use crate::resolve::Request;
use crate::standard::{clock, names, run_dir};
use crate::sweep::MANIFEST_FILE;
use crate::sweep::{Sweep, param_matrix};
use crate::value::Value;

const SWEEP: &str = "sweep";
const JOBS: &str = "jobs";
const GPUS_PER_RUN: &str = "gpus-per-run";
const RESUME: &str = "resume-sweep";
const HEADING: &str = "Sweeps";

/// The reserved long flags (a parameter may not take them).
pub(crate) const FLAGS: [&str; 4] = [SWEEP, JOBS, GPUS_PER_RUN, RESUME];

/// The sweep options, shown in their own help section.
pub(crate) fn args() -> [Arg; 4] {
    [
        Arg::new(SWEEP)
            .long(SWEEP)
            .value_name("NAME=V1,V2,..")
            .action(ArgAction::Append)
            .help("Run once per value (repeat for a grid; A..B for integers A to B-1)"),
        Arg::new(JOBS)
            .long(JOBS)
            .value_name("N")
            .value_parser(clap::value_parser!(u32).range(1..))
            .help("With --sweep: run N at once. Default: 1"),
        Arg::new(GPUS_PER_RUN)
            .long(GPUS_PER_RUN)
            .value_name("N")
            .value_parser(clap::value_parser!(u32).range(1..))
            .help("With --sweep: give each run N ids from CUDA_VISIBLE_DEVICES"),
        Arg::new(RESUME)
            .long(RESUME)
            .action(ArgAction::SetTrue)
            .help("With --sweep: continue the latest identical sweep"),
    ]
    .map(|arg| arg.help_heading(HEADING))
}

/// Whether any sweep option was given.
pub(crate) fn requested(matches: &ArgMatches) -> bool {
    FLAGS
        .iter()
        .any(|id| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
}

/// Runs the sweep the command line describes and prints its report.
pub(crate) fn run(
    exp: &Experiment,
    cmd: &mut Command,
    matches: &ArgMatches,
    args: &[OsString],
) -> Result<CliOutcome, CliError> {
    let usage = |cmd: &mut Command, kind, message: String| CliError::Clap(cmd.error(kind, message));
    let specs: Vec<&String> = matches
        .get_many::<String>(SWEEP)
        .map(Iterator::collect)
        .unwrap_or_default();
    if specs.is_empty() {
        return Err(usage(
            cmd,
            ErrorKind::MissingRequiredArgument,
            "--jobs, --gpus-per-run and --resume-sweep need at least one --sweep".to_owned(),
        ));
    }
    let mut axes: Vec<(String, Value)> = Vec::new();
    for spec in specs {
        let (name, values) =
            parse_axis(exp, spec).map_err(|m| usage(cmd, ErrorKind::ValueValidation, m))?;
        if axes.iter().any(|(n, _)| *n == name) {
            return Err(usage(
                cmd,
                ErrorKind::ArgumentConflict,
                format!("--sweep gives '{name}' twice"),
            ));
        }
        axes.push((
            name,
            Value::List(values.into_iter().map(Value::Str).collect()),
        ));
    }
    let points = param_matrix(axes);

    // Every run must be valid before any starts.
    let base = command::request(exp.param_set(), matches, args);
    let resolve = |point: &Values| -> Result<_, CliError> {
        let mut request: Request = base.clone();
        request.overrides = exp
            .programmatic_request(point.clone())
            .map_err(|e| CliError::Run(e.into()))?
            .overrides;
        request.overrides.origin = Source::CommandLine;
        exp.resolve(request)
            .map_err(|e| CliError::Clap(cmd.clone().error(error_kind(&e), e)))
    };
    let resolved = points.iter().map(resolve).collect::<Result<Vec<_>, _>>()?;
    let output_dir: PathBuf = resolved[0].params.get(names::OUTPUT_DIR).map_err(|e| {
        CliError::Run(crate::error::Error::Process {
            experiment: exp.name().to_owned(),
            reason: e.to_string(),
        })
    })?;

    let base_args = without_sweep_options(args);
    let resume = matches.get_flag(RESUME);
    let sweeps = output_dir.join("sweeps");
    let path = exp.process_path();
    let resumable = resume
        .then(|| find_resumable(&sweeps.join(exp.name()), &path, &base_args, &points))
        .flatten();
    let dir = match resumable {
        Some(dir) => {
            tracing::info!(target: "rystematic", "resuming the sweep in {}", dir.display());
            dir
        }
        None => {
            if resume {
                tracing::info!(target: "rystematic", "no identical sweep to resume; starting a new one");
            }
            run_dir::create(&sweeps, exp.name(), &clock::now()).map_err(|e| {
                CliError::Run(crate::error::Error::Process {
                    experiment: exp.name().to_owned(),
                    reason: format!("cannot create a sweep directory: {e}"),
                })
            })?
        }
    };
    let mut sweep = Sweep::new(exp, points)
        .with_args(base_args)
        .max_processes(matches.get_one::<u32>(JOBS).map_or(1, |&n| n as usize))
        .dir(dir)
        .resume(true);
    if let Some(&n) = matches.get_one::<u32>(GPUS_PER_RUN) {
        sweep = sweep.gpus_per_run(n as usize);
    }
    let report = sweep.run().map_err(CliError::Run)?;
    println!("{report}");
    Ok(CliOutcome::Sweep(report))
}

/// `lr=0.1,0.01` → ("lr", ["0.1", "0.01"]).
pub(crate) fn parse_axis(exp: &Experiment, spec: &str) -> Result<(String, Vec<String>), String> {
    let (name, list) = spec
        .split_once('=')
        .ok_or_else(|| format!("invalid value '{spec}' for '--sweep': expected NAME=V1,V2,..."))?;
    let name = name.trim().replace('-', "_");
    let param = exp
        .param_set()
        .iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| {
            format!("invalid value '{spec}' for '--sweep': no parameter named '{name}'")
        })?;
    if param.name() == names::PARAMS_FILE {
        return Err("'--sweep' cannot vary params_file".to_owned());
    }
    let values = match range(list).filter(|_| param.kind.is_integer()) {
        Some(values) => values,
        None => split_escaped(list),
    };
    if values.is_empty() {
        return Err(format!("invalid value '{spec}' for '--sweep': no values"));
    }
    Ok((name, values))
}

/// `1..4` → 1, 2, 3.
fn range(text: &str) -> Option<Vec<String>> {
    let (start, end) = text.split_once("..")?;
    let (start, end): (i64, i64) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    Some((start..end).map(|i| i.to_string()).collect())
}

/// Splits on commas, except `\,`.
fn split_escaped(text: &str) -> Vec<String> {
    let mut values = vec![String::new()];
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                values.last_mut().expect("never empty").push(',');
                chars.next();
            }
            ',' => values.push(String::new()),
            c => values.last_mut().expect("never empty").push(c),
        }
    }
    values
}

/// The options common to every run: the command line without the sweep
/// options (clap has validated it, so each of them is `--opt value`,
/// `--opt=value` or, for the flag, `--resume-sweep`).
fn without_sweep_options(args: &[OsString]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut tokens = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(token) = tokens.next() {
        if token == "--" {
            kept.push(token);
            kept.extend(tokens.by_ref());
            break;
        }
        let name = token
            .strip_prefix("--")
            .map(|t| t.split('=').next().unwrap_or(t));
        match name {
            Some(RESUME) => {}
            Some(name) if FLAGS.contains(&name) => {
                if !token.contains('=') {
                    tokens.next();
                }
            }
            _ => kept.push(token),
        }
    }
    kept
}

/// The newest sweep under `parent` that is this same sweep.
fn find_resumable(
    parent: &Path,
    path: &[String],
    args: &[String],
    points: &[Values],
) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(parent)
        .ok()?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|d| d.join(MANIFEST_FILE).is_file())
        .collect();
    dirs.sort();
    dirs.into_iter().rev().find(|dir| {
        crate::sweep::read_manifest(dir).is_ok_and(|m| m.is_same_sweep(path, args, points))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_on_unescaped_commas() {
        assert_eq!(split_escaped("a,b\\,c,"), ["a", "b,c", ""]);
        assert_eq!(split_escaped("x"), ["x"]);
        assert_eq!(range("1..4").unwrap(), ["1", "2", "3"]);
        assert!(range("a..b").is_none());
    }

    #[test]
    fn sweep_options_are_removed_from_the_common_options() {
        let args: Vec<OsString> = [
            "--a",
            "1",
            "--sweep",
            "x=1,2",
            "--jobs=2",
            "--resume-sweep",
            "--gpus-per-run",
            "1",
            "--b",
            "--sweep=y=3",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        assert_eq!(without_sweep_options(&args), ["--a", "1", "--b"]);
    }
}
