//! Command-line sweeps, on every experiment:
//!
//! ```text
//! prog work --sweep int_param=1,2 --sweep str_param=hello,world --jobs 2
//! prog work --sweep random_seed=1..6 --epochs 3 --resume-sweep
//! ```
//!
//! `--sweep NAME=V1,V2,...` (repeatable) gives a parameter a list of values
//! (`\,` for a literal comma; `A..B` for the integers A to B-1); the runs
//! are the cartesian product, in the order the options were given, at most
//! [`MAX_SWEEP_RUNS`] of them (counted before any is built). Every
//! other option applies to all runs. `--jobs N` runs N at once (default 1),
//! `--gpus-per-run N` hands each run N ids from `CUDA_VISIBLE_DEVICES`, and
//! `--resume-sweep` continues the latest identical sweep: what completed is
//! skipped, the rest runs again.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::{Arg, ArgAction, ArgMatches, Command};

use super::sweep_slurm::{self, FOLLOW_FLAGS, LAUNCH_FLAGS};
use super::{CliError, CliOutcome, command, error_kind};
use crate::error::Source;
use crate::error::SweepError;
use crate::experiment::{Experiment, HasParams};
use crate::param::names;
use crate::resolve::Request;
use crate::sweep::{MANIFEST_FILE, MAX_SWEEP_RUNS};
use crate::sweep::{Sweep, param_matrix, shell_quote};
use crate::value::{Value, Values};

const SWEEP: &str = "sweep";
const JOBS: &str = "jobs";
const GPUS_PER_RUN: &str = "gpus-per-run";
const RESUME: &str = "resume-sweep";
const HEADING: &str = "Sweeps";

/// The reserved long flags (a parameter may not take them).
pub(crate) const FLAGS: [&str; 4] = [SWEEP, JOBS, GPUS_PER_RUN, RESUME];

/// The sweep options, shown in their own help section.
pub(crate) fn args() -> Vec<Arg> {
    let local = [
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
    ];
    local
        .into_iter()
        .chain(sweep_slurm::args())
        .map(|arg| arg.help_heading(HEADING))
        .collect()
}

