//! The command line: dispatch through a group tree, parse an experiment's
//! options, report help, completions and errors the way a CLI should.

mod command;
mod entry_points;
mod options;
pub(crate) mod sweep;
mod sweep_slurm;
mod tree;

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::path::Path;

use clap::error::ErrorKind;

use crate::error::{Error, ProcessError, UsageError};
use crate::experiment::entry::{self, EntryPoint};
use crate::experiment::group::Member;
use crate::experiment::{Experiment, Group, HasParams};
use crate::process::spec::ChildSpec;
use crate::runtime::RunSummary;
use crate::sweep::SweepReport;
use crate::value::{ExperimentPath, Values};

/// What a command line ran: one experiment, or a sweep of it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CliOutcome {
    /// A single run that completed.
    Run(RunSummary),
    /// A sweep (`--sweep`); some of its runs may have failed.
    Sweep(SweepReport),
}

impl CliOutcome {
    /// The process exit code: 0, or 1 for a sweep with a failed run.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliOutcome::Run(_) => 0,
            CliOutcome::Sweep(report) => i32::from(!report.all_completed()),
        }
    }

    /// The run, if this was a single run.
    pub fn into_run(self) -> Option<RunSummary> {
        match self {
            CliOutcome::Run(summary) => Some(summary),
            CliOutcome::Sweep(_) => None,
        }
    }
}

/// Why a command-line invocation did not produce a completed run.
///
/// Not every case is a failure: `--help` and `--completions` end here too,
/// with exit code 0. [`CliError::print`] writes each case where it belongs
/// (help and scripts to stdout, errors to stderr).
#[derive(Debug)]
#[non_exhaustive]
pub enum CliError {
    /// Help, or a usage error (unknown option, bad value, missing required
    /// value, bad params file), rendered by clap with the usage.
    Clap(clap::Error),
    /// Text to print on stdout before exiting successfully (a completion
    /// script).
    Output(String),
    /// The run started and failed; its log and `run.json` have the details.
    Run(Error),
}

impl CliError {
    /// The exit code for the process: 0 for help and completions, 2 for
    /// usage errors, 1 for a failed run.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Clap(e) => e.exit_code(),
            CliError::Output(_) => 0,
            CliError::Run(e) => e.exit_code(),
        }
    }

    /// Prints the message to stdout or stderr, as appropriate.
    pub fn print(&self) -> io::Result<()> {
        match self {
            CliError::Clap(e) => e.print(),
            CliError::Output(text) => io::stdout().lock().write_all(text.as_bytes()),
            CliError::Run(e) => e.print(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Clap(e) => write!(f, "{e}"),
            CliError::Output(text) => f.write_str(text),
            CliError::Run(e) => write!(f, "{e}"),
        }
    }
}

// Transparent: the message is the wrapped error's, so its source is the
// wrapped error's source (returning the error itself would print it twice).
impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Clap(e) => e.source(),
            CliError::Output(_) => None,
            CliError::Run(e) => e.source(),
        }
    }
}

/// The program's entry point (`cli()`): run what this process was started
/// for if it is a child, else what its command line says; then exit.
pub(crate) fn main(entry: EntryPoint) -> ! {
    entry::register(entry.clone());
    if let Some(spec) = crate::process::spec::take() {
        exit(serve_child(spec));
    }
    exit(run_entry(entry, std::env::args_os()))
}

/// Parses `argv` (program name first) against `entry` and runs it.
pub(crate) fn run_entry<I, T>(entry: EntryPoint, argv: I) -> Result<CliOutcome, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    entry::register(entry.clone());
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    match &entry {
        EntryPoint::Experiment(exp) => {
            let bin = program_name(&argv);
            let version = program_version(exp.version_text());
            let args = &argv[1.min(argv.len())..];
            run_experiment(
                exp,
                ExperimentPath::from_words([bin]),
                args,
                &argv,
                None,
                Some(&version),
            )
        }
        EntryPoint::Group(group) => run_group(group, &argv),
    }
}

/// Prints the outcome and exits the process with its code.
pub(crate) fn exit(result: Result<CliOutcome, CliError>) -> ! {
    let code = match result {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            let _ = e.print();
            e.exit_code()
        }
    };
    let _ = io::stdout().flush();
    std::process::exit(code)
}

/// What `--version` prints after the program's name.
fn program_version(declared: Option<&str>) -> String {
    declared.map_or_else(
        || {
            format!(
                "(no version set; built with rystematic {})",
                env!("CARGO_PKG_VERSION")
            )
        },
        str::to_owned,
    )
}

/// The program's file name, for usage lines and completion scripts.
pub(crate) fn program_name(argv: &[OsString]) -> String {
    argv.first()
        .and_then(|arg0| Path::new(arg0).file_name())
        .map_or_else(
            || "experiment".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        )
}

