//! Extensions: parameters added to every experiment, and hooks around each
//! run. The built-in behaviour (run directory, `parameters.yaml`, `run.json`,
//! logging, seeds) is itself the [`standard`](crate::standard) extension.

use std::sync::{Arc, OnceLock};

use crate::param::Param;
use crate::runtime::Run;

/// How a run ended, as its `after` hooks see it.
#[derive(Debug)]
pub(crate) enum Outcome<'a> {
    /// The main function returned `Ok`.
    Completed,
    /// The main function (or a `before` hook) failed.
    Failed(&'a anyhow::Error),
    /// Ctrl-C or SIGTERM stopped the run.
    Interrupted(crate::process::Interrupt),
}

/// A plug-in around every experiment.
pub(crate) trait Extension: Send + Sync + 'static {
    /// Shown in logs and errors.
    fn name(&self) -> &'static str;

    /// Order of `before` hooks (lower first); `after` hooks run in the
    /// reverse order, so whoever set up first tears down last and sees
    /// everything the others did.
    fn priority(&self) -> i32;

    /// Parameters added to every experiment when it is created.
    fn params(&self) -> Vec<Param> {
        Vec::new()
    }

    /// Runs before the main function; an error fails the run.
    fn before(&self, run: &mut Run) -> anyhow::Result<()>;

    /// Runs after the main function, however it ended. An error is logged
    /// and never hides the experiment's own outcome.
    fn after(&self, run: &Run, outcome: &Outcome<'_>) -> anyhow::Result<()>;
}

/// The loaded extensions, ordered by priority.
pub(crate) fn loaded() -> &'static [Arc<dyn Extension>] {
    static LOADED: OnceLock<Vec<Arc<dyn Extension>>> = OnceLock::new();
    LOADED.get_or_init(|| {
        let mut extensions: Vec<Arc<dyn Extension>> = vec![Arc::new(crate::standard::Standard)];
        extensions.sort_by_key(|e| e.priority());
        extensions
    })
}