/// Whether any sweep option was given.
pub(crate) fn requested(matches: &ArgMatches) -> bool {
    FLAGS
        .iter()
        .chain(&LAUNCH_FLAGS)
        .chain(&FOLLOW_FLAGS)
        .any(|id| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
}

/// `--sweep-status DIR` / `--sweep-wait DIR`: shows (or waits for) an
/// existing sweep.
fn follow(dir: &Path, wait: bool) -> Result<CliOutcome, CliError> {
    crate::logging::install();
    if wait {
        let report = crate::sweep::SlurmLauncher::wait(dir).map_err(CliError::Run)?;
        println!("{report}");
        return Ok(CliOutcome::Sweep(report));
    }
    let (report, live) = crate::sweep::sweep_status(dir).map_err(CliError::Run)?;
    let tail = match live {
        Some(live) => format!(
            "{live}; wait for them with --sweep-wait {}",
            shell_quote(&dir.display().to_string())
        ),
        None => "nothing of it is queued or running".to_owned(),
    };
    Err(CliError::Output(format!("{report}\n{tail}\n")))
}

/// Runs the sweep the command line describes and prints its report.
pub(crate) fn run(
    exp: &Experiment,
    cmd: &mut Command,
    matches: &ArgMatches,
    args: &[OsString],
) -> Result<CliOutcome, CliError> {
    let usage = |cmd: &mut Command, kind, message: String| CliError::Clap(cmd.error(kind, message));
    if let Some((dir, wait)) = sweep_slurm::follow(matches) {
        return follow(&absolute(&dir), wait);
    }
    let specs: Vec<&String> = matches
        .get_many::<String>(SWEEP)
        .map(Iterator::collect)
        .unwrap_or_default();
    if specs.is_empty() {
        return Err(usage(
            cmd,
            ErrorKind::MissingRequiredArgument,
            "--jobs, --gpus-per-run, --resume-sweep, --launcher and the SLURM options need at \
             least one --sweep"
                .to_owned(),
        ));
    }
    if let Some(option) = sweep_slurm::slurm_option_without_slurm(matches) {
        return Err(usage(
            cmd,
            ErrorKind::ArgumentConflict,
            format!("--{option} needs --launcher slurm"),
        ));
    }
    let mut axes: Vec<Axis> = Vec::new();
    for spec in specs {
        let axis = parse_axis(exp, spec).map_err(|m| usage(cmd, ErrorKind::ValueValidation, m))?;
        if axes.iter().any(|a| a.name == axis.name) {
            return Err(usage(
                cmd,
                ErrorKind::ArgumentConflict,
                format!("--sweep gives '{}' twice", axis.name),
            ));
        }
        axes.push(axis);
    }
    // Count before anything is built: a range can hold 2^63 values.
    check_size(&axes).map_err(|m| usage(cmd, ErrorKind::ValueValidation, m))?;

    // Every run must be valid before any starts. Values are checked one at
    // a time, so each value of each axis is checked once (with the first
    // value of every other axis), not every combination: the sum of the
    // axes' lengths, not their product.
    let base = command::request(exp.param_set(), matches, args);
    let resolve = |point: Values| -> Result<_, CliError> {
        let mut request: Request = base.clone();
        request.overrides = exp
            .programmatic_request(point)
            .map_err(|e| CliError::Run(e.into()))?
            .overrides;
        request.overrides.origin = Source::CommandLine;
        exp.resolve(request)
            .map_err(|e| CliError::Clap(cmd.clone().error(error_kind(&e), e)))
    };
    let first: Values = axes
        .iter()
        .map(|a| (a.name.clone(), Value::Str(a.value(0))))
        .collect();
    let resolved = resolve(first.clone())?;
    for axis in &axes {
        for i in 1..axis.len() {
            let mut point = first.clone();
            point.insert(axis.name.clone(), Value::Str(axis.value(i)));
            resolve(point)?;
        }
    }
    let output_dir: PathBuf = resolved.params.get(names::OUTPUT_DIR).map_err(|e| {
        CliError::Run(crate::error::Error::Setup {
            experiment: exp.name().to_owned(),
            source: e.into(),
        })
    })?;
    let points = param_matrix(axes.iter().map(|a| {
        (
            a.name.clone(),
            Value::List((0..a.len()).map(|i| Value::Str(a.value(i))).collect()),
        )
    }));

    let base_args = without_sweep_options(args);
    let resume = matches.get_flag(RESUME);
    let sweeps = output_dir.join("sweeps");
    let path = exp.program_path();
    let resumable = if resume {
        find_resumable(&sweeps.join(exp.name()), path.words(), &base_args, &points)
            .map_err(|e| CliError::Run(e.into()))?
    } else {
        None
    };
    // The sweep's parent logs like a run: where the manifest is, how to
    // resume, what went wrong (a program's own subscriber takes precedence).
    crate::logging::install();
    let looked_for = format!(
        "experiment {}, options [{}], {} parameter sets",
        path,
        base_args.join(" "),
        points.len()
    );
    let mut sweep = Sweep::new(exp, points)
        .with_args(base_args)
        .max_processes(matches.get_one::<u32>(JOBS).map_or(1, |&n| n as usize))
        .resume_command(resume_command());
    sweep = match resumable {
        Some(dir) => {
            tracing::info!(target: "rystematic", "Resuming the sweep in {}", dir.display());
            sweep.dir(dir).resume(true)
        }
        None => {
            if resume {
                tracing::warn!(
                    target: "rystematic",
                    "--resume-sweep: no sweep in {} is this one ({looked_for}); starting a new one",
                    absolute(&sweeps.join(exp.name())).display(),
                );
            }
            // The sweep creates its directory once it is known to be valid.
            sweep.in_new_dir_under(sweeps)
        }
    };
    if let Some(&n) = matches.get_one::<u32>(GPUS_PER_RUN) {
        sweep = sweep.gpus_per_run(n as usize);
    }
    if let Some(launcher) = sweep_slurm::launcher(matches) {
        sweep = sweep
            .launcher(launcher)
            .detach(matches.get_flag(sweep_slurm::DETACH));
    }
    let report = sweep.run().map_err(CliError::Run)?;
    if let Some(detached) = &report.detached {
        let dir = shell_quote(&report.dir.display().to_string());
        return Err(CliError::Output(format!(
            "Submitted {} runs as {detached}\nsweep directory: {}\nfollow it with: --sweep-status \
             {dir} (or --sweep-wait {dir})\n",
            report
                .runs
                .iter()
                .filter(|r| r.status != crate::sweep::SweepStatus::Completed)
                .count(),
            report.dir.display()
        )));
    }
    println!("{report}");
    Ok(CliOutcome::Sweep(report))
}

/// One `--sweep` option: a parameter and its values.
#[derive(Debug)]
pub(crate) struct Axis {
    /// The parameter.
    pub(crate) name: String,
    values: AxisValues,
}

/// A range is kept as its bounds, so it costs nothing until it is counted
/// (and refused if too large).
#[derive(Debug)]
enum AxisValues {
    /// The integers `start..end`.
    Range(i64, i64),
    List(Vec<String>),
}

impl Axis {
    /// How many values (a range of i64 can hold more than usize on 32 bits).
    pub(crate) fn count(&self) -> u128 {
        match &self.values {
            AxisValues::Range(start, end) => {
                u128::try_from(i128::from(*end) - i128::from(*start)).unwrap_or(0)
            }
            AxisValues::List(values) => values.len() as u128,
        }
    }

    /// How many values, once [`check_size`] has bounded them.
    fn len(&self) -> usize {
        usize::try_from(self.count()).unwrap_or(usize::MAX)
    }

    /// The `i`th value, as typed on the command line.
    fn value(&self, i: usize) -> String {
        match &self.values {
            AxisValues::Range(start, _) => (i128::from(*start) + i as i128).to_string(),
            AxisValues::List(values) => values[i].clone(),
        }
    }
}

/// Refuses a sweep of more than [`MAX_SWEEP_RUNS`] runs.
fn check_size(axes: &[Axis]) -> Result<(), String> {
    let total = axes
        .iter()
        .try_fold(1u128, |acc, axis| acc.checked_mul(axis.count()));
    if total.is_some_and(|n| n <= MAX_SWEEP_RUNS as u128) {
        return Ok(());
    }
    let sizes: Vec<String> = axes
        .iter()
        .map(|a| format!("{}: {} values", a.name, a.count()))
        .collect();
    let total = total.map_or_else(|| "more than 2^128".to_owned(), |n| n.to_string());
    Err(format!(
        "invalid value for '--sweep': {total} runs ({}) is more than the limit of {MAX_SWEEP_RUNS} \
         runs per sweep",
        sizes.join(" × ")
    ))
}

/// `lr=0.1,0.01` → lr: ["0.1", "0.01"]; `seed=0..5` → seed: 0 to 4.
pub(crate) fn parse_axis(exp: &Experiment, spec: &str) -> Result<Axis, String> {
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
        Some((start, end)) => AxisValues::Range(start, end),
        None => AxisValues::List(split_escaped(list)),
    };
    let axis = Axis { name, values };
    if axis.count() == 0 {
        return Err(format!("invalid value '{spec}' for '--sweep': no values"));
    }
    Ok(axis)
}

