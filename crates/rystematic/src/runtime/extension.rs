//! Extensions: parameters added to every experiment, hooks around every
//! run, and state the running experiment can reach through its [`Run`].
//!
//! The run's own data — its directory, `parameters.yaml`, `run.json`, the
//! log, the seed stream, the ranks — belongs to the runtime and exists
//! before the first hook runs, whatever the hook's priority. The built-in
//! extensions (the distributed launcher's parameters) use this same public
//! trait, so a third-party extension has the same power. Extensions register at link time with [`register_extension!`]
//! (depending on a crate that does so enables it, as installing a
//! pystematic plugin does) or explicitly with [`register_extension`].
//!
//! [`register_extension!`]: crate::register_extension!

use std::sync::{Arc, Mutex, OnceLock};

use super::Run;
use crate::param::Param;
use crate::process::Interrupt;
use crate::sync::LockUnpoisoned as _;

/// How a run ended, as its `after` hooks see it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome<'a> {
    /// The main function returned `Ok`.
    Completed,
    /// The main function (or a `before` hook) failed.
    Failed(&'a anyhow::Error),
    /// Ctrl-C or SIGTERM stopped the run.
    Interrupted(Interrupt),
}

/// A plug-in around every experiment.
///
/// ```
/// use rystematic::{Extension, Outcome, Param, Run};
///
/// /// Counts runs, and lets an experiment ask for the count.
/// struct RunCounter;
///
/// /// What the experiment reaches with `run.ext::<Counted>()`.
/// struct Counted(u64);
///
/// impl Extension for RunCounter {
///     fn name(&self) -> &str {
///         "run-counter"
///     }
///     fn params(&self) -> Vec<Param> {
///         vec![Param::int("counter_start").default(0).help("Where counting starts.")]
///     }
///     fn before(&self, run: &mut Run) -> anyhow::Result<()> {
///         let start: u64 = run.params().get("counter_start")?;
///         run.insert_ext(Counted(start + 1));
///         Ok(())
///     }
///     fn after(&self, run: &Run, outcome: &Outcome<'_>) -> anyhow::Result<()> {
///         tracing::info!("run {} ended: {outcome:?}", run.ext::<Counted>().unwrap().0);
///         Ok(())
///     }
/// }
///
/// rystematic::register_extension!(RunCounter);
/// ```
pub trait Extension: Send + Sync + 'static {
    /// Shown in logs and errors.
    fn name(&self) -> &str;

    /// Order of `before` hooks, lower first (the default is 100; any value,
    /// negative too, is fine: the run's directory, log and seeds exist
    /// before the first hook). `after` hooks run in the reverse order, so
    /// whoever set up first tears down last and sees everything the others
    /// did.
    fn priority(&self) -> i32 {
        100
    }

    /// The help section the extension's parameters are listed under
    /// (`None`: among the built-in options).
    fn help_section(&self) -> Option<&str> {
        None
    }

    /// Parameters added to every experiment when it is created. Prefix
    /// their names with the extension's to avoid clashes.
    fn params(&self) -> Vec<Param> {
        Vec::new()
    }

    /// Runs before the main function, in priority order. The run's
    /// directory, log and seed stream exist already. An error fails the run: its `run.json` says `failed` with
    /// this error, and the `after` hooks of the extensions already set up
    /// still run.
    fn before(&self, run: &mut Run) -> anyhow::Result<()> {
        let _ = run;
        Ok(())
    }

    /// Runs after the main function, however it ended. An error is logged
    /// and never hides the experiment's own failure or interruption; after
    /// a completed main function it makes the run failed (the hooks after
    /// this one see [`Outcome::Failed`], `run.json` says `failed`), since
    /// what the hook could not finish (say, writing metrics) is missing.
    fn after(&self, run: &Run, outcome: &Outcome<'_>) -> anyhow::Result<()> {
        let _ = (run, outcome);
        Ok(())
    }
}

/// A link-time extension registration. Made by [`register_extension!`].
///
/// [`register_extension!`]: crate::register_extension!
#[doc(hidden)]
pub struct ExtensionRegistration {
    pub create: fn() -> Arc<dyn Extension>,
}

inventory::collect!(ExtensionRegistration);

/// Registers an extension at link time: every experiment of a program that
/// links the crate containing this gets it.
///
/// ```
/// #[derive(Default)]
/// struct Audit;
///
/// impl rystematic::Extension for Audit {
///     fn name(&self) -> &str {
///         "audit"
///     }
/// }
///
/// rystematic::register_extension!(Audit::default());
/// ```
#[macro_export]
macro_rules! register_extension {
    ($extension:expr) => {
        $crate::__private::inventory::submit! {
            $crate::__private::ExtensionRegistration {
                create: || ::std::sync::Arc::new($extension),
            }
        }
    };
}

/// Extensions registered by [`register_extension`], before loading.
static EXPLICIT: Mutex<Vec<Arc<dyn Extension>>> = Mutex::new(Vec::new());
static LOADED: OnceLock<Vec<Arc<dyn Extension>>> = OnceLock::new();

/// Registers an extension explicitly (for tests and embedding, or to
/// enable one that is not linked in). Call it before any experiment is
/// created: the set of extensions is fixed when the first one is.
///
/// # Panics
/// If an experiment was already created.
pub fn register_extension(extension: Arc<dyn Extension>) {
    assert!(
        LOADED.get().is_none(),
        "register_extension(`{}`) after the first experiment was created: register \
         extensions first",
        extension.name()
    );
    EXPLICIT.lock_unpoisoned().push(extension);
}

/// The loaded extensions, ordered by priority (stable: equal priorities
/// keep registration order).
pub(crate) fn loaded() -> &'static [Arc<dyn Extension>] {
    LOADED.get_or_init(|| {
        // The plug-in loop: the built-in extensions live a layer above.
        let mut extensions = crate::extensions::built_in();
        extensions.extend(inventory::iter::<ExtensionRegistration>().map(|r| (r.create)()));
        extensions.extend(EXPLICIT.lock_unpoisoned().drain(..));
        extensions.sort_by_key(|e| e.priority());
        extensions
    })
}

/// `distributed (1), recorder (50)`, for the debug log.
pub(crate) fn describe(extensions: &[Arc<dyn Extension>]) -> String {
    extensions
        .iter()
        .map(|e| format!("{} ({})", e.name(), e.priority()))
        .collect::<Vec<_>>()
        .join(", ")
}
