//! Logging that composes: Burn's `log`/`tracing` output goes where the
//! run's goes (`log.txt` and the console), not to a file of its own.
//!
//! Burn's `SupervisedTraining` installs, by default, a global subscriber
//! writing only to `<dir>/experiment.log`. Inside a run rystematic's
//! subscriber is installed already, so Burn's fails and warns; outside one
//! (or if Burn went first) the run's `log.txt` would stay empty. The
//! installer here instead makes sure *some* global subscriber carries
//! [`rystematic::log_layer`], and the renderer reports progress through
//! `tracing` instead of printing to stdout.

use burn::train::ApplicationLoggerInstaller;
use burn::train::LearnerSummary;
use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::MetricDefinition;
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};
use std::sync::{Arc, Mutex};

use tracing_subscriber::layer::SubscriberExt;

/// The modules of burn-train 0.22.1 that log one `Iteration n` line per
/// training step at INFO (and `Executing training step for epoch n` per
/// epoch, which the [`LogRenderer`]'s `epoch 1/3: train on ...` lines
/// replace). [`crate::fit`] caps them at WARN, so their warnings and errors
/// still show.
pub const BURN_STEP_TARGETS: [&str; 3] = [
    "burn_train::learner::supervised::strategies::single::epoch",
    "burn_train::learner::supervised::strategies::multi::epoch",
    "burn_train::learner::supervised::strategies::ddp::epoch",
];

/// Caps [`BURN_STEP_TARGETS`] at WARN in every [`rystematic::LogLayer`],
/// unless the program set a global level covering one already (say
/// `LogLayer::set_global_target_level("burn_train", Level::INFO)` to see
/// every step), or a layer of its own has one.
pub(crate) fn quiet_burn_steps() {
    for target in BURN_STEP_TARGETS {
        if rystematic::LogLayer::global_target_level(target).is_none() {
            rystematic::LogLayer::set_global_target_level(target, tracing::Level::WARN);
        }
    }
}

/// Burn's application-logger hook, composed with the run's logging: if no
/// global `tracing` subscriber exists yet it installs one with
/// [`rystematic::log_layer`] (and bridges `log` records); if one exists
/// (rystematic's, or the program's with `log_layer()` in it) it leaves it.
/// Either way Burn's records reach the run's `log.txt` and the console.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunLogInstaller;

impl ApplicationLoggerInstaller for RunLogInstaller {
    fn install(&self) -> Result<(), String> {
        install_run_logging();
        Ok(())
    }
}

/// Installs a global subscriber with [`rystematic::log_layer`] unless one
/// is installed already, and bridges `log` records into `tracing`. Returns
/// whether this call installed the subscriber.
pub fn install_run_logging() -> bool {
    // Fails only when a `log` logger exists already; that one keeps them.
    let _ = tracing_log::LogTracer::init();
    if tracing::dispatcher::has_been_set() {
        return false;
    }
    let subscriber = tracing_subscriber::registry().with(rystematic::log_layer());
    tracing::subscriber::set_global_default(subscriber).is_ok()
}

/// A burn-train [`MetricsRenderer`] that reports progress as log lines
/// (target `burn_train`), so they land in `log.txt`, instead of Burn's
/// terminal UI or its per-iteration `println!`s. Epoch and split starts are
/// `info`; per-iteration progress is `debug` (shown with `--debug`).
#[derive(Debug, Default)]
pub struct LogRenderer {
    /// The last epoch that ended.
    epoch: usize,
    total_epochs: usize,
    /// Where the span Burn announced at the start is reported back to
    /// [`crate::fit`], which cannot read it from `SupervisedTraining`.
    span: Option<EpochSpan>,
}

impl LogRenderer {
    /// A renderer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reports the training's span to `span` when Burn starts it.
    pub(crate) fn reporting(mut self, span: EpochSpan) -> Self {
        self.span = Some(span);
        self
    }
}

