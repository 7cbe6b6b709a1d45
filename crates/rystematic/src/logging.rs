//! Run logging: every `tracing` event goes to the console (stderr, coloured
//! on a terminal) and, while a run is active, to its log file, as
//!
//! ```text
//! [2026-11-28 05:15:13] [INFO] [my_crate] message
//! [2026-11-28 05:15:13] [INFO] [RANK 1] [my_crate] message     (subprocess rank 1)
//! ```
//!
//! `tracing` has one global subscriber per process, so the layer is installed
//! once and the run swaps its file and level in and out. Lines are written
//! with one `write` each and no buffering: a crash loses nothing that was
//! logged, and concurrent writers never interleave within a line.
//!
//! A program (or a framework such as Burn) that installs its own subscriber
//! adds [`log_layer`] to it, and the run's log fills as before. Records of
//! the `log` crate are bridged into `tracing`, so libraries that use `log`
//! reach `log.txt` too.
//!
//! Per-target levels quiet chatty libraries (Burn logs every training step
//! at INFO): a layer's own ([`LogLayer::target_level`]) or process-wide,
//! for every layer including the one a run installs
//! ([`LogLayer::set_global_target_level`]).

use std::fmt::{self, Write as _};
use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};

use crate::clock;
use crate::sync::{LockUnpoisoned as _, RwLockUnpoisoned as _};
use indicatif::ProgressBar;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

static FILE: Mutex<Option<File>> = Mutex::new(None);
/// 0 = INFO and above, 1 = DEBUG and above.
static VERBOSITY: AtomicU8 = AtomicU8::new(0);
static RANK: AtomicU32 = AtomicU32::new(0);
static INSTALLED: OnceLock<bool> = OnceLock::new();
static WARNED_FOREIGN: AtomicBool = AtomicBool::new(false);
/// Whether a [`LogLayer`] is part of some subscriber (ours or the program's).
static LAYER_IN_USE: AtomicBool = AtomicBool::new(false);
/// Process-wide target levels ([`LogLayer::set_global_target_level`]).
static GLOBAL_TARGET_LEVELS: RwLock<Vec<(String, LevelFilter)>> = RwLock::new(Vec::new());
/// A progress bar on the console (a sweep's), suspended while a line is written.
static PROGRESS: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Sets (or clears) the progress bar log lines must not tear.
pub(crate) fn set_progress_bar(bar: Option<ProgressBar>) {
    *PROGRESS.lock_unpoisoned() = bar;
}

fn write_console(line: &str) {
    let write = || {
        let _ = io::stderr().lock().write_all(line.as_bytes());
    };
    let bar = PROGRESS.lock_unpoisoned().clone();
    match bar {
        Some(bar) if !bar.is_hidden() => bar.suspend(write),
        _ => write(),
    }
}

/// Installs the run-log layer as the global `tracing` subscriber (once).
/// Returns false if the program installed its own subscriber first; then
/// events go there and the run's log file stays empty.
pub(crate) fn install() -> bool {
    *INSTALLED.get_or_init(|| {
        // `log` records become `tracing` events, whoever's subscriber it is.
        // Fails only if a `log` logger exists already; that one keeps them.
        let _ = tracing_log::LogTracer::init();
        let subscriber = tracing_subscriber::registry().with(log_layer());
        tracing::subscriber::set_global_default(subscriber).is_ok()
    })
}

/// Directs log records to `path` (appending) at the given verbosity.
pub(crate) fn begin_run(path: &Path, debug: bool, rank: u32) -> io::Result<()> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    VERBOSITY.store(u8::from(debug), Ordering::Relaxed);
    RANK.store(rank, Ordering::Relaxed);
    // Interest in callsites was cached for the previous verbosity.
    tracing::callsite::rebuild_interest_cache();
    *FILE.lock_unpoisoned() = Some(file);
    if !install()
        && !LAYER_IN_USE.load(Ordering::Relaxed)
        && !WARNED_FOREIGN.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(
            "a global tracing subscriber was installed before rystematic's, without \
             rystematic::log_layer(); run logs go to it, not to {}",
            path.display()
        );
    }
    Ok(())
}

