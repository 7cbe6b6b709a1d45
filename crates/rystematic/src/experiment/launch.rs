//! Running an [`Experiment`] from code: in this process (`run`) or in a
//! new one (`run_in_new_process`). The command line (`cli`) is the layer
//! above.

use std::path::{Path, PathBuf};

use super::Experiment;
use super::entry;
use crate::error::{Error, ParamAccessError, ProcessError, Source, UsageError};
use crate::param::names;
use crate::process::spec::ChildSpec;
use crate::process::{self, ChildProcess, Console};
use crate::resolve::{self, Given, Layer, Request, Stage};
use crate::rundir::info::{RunInfo, RunStatus};
use crate::rundir::{PARAMETERS_FILE, RUN_INFO_FILE};
use crate::runtime::{self, Resume, RunSummary};
use crate::value::{ExperimentPath, Value, Values, collect_values};

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

    /// Resumes a stopped run of this experiment in its own directory: a run
    /// that failed, was interrupted, or died (a `running` run whose process
    /// is gone). It runs again with the parameters it recorded (`values`
    /// may restate them, not change them; `debug` may change), `run.json`
    /// goes back to `running` with the next [`attempt`](crate::Run::attempt),
    /// the log is appended to, and the seed stream goes on where the last
    /// attempt stopped. The experiment itself finds its progress in the
    /// directory (a checkpoint; the recorder hands back the latest).
    ///
    /// ```no_run
    /// # use rystematic::{Experiment, Value};
    /// # let exp = Experiment::new("e", |_, _| Ok::<_, anyhow::Error>(()));
    /// let summary = exp.resume_run("output/e/2026-12-01_10-00-00_abcdef", [("debug", Value::from(true))])?;
    /// # Ok::<_, rystematic::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`UsageError::Resume`] (exit code 2) for a directory that is not a
    /// stopped run of this experiment, or values that change its
    /// parameters; otherwise as [`Experiment::run`].
    pub fn resume_run<I, K, V>(
        &self,
        run_dir: impl AsRef<Path>,
        values: I,
    ) -> Result<RunSummary, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        self.check_definition();
        self.serve_if_child();
        let request = self.programmatic_request(collect_values(values))?;
        self.start_resumed(request, None, run_dir.as_ref())
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
        let fail = |source| Error::Process {
            experiment: self.name.clone(),
            source,
        };
        let spec = ChildSpec {
            exe: process::current_exe().map_err(|e| fail(ProcessError::Executable(e)))?,
            experiment: self.program_path(),
            args: Vec::new(),
            values,
            report: None,
        };
        process::spawn(&spec, None, Console::Inherit, &[]).map_err(|source| {
            fail(ProcessError::Spawn {
                what: "a new process",
                source,
            })
        })
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
                        reason: reason.to_string(),
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

    /// How a child process of this program names this experiment.
    pub(crate) fn program_path(&self) -> ExperimentPath {
        let own = self.path();
        entry::registered()
            .and_then(|entry| entry.find(&own).ok())
            .map_or(own, Experiment::path)
    }

    /// Resolves a request against this experiment's parameters and runs it.
    pub(crate) fn start(
        &self,
        request: Request,
        argv: Option<Vec<String>>,
    ) -> Result<RunSummary, Error> {
        let resolved = self.resolve(request)?;
        self.launch(resolved, argv, None)
    }

    /// Resumes the stopped run in `dir` (see [`Experiment::resume_run`]):
    /// its recorded parameters under `request`, which may only restate
    /// them.
    pub(crate) fn start_resumed(
        &self,
        mut request: Request,
        argv: Option<Vec<String>>,
        dir: &Path,
    ) -> Result<RunSummary, Error> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
        let previous = self.check_resumable(&dir)?;
        let recorded = Request {
            command_line: vec![Stage::File(dir.join(PARAMETERS_FILE))],
            overrides: Layer::new(Source::Programmatic),
        };
        let recorded = self.resolve(recorded)?.params;
        // The recorded values first: options may only restate them.
        request
            .command_line
            .insert(0, Stage::File(dir.join(PARAMETERS_FILE)));
        let resolved = self.resolve(request)?;
        let changed = resolved.params.iter().find(|(name, value)| {
            ![names::PARAMS_FILE, names::DEBUG].contains(name)
                && recorded.value(name) != Some(*value)
        });
        if let Some((name, value)) = changed {
            let was = recorded
                .value(name)
                .map_or_else(|| "nothing".to_owned(), |v| format!("'{v}'"));
            return Err(UsageError::Resume {
                dir,
                reason: format!(
                    "'{name}' would be '{value}', but the run has {was}: a resumed run keeps \
                     the parameters it started with"
                ),
            }
            .into());
        }
        self.launch(resolved, argv, Some(Resume { dir, previous }))
    }

    /// The `run.json` of a run in `dir` that this experiment can go on
    /// with.
    fn check_resumable(&self, dir: &Path) -> Result<RunInfo, UsageError> {
        let refuse = |reason: String| UsageError::Resume {
            dir: dir.to_owned(),
            reason,
        };
        let info = RunInfo::read(dir)
            .map_err(|e| refuse(format!("it has no readable {RUN_INFO_FILE} ({e})")))?;
        let own = self.program_path();
        let same = match &info.experiment_path {
            Some(words) => words.as_slice() == own.words(),
            None => info.experiment == self.name,
        };
        if !same {
            return Err(refuse(format!(
                "it is a run of experiment `{}`, not `{}`",
                info.experiment_path
                    .as_ref()
                    .map_or_else(|| info.experiment.clone(), |words| words.join(" ")),
                own
            )));
        }
        match info.status {
            RunStatus::Completed => Err(refuse(
                "it completed; there is nothing left to resume".to_owned(),
            )),
            RunStatus::Running if !info.is_stale() => Err(refuse(format!(
                "it may still be running (pid {} on host {}); stop it first",
                info.pid, info.host
            ))),
            _ if !dir.join(PARAMETERS_FILE).is_file() => {
                Err(refuse(format!("it has no {PARAMETERS_FILE}")))
            }
            _ => Ok(info),
        }
    }

    fn launch(
        &self,
        resolved: resolve::Resolved,
        argv: Option<Vec<String>>,
        resume: Option<Resume>,
    ) -> Result<RunSummary, Error> {
        runtime::execute(runtime::Launch {
            experiment: &self.name,
            path: self.program_path(),
            main: self.main.as_ref(),
            params: resolved.params,
            warnings: resolved.warnings,
            argv,
            resume,
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
