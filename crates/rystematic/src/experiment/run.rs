//! The ways to run an [`Experiment`]: in this process (`run`), from the
//! command line (`cli`), in a new process (`run_in_new_process`).

use std::ffi::OsString;
use std::path::PathBuf;

use super::{Experiment, Values, collect_values};
use crate::cli::{self, CliError, CliOutcome};
use crate::error::{Error, ParamAccessError, Source, UsageError};
use crate::process::entry::{self, Entry};
use crate::process::spec::ChildSpec;
use crate::process::{self, ChildProcess, Console};
use crate::resolve::{self, Given, Layer, Request};
use crate::runtime::{self, RunSummary};
use crate::standard::names;
use crate::value::Value;

impl Experiment {
    /// Runs the experiment in this process with the given values (any
    /// parameter not given takes its environment variable or default).
    /// `params_file` may be among them; the other values override the file.
    ///
    /// ```no_run
    /// # use rystematic::{Experiment, Param, Value};
    /// # let exp = Experiment::new("e", |_, _| Ok::<_, anyhow::Error>(()));
    /// let summary = exp.run([("lr", Value::from(0.1)), ("epochs", Value::from(3))])?;
    /// println!("output in {}", summary.output_dir.display());
    /// # Ok::<_, rystematic::Error>(())
    /// ```
    ///
    /// In a child process started (by `run_in_new_process`,
    /// `launch_subprocess` or a sweep) to run this experiment in a program
    /// without `cli()`, such as a `#[test]`, this call runs the child's
    /// part instead and exits the process with its exit code.
    ///
    /// # Errors
    /// A key that names no parameter, a bad value, or a missing required
    /// value is [`Error::Usage`] (and nothing is created); a failing run is
    /// [`Error::Failed`]; starting while another experiment runs in this
    /// process is [`Error::AlreadyRunning`]. (A child process started for
    /// another experiment exits with an error instead: see the README.)
    pub fn run<I, K, V>(&self, values: I) -> Result<RunSummary, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        self.check_definition();
        self.serve_if_child();
        let request = self.programmatic_request(collect_values(values))?;
        self.start(request, None)
    }

    /// Runs the experiment in a new process: the current executable,
    /// re-executed, told which experiment to run with which values. The
    /// child finds the experiment through the entry point `main` calls
    /// `cli()` on, or else by reaching this same call (or [`Experiment::run`]
    /// of this experiment) again: a `#[test]` is re-run alone for that, any
    /// other program with its own arguments. See the README's "Running in a
    /// new process".
    ///
    /// Values are checked here first, so a bad one is an error now rather
    /// than a failed child.
    ///
    /// # Errors
    /// [`Error::Usage`] for bad values, [`Error::Process`] if the process
    /// cannot be started.
    pub fn run_in_new_process<I, K, V>(&self, values: I) -> Result<ChildProcess, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        self.check_definition();
        self.serve_if_child();
        let values = collect_values(values);
        self.resolve(self.programmatic_request(values.clone())?)?;
        let spawn_error = |reason: String| Error::Process {
            experiment: self.name.clone(),
            reason,
        };
        let spec = ChildSpec {
            exe: process::current_exe().map_err(|e| spawn_error(e.to_string()))?,
            experiment: self.process_path(),
            args: Vec::new(),
            values,
            report: None,
        };
        process::spawn(&spec, None, Console::Inherit, &[])
            .map_err(|e| spawn_error(format!("cannot start a new process: {e}")))
    }

    /// The request for values given in code: each key must name a
    /// parameter, and `params_file` names the file.
    pub(crate) fn programmatic_request(&self, mut values: Values) -> Result<Request, UsageError> {
        if let Some(name) = values.keys().find(|name| self.params.get(name).is_none()) {
            return Err(UsageError::UnknownParam {
                experiment: self.name.clone(),
                name: name.clone(),
            });
        }
        let params_file = match values.remove(names::PARAMS_FILE) {
            None => None,
            Some(value) => {
                value
                    .get::<Option<PathBuf>>()
                    .map_err(|reason| UsageError::InvalidValue {
                        param: names::PARAMS_FILE.to_owned(),
                        value: value.to_string(),
                        origin: Source::Programmatic,
                        reason,
                    })?
            }
        };
        let mut overrides = Layer::new(Source::Programmatic);
        overrides.values = values
            .into_iter()
            .map(|(name, value)| (name, Given::Typed(value)))
            .collect();
        Ok(Request::programmatic(params_file, overrides))
    }

    /// If this process is a child started to run an experiment and no entry
    /// point has served it (no `cli()`: a `#[test]`, or a `main` calling
    /// `run`), serves it here when it is this experiment, and exits the
    /// process with the run's exit code. Returns if this is not such a
    /// child.
    ///
    /// A child that reaches another experiment first exits with an error
    /// (code 1) at once: going on would repeat the parent's work, and in
    /// the worst case start the same child again.
    pub(crate) fn serve_if_child(&self) {
        let Some(path) = process::spec::pending() else {
            return;
        };
        let Some(spec) = process::spec::take() else {
            return;
        };
        let outcome = spec
            .map_err(|reason| cli::child_failed(&self.name, reason))
            .and_then(|spec| {
                if path == self.process_path() {
                    cli::serve_spec(self, spec)
                } else {
                    Err(cli::child_failed(
                        &self.name,
                        format!(
                            "this process was started to run experiment `{}` in a new process, \
                             but reached `{}` first; without an entry point (cli()), a child \
                             re-enters the program and must reach the same call for the same \
                             experiment",
                            path.join(" "),
                            self.name
                        ),
                    ))
                }
            });
        cli::exit(outcome)
    }

    /// How a child process of this program names this experiment.
    pub(crate) fn process_path(&self) -> Vec<String> {
        let own = entry::full_path(self);
        entry::registered()
            .and_then(|entry| entry.find(&own).ok())
            .map_or(own, entry::full_path)
    }

    /// Runs the experiment from the process's command line, then exits the
    /// process: 0 on success and after `--help`, 2 for bad input, 1 if the
    /// run failed.
    pub fn cli(&self) -> ! {
        cli::main(Entry::Experiment(self.clone()))
    }

    /// Like [`Experiment::cli`] with an explicit argv (program name first),
    /// returning instead of exiting: for tests and embedding.
    ///
    /// ```
    /// # use rystematic::{Experiment, Param};
    /// let exp = Experiment::new("e", |_, _| Ok::<_, anyhow::Error>(()))
    ///     .param(Param::int("n").required());
    /// let err = exp.try_cli_from(["prog", "--n", "abc"]).unwrap_err();
    /// assert_eq!(err.exit_code(), 2);
    /// assert!(err.to_string().contains("invalid value 'abc' for '--n'"));
    /// ```
    pub fn try_cli_from<I, T>(&self, argv: I) -> Result<CliOutcome, CliError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        cli::run_entry(Entry::Experiment(self.clone()), argv)
    }

    /// Resolves a request against this experiment's parameters and runs it.
    pub(crate) fn start(
        &self,
        request: Request,
        argv: Option<Vec<String>>,
    ) -> Result<RunSummary, Error> {
        let resolved = self.resolve(request)?;
        runtime::execute(runtime::Launch {
            experiment: &self.name,
            path: self.process_path(),
            main: self.main.as_ref(),
            params: resolved.params,
            warnings: resolved.warnings,
            argv,
        })
    }

    pub(crate) fn resolve(&self, request: Request) -> Result<resolve::Resolved, UsageError> {
        let resolved = resolve::resolve(&self.name, &self.params, request, &|var| {
            std::env::var_os(var)
        })?;
        if let Some(check) = &self.convert_check {
            check(&resolved.params).map_err(|e| match e {
                ParamAccessError::WrongType { name, reason } => UsageError::Unconvertible {
                    value: resolved
                        .params
                        .value(&name)
                        .map_or_else(String::new, Value::to_string),
                    param: name,
                    reason,
                },
                other => UsageError::Unconvertible {
                    param: String::new(),
                    value: String::new(),
                    reason: other.to_string(),
                },
            })?;
        }
        Ok(resolved)
    }
}