/// Parses `args` (the options after the experiment's path) and runs `exp`.
/// `path` is the program name followed by the group/experiment words that
/// led here; `argv` is the whole command line, recorded in `run.json`.
/// `overrides` (from a child's spec) win over the options. `version` is the
/// program's, for `--version` (none in a child process).
pub(crate) fn run_experiment(
    exp: &Experiment,
    path: ExperimentPath,
    args: &[OsString],
    argv: &[OsString],
    overrides: Option<&Values>,
    version: Option<&str>,
) -> Result<CliOutcome, CliError> {
    exp.check_definition();
    let mut cmd = command::experiment(exp, options::all()).bin_name(path.to_string());
    if let Some(version) = version {
        cmd = cmd
            .version(version.to_owned())
            .disable_version_flag(false)
            .display_name(path.words()[0].clone());
    }
    let matches = cmd
        .try_get_matches_from_mut(command::escape_negative_values(&cmd, args))
        .map_err(CliError::Clap)?;
    if let Some(shell) = command::completions_requested(&matches) {
        return Err(CliError::Output(command::completion_script(
            shell,
            cmd,
            &path.words()[0],
        )));
    }
    if sweep::requested(&matches) {
        return sweep::run(exp, &mut cmd, &matches, args);
    }
    let mut request = command::request(exp.param_set(), &matches, args);
    if let Some(values) = overrides {
        let programmatic = exp
            .programmatic_request(values.clone())
            .map_err(|usage| CliError::Clap(cmd.error(error_kind(&usage), usage)))?;
        request.overrides = programmatic.overrides;
        // A file named by the spec comes after those on its command line.
        request.command_line.extend(programmatic.command_line);
    }
    let argv = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let started = match options::resume_run(&matches) {
        Some(dir) => exp.start_resumed(request, Some(argv), &dir),
        None => exp.start(request, Some(argv)),
    };
    started.map(CliOutcome::Run).map_err(|e| match e {
        Error::Usage(usage) => CliError::Clap(cmd.error(error_kind(&usage), usage)),
        other => CliError::Run(other),
    })
}

/// Walks the group tree along the leading words of argv to an experiment.
pub(crate) fn run_group(root: &Group, argv: &[OsString]) -> Result<CliOutcome, CliError> {
    let version = program_version(root.version_text());
    let mut path = vec![program_name(argv)];
    let mut group = root;
    let mut rest = &argv[1.min(argv.len())..];
    loop {
        let word = rest
            .first()
            .and_then(|w| w.to_str())
            .filter(|w| !w.starts_with('-'));
        let Some(word) = word else {
            return Err(group_options(root, group, &path, rest, &version));
        };
        match group.member(word) {
            Some(Member::Group(sub)) => group = sub,
            Some(Member::Experiment(exp)) => {
                path.push(exp.name().to_owned());
                let path = ExperimentPath::from_words(path);
                return run_experiment(exp, path, &rest[1..], argv, None, Some(&version));
            }
            None => {
                let mut cmd = tree::group_command(group, &path.join(" "), &version);
                let known: Vec<_> = group.members().iter().map(Member::name).collect();
                return Err(CliError::Clap(cmd.error(
                    ErrorKind::InvalidSubcommand,
                    format!(
                        "unknown experiment or group '{word}' (expected one of: {})",
                        known.join(", ")
                    ),
                )));
            }
        }
        path.push(group.name().to_owned());
        rest = &rest[1..];
    }
}

/// Options given to a group rather than an experiment: `--help`,
/// `--completions`, or a mistake.
fn group_options(
    root: &Group,
    group: &Group,
    path: &[String],
    args: &[OsString],
    version: &str,
) -> CliError {
    let mut cmd = tree::group_command(group, &path.join(" "), version);
    match cmd.try_get_matches_from_mut(args) {
        Err(e) => CliError::Clap(e),
        Ok(matches) => match command::completions_requested(&matches) {
            Some(shell) => CliError::Output(command::completion_script(
                shell,
                tree::completion_tree(root),
                &path[0],
            )),
            None => CliError::Clap(cmd.error(ErrorKind::MissingSubcommand, "no experiment given")),
        },
    }
}

/// Runs what this child process was started for (see `process::spec`).
pub(crate) fn serve_child(spec: Result<ChildSpec, String>) -> Result<CliOutcome, CliError> {
    crate::process::child::mark_as_child_process();
    let spec = spec.map_err(|reason| child_failed("?", reason))?;
    let name = spec.experiment.to_string();
    let entry = entry::registered()
        .ok_or_else(|| child_failed(&name, "no entry point registered".to_owned()))?;
    let exp = entry
        .find(&spec.experiment)
        .map_err(|reason| child_failed(&name, reason))?;
    serve_spec(exp, spec)
}

pub(crate) fn child_failed(experiment: &str, reason: String) -> CliError {
    CliError::Run(Error::Process {
        experiment: experiment.to_owned(),
        source: ProcessError::Child { reason },
    })
}

/// Runs `exp` as `spec` asks, in this child process.
pub(crate) fn serve_spec(exp: &Experiment, spec: ChildSpec) -> Result<CliOutcome, CliError> {
    crate::process::child::mark_as_child_process();
    let requeued = exp.requeued_run(spec.report.as_deref());
    if let Some(report) = &spec.report {
        crate::process::spec::set_report_path(report.clone());
    }
    let mut args: Vec<OsString> = spec.args.iter().map(OsString::from).collect();
    if let Some(run_dir) = requeued {
        // A requeued task of an experiment that opted in goes on with its
        // earlier attempt's run, as if resumed by hand.
        args.extend(["--resume-run".into(), run_dir.into_os_string()]);
    }
    let argv: Vec<OsString> = std::iter::once(spec.exe.clone().into_os_string())
        .chain(args.iter().cloned())
        .collect();
    let path = spec.experiment.with_root(program_name(&argv));
    run_experiment(exp, path, &args, &argv, Some(&spec.values), None)
}

fn error_kind(error: &UsageError) -> ErrorKind {
    match error {
        UsageError::MissingRequired { .. } => ErrorKind::MissingRequiredArgument,
        UsageError::UnknownParam { .. } => ErrorKind::UnknownArgument,
        _ => ErrorKind::ValueValidation,
    }
}
