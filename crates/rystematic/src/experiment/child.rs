//! A child process that re-enters the program at `Experiment::run` (or
//! `run_in_new_process`, or a sweep) instead of at `cli()`: a `#[test]`,
//! or a `main` that calls `run`. It serves its spec there, where its
//! parent's call was.

use std::io::{self, Write as _};

use super::Experiment;
use crate::error::{Error, ProcessError};
use crate::process::{self, spec::ChildSpec};
use crate::runtime::RunSummary;

impl Experiment {
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
        let fail = |reason| Error::Process {
            experiment: self.name().to_owned(),
            source: ProcessError::Child { reason },
        };
        let outcome = spec.map_err(fail).and_then(|spec| {
            if path != self.program_path() {
                return Err(fail(format!(
                    "this process was started to run experiment `{path}` in a new process, but \
                     reached `{}` first; without an entry point (cli()), a child re-enters the \
                     program and must reach the same call for the same experiment",
                    self.name()
                )));
            }
            if !spec.args.is_empty() {
                // Only a command line makes such a spec, and only `cli()`
                // parses one: its child reaches `cli()` first.
                return Err(fail(
                    "this process was started with command-line options, which only the \
                     program's cli() reads, but it reached Experiment::run first"
                        .to_owned(),
                ));
            }
            self.serve(spec)
        });
        let code = match outcome {
            Ok(_) => 0,
            Err(error) => {
                let _ = error.print();
                error.exit_code()
            }
        };
        let _ = io::stdout().flush();
        std::process::exit(code)
    }

    /// Runs what a child's spec asks for: its values over this
    /// experiment's defaults, reporting the run directory as asked.
    fn serve(&self, spec: ChildSpec) -> Result<RunSummary, Error> {
        process::child::mark_as_child_process();
        let requeued = self.requeued_run(spec.report.as_deref());
        if let Some(report) = spec.report {
            process::spec::set_report_path(report);
        }
        let request = self.programmatic_request(spec.values)?;
        let argv = vec![spec.exe.to_string_lossy().into_owned()];
        match requeued {
            Some(run_dir) => self.start_resumed(request, Some(argv), &run_dir),
            None => self.start(request, Some(argv)),
        }
    }
}