/// Closes the run's log file and returns to the defaults.
pub(crate) fn end_run() {
    FILE.lock_unpoisoned().take();
    VERBOSITY.store(0, Ordering::Relaxed);
    RANK.store(0, Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
}

fn stderr_supports_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stderr().is_terminal()
}

fn max_level() -> Level {
    if VERBOSITY.load(Ordering::Relaxed) > 0 {
        Level::DEBUG
    } else {
        Level::INFO
    }
}

/// rystematic's run log as a [`tracing_subscriber::Layer`], for programs and
/// frameworks that install their own subscriber.
///
/// rystematic installs a subscriber with this layer when a run starts, unless
/// the program installed one first. Then add the layer to yours, and every
/// event reaches the run's `log.txt` (and, unless turned off, the console)
/// in rystematic's format, beside whatever your other layers do:
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry()
///     // The run's log.txt; the console is left to the program's own layer.
///     .with(rystematic::log_layer().console(false));
///     // .with(your_layer)
/// tracing::subscriber::set_global_default(subscriber).expect("the first subscriber");
/// ```
///
/// Outside a run the layer writes to the console only. Its level follows
/// the run's `--debug`; [`LogLayer::target_level`] quiets single targets.
pub fn log_layer() -> LogLayer {
    LogLayer {
        console: true,
        color: stderr_supports_color(),
        target_levels: Vec::new(),
    }
}

/// The layer [`log_layer`] returns.
#[derive(Debug, Clone)]
pub struct LogLayer {
    console: bool,
    color: bool,
    /// This layer's own target levels; they come before the global ones.
    target_levels: Vec<(String, LevelFilter)>,
}

impl LogLayer {
    /// Whether lines also go to the console (stderr); on by default. Turn
    /// it off when another layer of the program prints to the console.
    pub fn console(mut self, on: bool) -> LogLayer {
        self.console = on;
        self
    }

    /// Caps the level of `target` (a crate or module path: `burn_train`
    /// also covers `burn_train::learner`) in this layer's output:
    /// `.target_level("burn_train", Level::WARN)` keeps Burn's warnings and
    /// errors and drops its INFO lines. The most specific target wins. A
    /// target level only quiets: the run's level (INFO, DEBUG with
    /// `--debug`) stays the ceiling for every target. This layer's target
    /// levels come before the global ones
    /// ([`set_global_target_level`](Self::set_global_target_level)).
    pub fn target_level(
        mut self,
        target: impl Into<String>,
        level: impl Into<LevelFilter>,
    ) -> LogLayer {
        set_level(&mut self.target_levels, target.into(), level.into());
        self
    }

    /// Caps the level of `target` in every [`LogLayer`] of the process —
    /// the one rystematic installs for its runs included — unless a layer
    /// has its own level for it ([`target_level`](Self::target_level)).
    /// This is how a program quiets a library in the runs' `log.txt` and
    /// console: call it in `main` or in the experiment, before the library
    /// logs. It stays for the rest of the process, over runs.
    /// `LevelFilter::OFF` silences the target.
    pub fn set_global_target_level(target: impl Into<String>, level: impl Into<LevelFilter>) {
        let mut levels = GLOBAL_TARGET_LEVELS.write_unpoisoned();
        set_level(&mut levels, target.into(), level.into());
        drop(levels);
        // Callsites cached their interest under the previous levels.
        tracing::callsite::rebuild_interest_cache();
    }

    /// The global level that applies to `target`: that of the most
    /// specific target set with
    /// [`set_global_target_level`](Self::set_global_target_level) covering
    /// it (`burn_train` covers `burn_train::learner`), if any.
    pub fn global_target_level(target: &str) -> Option<LevelFilter> {
        let levels = GLOBAL_TARGET_LEVELS.read_unpoisoned();
        level_for(&levels, target)
    }

