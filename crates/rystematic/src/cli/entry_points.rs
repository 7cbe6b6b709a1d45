//! `cli()` and `try_cli_from()` on experiments and groups: where a
//! program hands its command line to rystematic.

use std::ffi::OsString;

use super::{CliError, CliOutcome};
use crate::experiment::entry::EntryPoint;
use crate::experiment::{Experiment, Group};

impl Experiment {
    /// Runs the experiment from the process's command line, then exits the
    /// process: 0 on success and after `--help`, 2 for bad input, 1 if the
    /// run failed.
    pub fn cli(&self) -> ! {
        super::main(EntryPoint::Experiment(self.clone()))
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
        super::run_entry(EntryPoint::Experiment(self.clone()), argv)
    }
}

impl Group {
    /// Runs the experiment the command line names, then exits the process
    /// (see [`Experiment::cli`]).
    pub fn cli(&self) -> ! {
        super::main(EntryPoint::Group(self.clone()))
    }

    /// Like [`Group::cli`] with an explicit argv (program name first),
    /// returning instead of exiting.
    pub fn try_cli_from<I, T>(&self, argv: I) -> Result<CliOutcome, CliError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        super::run_entry(EntryPoint::Group(self.clone()), argv)
    }
}