/// `1..4` → (1, 4): the integers 1, 2, 3.
fn range(text: &str) -> Option<(i64, i64)> {
    let (start, end) = text.split_once("..")?;
    Some((start.trim().parse().ok()?, end.trim().parse().ok()?))
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
            Some(RESUME | sweep_slurm::DETACH) => {}
            Some(name) if FLAGS.contains(&name) || LAUNCH_FLAGS.contains(&name) => {
                if !token.contains('=') {
                    tokens.next();
                }
            }
            _ => kept.push(token),
        }
    }
    kept
}

/// The newest sweep under `parent` that is this same sweep (absolute).
///
/// A manifest that cannot be read, met before the match, is an error: it
/// may be the very sweep asked for, and starting a new one instead would run
/// every completed run again.
fn find_resumable(
    parent: &Path,
    path: &[String],
    args: &[String],
    points: &[Values],
) -> Result<Option<PathBuf>, SweepError> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Ok(None);
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|d| d.join(MANIFEST_FILE).is_file())
        .collect();
    dirs.sort();
    for dir in dirs.into_iter().rev() {
        let manifest =
            crate::sweep::read_manifest(&dir).map_err(|source| SweepError::BadManifest {
                path: absolute(&dir.join(MANIFEST_FILE)),
                source,
            })?;
        if manifest.is_same_sweep(path, args, points) {
            return Ok(Some(absolute(&dir)));
        }
    }
    Ok(None)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// This process's command line with `--resume-sweep`, quoted for a POSIX
/// shell.
fn resume_command() -> String {
    let mut words: Vec<String> = std::env::args_os()
        .map(|a| shell_quote(&a.to_string_lossy()))
        .collect();
    if !words.iter().any(|w| w == "--resume-sweep") {
        words.push("--resume-sweep".to_owned());
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_on_unescaped_commas() {
        assert_eq!(split_escaped("a,b\\,c,"), ["a", "b,c", ""]);
        assert_eq!(split_escaped("x"), ["x"]);
        assert_eq!(range("1..4").unwrap(), (1, 4));
        assert!(range("a..b").is_none());
    }

    #[test]
    fn resume_commands_are_quoted_for_a_shell() {
        assert_eq!(shell_quote("int_param=0..3"), "int_param=0..3");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
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