    /// The cap on `target`: this layer's own level, else the global one.
    fn cap(&self, target: &str) -> Option<LevelFilter> {
        level_for(&self.target_levels, target).or_else(|| Self::global_target_level(target))
    }
}

/// Sets `target`'s level in `levels`, replacing an earlier one.
fn set_level(levels: &mut Vec<(String, LevelFilter)>, target: String, level: LevelFilter) {
    match levels.iter_mut().find(|(t, _)| *t == target) {
        Some(entry) => entry.1 = level,
        None => levels.push((target, level)),
    }
}

/// The level of the most specific entry of `levels` covering `target`: the
/// same path, or a parent module of it (`a` covers `a::b`, not `ab`).
fn level_for(levels: &[(String, LevelFilter)], target: &str) -> Option<LevelFilter> {
    levels
        .iter()
        .filter(|(t, _)| {
            target
                .strip_prefix(t.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
        .max_by_key(|(t, _)| t.len())
        .map(|(_, level)| *level)
}

impl<S: Subscriber> Layer<S> for LogLayer {
    fn on_layer(&mut self, _: &mut S) {
        LAYER_IN_USE.store(true, Ordering::Relaxed);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.enabled_for(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        self.enabled_for(metadata)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let record = Record::of(event);
        let time = clock::now().strftime("%Y-%m-%d %H:%M:%S").to_string();
        let rank = RANK.load(Ordering::Relaxed);
        let plain = record.line(&time, rank, Style::Plain);
        if let Some(file) = FILE.lock_unpoisoned().as_mut() {
            // A failing log write must not fail the experiment.
            let _ = file.write_all(plain.as_bytes());
        }
        if !self.console {
            return;
        }
        let console = if self.color {
            record.line(&time, rank, Style::Ansi)
        } else {
            plain
        };
        write_console(&console);
    }
}

impl LogLayer {
    fn enabled_for(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event()
            && *metadata.level() <= max_level()
            && self
                .cap(metadata.target())
                .is_none_or(|cap| *metadata.level() <= cap)
    }
}

/// One event, formatted once and rendered plain or coloured.
struct Record {
    level: Level,
    target: String,
    message: String,
}

#[derive(Clone, Copy)]
enum Style {
    Plain,
    Ansi,
}

impl Record {
    fn of(event: &Event<'_>) -> Record {
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        let mut message = visitor.message;
        message.push_str(&visitor.fields);
        // A `log` record arrives as an event of target "log"; its own level
        // and target are in the normalised metadata.
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        Record {
            level: *metadata.level(),
            target: metadata.target().to_owned(),
            message,
        }
    }

    fn line(&self, time: &str, rank: u32, style: Style) -> String {
        let paint = |code: &str, text: &str| match style {
            Style::Plain => text.to_owned(),
            Style::Ansi => format!("\x1b[{code}m{text}\x1b[0m"),
        };
        let level_color = match self.level {
            Level::ERROR => "31",
            Level::WARN => "33",
            Level::INFO => "34",
            Level::DEBUG | Level::TRACE => "35",
        };
        let mut line = format!(
            "[{time}] {}",
            paint(level_color, &format!("[{}]", self.level))
        );
        if rank > 0 {
            let _ = write!(line, " {}", paint("32", &format!("[RANK {rank}]")));
        }
        let _ = writeln!(
            line,
            " {} {}",
            paint("32", &format!("[{}]", self.target)),
            self.message
        );
        line
    }
}

/// Collects the `message` field, then the other fields as ` key=value`.
#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if is_log_metadata(field) {
            return;
        }
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if is_log_metadata(field) {
            return;
        }
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

/// The fields `tracing-log` adds to a bridged `log` record (target, module,
/// file, line), which are metadata, not part of the message.
fn is_log_metadata(field: &Field) -> bool {
    field.name().starts_with("log.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(level: Level, message: &str) -> Record {
        Record {
            level,
            target: "my_crate".into(),
            message: message.into(),
        }
    }

    #[test]
    fn plain_lines_have_time_level_rank_target_message() {
        let r = record(Level::INFO, "hello");
        assert_eq!(
            r.line("2026-11-28 05:15:13", 0, Style::Plain),
            "[2026-11-28 05:15:13] [INFO] [my_crate] hello\n"
        );
        assert_eq!(
            r.line("2026-11-28 05:15:13", 2, Style::Plain),
            "[2026-11-28 05:15:13] [INFO] [RANK 2] [my_crate] hello\n"
        );
    }

    fn levels(entries: &[(&str, Level)]) -> Vec<(String, LevelFilter)> {
        entries
            .iter()
            .map(|(t, l)| ((*t).to_owned(), LevelFilter::from(*l)))
            .collect()
    }

    #[test]
    fn the_most_specific_covering_target_gives_the_level() {
        let levels = levels(&[
            ("burn_train", Level::INFO),
            ("burn_train::learner", Level::WARN),
        ]);
        let warn = Some(LevelFilter::WARN);
        assert_eq!(level_for(&levels, "burn_train::learner::epoch"), warn);
        assert_eq!(level_for(&levels, "burn_train::learner"), warn);
        assert_eq!(level_for(&levels, "burn_train"), Some(LevelFilter::INFO));
        assert_eq!(
            level_for(&levels, "burn_train::metric"),
            Some(LevelFilter::INFO)
        );
        // A prefix that is not a module boundary covers nothing.
        assert_eq!(level_for(&levels, "burn_trainer"), None);
        assert_eq!(level_for(&levels, "my_crate"), None);
    }

    #[test]
    fn a_target_level_quiets_under_the_run_level_and_a_layers_own_comes_first() {
        use tracing::Metadata;
        use tracing::callsite::{Callsite, Identifier};
        use tracing::metadata::Kind;

        struct Site;
        impl Callsite for Site {
            fn set_interest(&self, _: Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                unreachable!("only its identity is used")
            }
        }
        static SITE: Site = Site;
        let event = |target: &'static str, level: Level| {
            Metadata::new(
                "event",
                target,
                level,
                None,
                None,
                None,
                tracing::field::FieldSet::new(&[], Identifier(&SITE)),
                Kind::EVENT,
            )
        };
        // Targets only this test uses: the global levels are process-wide.
        LogLayer::set_global_target_level("quiet_lib", Level::WARN);
        LogLayer::set_global_target_level("quiet_lib::loud", LevelFilter::OFF);
        assert_eq!(
            LogLayer::global_target_level("quiet_lib::step"),
            Some(LevelFilter::WARN)
        );
        let layer = log_layer();
        assert!(!layer.enabled_for(&event("quiet_lib::step", Level::INFO)));
        assert!(layer.enabled_for(&event("quiet_lib::step", Level::WARN)));
        assert!(layer.enabled_for(&event("quiet_lib", Level::ERROR)));
        assert!(!layer.enabled_for(&event("quiet_lib::loud", Level::ERROR)));
        assert!(layer.enabled_for(&event("other_lib", Level::INFO)));
        // The run's level stays the ceiling: no DEBUG without `--debug`.
        let own = log_layer().target_level("quiet_lib", Level::DEBUG);
        assert!(own.enabled_for(&event("quiet_lib::step", Level::INFO)));
        assert!(!own.enabled_for(&event("quiet_lib::step", Level::DEBUG)));
        // A later level for the same target replaces the earlier one.
        let own = own.target_level("quiet_lib", Level::ERROR);
        assert!(!own.enabled_for(&event("quiet_lib::step", Level::WARN)));
    }

    #[test]
    fn ansi_lines_colour_level_rank_and_target() {
        let line = record(Level::ERROR, "boom").line("t", 1, Style::Ansi);
        assert_eq!(
            line,
            "[t] \x1b[31m[ERROR]\x1b[0m \x1b[32m[RANK 1]\x1b[0m \x1b[32m[my_crate]\x1b[0m boom\n"
        );
    }
}