/// The epochs a training covers, as Burn announces them when it starts:
/// `(starting_epoch, total_epochs)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct EpochSpan(Arc<Mutex<Option<(usize, usize)>>>);

impl EpochSpan {
    fn set(&self, starting_epoch: usize, total_epochs: usize) {
        // A poisoned lock only means another thread panicked mid-write of
        // two integers; the value is still the one to report.
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((starting_epoch, total_epochs));
    }

    /// `(starting_epoch, total_epochs)`, once Burn started the training.
    pub(crate) fn get(&self) -> Option<(usize, usize)> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Burn's end-of-training (or evaluation) summary, as one log record.
fn log_summary(summary: Option<LearnerSummary>) {
    if let Some(summary) = summary {
        tracing::info!(target: "burn_train", "{summary}");
    }
}

impl MetricsRendererTraining for LogRenderer {
    fn update_train(&mut self, _state: MetricState) {}

    fn update_valid(&mut self, _state: MetricState) {}

    fn on_train_end(
        &mut self,
        summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        log_summary(summary);
        Ok(())
    }
}

impl MetricsRendererEvaluation for LogRenderer {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}

    fn on_test_end(
        &mut self,
        summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        log_summary(summary);
        Ok(())
    }
}

impl TrainingProgressLogger for LogRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _total_items: Option<usize>,
        label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
        self.epoch = starting_epoch.saturating_sub(1);
        if let Some(span) = &self.span {
            span.set(starting_epoch, total_epochs);
        }
        if starting_epoch > total_epochs {
            // Nothing to train: `fit` reports it as an error.
            return;
        }
        let label = label.unwrap_or("training");
        tracing::info!(target: "burn_train", "{label}: epochs {starting_epoch} to {total_epochs}");
    }

    /// Burn calls it when `epoch` ends.
    fn update_epoch(&mut self, epoch: usize) {
        self.epoch = epoch;
    }

    fn start_split(&mut self, split: &str, total_items: usize) {
        tracing::info!(
            target: "burn_train",
            "epoch {}/{}: {split} on {total_items} items",
            self.epoch + 1,
            self.total_epochs
        );
    }

    fn update_split(&mut self, items_processed: usize) {
        tracing::debug!(target: "burn_train", "{items_processed} items");
    }

    fn end_split(&mut self) {}

    fn end(&mut self) {}

    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for LogRenderer {
    fn start_global_progress(&mut self, total_tests: usize) {
        tracing::info!(target: "burn_train", "evaluating {total_tests} test(s)");
    }

    fn start_test(&mut self, name: &str, total_items: usize) {
        tracing::info!(target: "burn_train", "test {name} on {total_items} items");
    }

    fn update_test_progress(&mut self, items_processed: usize) {
        tracing::debug!(target: "burn_train", "{items_processed} items");
    }

    fn end_test(&mut self) {}

    fn end_global_progress(&mut self) {}

    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for LogRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, _definition: MetricDefinition) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use rystematic::LogLayer;
    use tracing::level_filters::LevelFilter;

    #[test]
    fn burns_step_lines_are_capped_at_warn_unless_the_program_chose_a_level() {
        // The program asks for DDP's step lines (a parent module covers it).
        let ddp = "burn_train::learner::supervised::strategies::ddp";
        LogLayer::set_global_target_level(ddp, tracing::Level::INFO);
        quiet_burn_steps();
        let level = LogLayer::global_target_level;
        assert_eq!(level(BURN_STEP_TARGETS[0]), Some(LevelFilter::WARN));
        assert_eq!(level(BURN_STEP_TARGETS[1]), Some(LevelFilter::WARN));
        assert_eq!(level(BURN_STEP_TARGETS[2]), Some(LevelFilter::INFO));
        // Burn's other lines (the renderer's progress, its summaries) are
        // not capped.
        assert_eq!(level("burn_train"), None);
    }
}
