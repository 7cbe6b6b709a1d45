//! A burn-train metric logger that sends every metric to the run's
//! Recorder.
//!
//! Burn calls metric loggers on its own event thread and wants them
//! `'static`, while the run's [`Recorder`](rystematic_recorder::Recorder) is
//! borrowed from the [`Run`](rystematic::Run). So the logger only sends
//! [`Record`]s down a channel; [`crate::fit`] drains it into the recorder on
//! a thread that may borrow the run.

use std::collections::HashMap;
use std::sync::mpsc::Sender;

use burn::train::logger::MetricLogger;
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};

/// One thing for the recorder, in the order Burn produced it.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A scalar at a step.
    Scalar {
        /// `train/loss`, `valid/loss`, `epoch/valid/loss`, ...
        tag: String,
        /// The split's iteration (epoch summaries: the epoch).
        step: u64,
        /// The value.
        value: f64,
    },
    /// A split's epoch ended, after `iteration` iterations of that split
    /// since training began.
    EpochEnd {
        /// `train`, `valid` or `test`.
        split: &'static str,
        /// The epoch (from 1).
        epoch: usize,
        /// The split's iteration count at the end of the epoch.
        iteration: u64,
    },
    /// A checkpoint part (model, optim, scheduler) of an epoch is on disk.
    Saved {
        /// `model`, `optim` or `scheduler`.
        part: &'static str,
        /// The epoch.
        epoch: usize,
    },
}

/// The tag prefix of a split.
fn split_name(split: &Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Valid => "valid",
        Split::Test(_) => "test",
    }
}

/// Burn's metric name as a tag component: `Learning Rate` → `learning_rate`.
pub fn tag_name(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '/' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// A burn-train [`MetricLogger`] that records every numeric train/valid
/// metric in the run's Recorder: `train/<metric>` and `valid/<metric>` at
/// step = that split's iteration (counted from the start of training, so a
/// resumed run continues the curve), and `epoch/<split>/<metric>` (Burn's
/// value for the whole epoch, e.g. the mean loss) at step = epoch.
///
/// It also keeps the values in memory to answer Burn's
/// [`read_numeric`](MetricLogger::read_numeric) (checkpoint strategies and
/// early stopping ask it), so it can replace Burn's file logger.
/// [`crate::fit`] installs it; build one yourself only to drive the
/// recorder from another loop.
pub struct RecorderMetricLogger {
    sink: Sender<Record>,
    definitions: HashMap<MetricId, MetricDefinition>,
    /// Serialized entries by (metric, split, epoch), as Burn's loggers keep them.
    history: HashMap<(String, &'static str, usize), Vec<String>>,
    /// The epoch's value by (split, metric): Burn's final value, or else
    /// the last running mean.
    summary: HashMap<(&'static str, String), f64>,
    /// Iterations of train, valid and test since training began.
    iterations: [u64; 3],
}

impl RecorderMetricLogger {
    /// A logger sending to `sink`, whose iteration counters start at
    /// `train_iteration` and `valid_iteration` (non-zero when resuming).
    pub fn new(sink: Sender<Record>, train_iteration: u64, valid_iteration: u64) -> Self {
        RecorderMetricLogger {
            sink,
            definitions: HashMap::new(),
            history: HashMap::new(),
            summary: HashMap::new(),
            iterations: [train_iteration, valid_iteration, 0],
        }
    }

    fn send(&self, record: Record) {
        // The receiver lives until training ends; a send can only fail after
        // it, when nothing is left to record.
        let _ = self.sink.send(record);
    }

    fn counter(&mut self, split: &'static str) -> &mut u64 {
        match split {
            "train" => &mut self.iterations[0],
            "valid" => &mut self.iterations[1],
            _ => &mut self.iterations[2],
        }
    }
}

impl MetricLogger for RecorderMetricLogger {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
        let split = split_name(split);
        // Burn sends one update per iteration of a split, then one more at
        // the split's end with each metric's final value for the epoch
        // (`NumericEntry::Final`): that one is the epoch summary, not an
        // iteration.
        let is_final = !update.entries_numeric.is_empty()
            && update
                .entries_numeric
                .iter()
                .all(|n| matches!(n.numeric_entry, Some(NumericEntry::Final(_))));
        let step = if is_final {
            *self.counter(split)
        } else {
            let counter = self.counter(split);
            *counter += 1;
            *counter
        };
        for numeric in &update.entries_numeric {
            let entry = &numeric.entry;
            let Some(definition) = self.definitions.get(&entry.metric_id) else {
                continue;
            };
            let name = tag_name(&definition.name);
            if !entry.serialized_entry.is_not_available() {
                self.history
                    .entry((definition.name.to_string(), split, epoch))
                    .or_default()
                    .push(entry.serialized_entry.serialized.clone());
            }
            if is_final {
                if let Some(value) = &numeric.numeric_entry {
                    self.summary.insert((split, name), value.current());
                }
                continue;
            }
            if let Some(running) = &numeric.running_entry {
                self.summary
                    .entry((split, name.clone()))
                    .and_modify(|v| *v = running.current())
                    .or_insert(running.current());
            }
            if let Some(value) = &numeric.numeric_entry {
                self.send(Record::Scalar {
                    tag: format!("{split}/{name}"),
                    step,
                    value: value.current(),
                });
            }
        }
    }

    fn read_numeric(
        &mut self,
        name: &str,
        epoch: usize,
        split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        let key = (name.to_owned(), split_name(split), epoch);
        self.history
            .get(&key)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|value| NumericEntry::deserialize(value))
            .collect()
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.definitions
            .insert(definition.metric_id.clone(), definition);
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        let split = split_name(&summary.split);
        let epoch = summary.epoch_number;
        // Sorted, so the records (and scalars.csv) come in the same order
        // on every run.
        let mut means: Vec<(String, f64)> = self
            .summary
            .drain()
            .filter(|((s, _), _)| *s == split)
            .map(|((_, name), value)| (name, value))
            .collect();
        // `drain` emptied other splits' values too; none are pending, since
        // Burn ends one split's epoch before it starts the next split.
        means.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, value) in means {
            self.send(Record::Scalar {
                tag: format!("epoch/{split}/{name}"),
                step: epoch as u64,
                value,
            });
        }
        let iteration = *self.counter(split);
        self.send(Record::EpochEnd {
            split,
            epoch,
            iteration,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::mpsc;

    use burn::train::metric::store::NumericMetricUpdate;
    use burn::train::metric::{MetricAttributes, MetricEntry, SerializedEntry};

    use super::*;

    fn loss_update(id: &MetricId, value: NumericEntry, running: f64) -> MetricsUpdate {
        let serialized = value.serialize();
        MetricsUpdate::new(
            vec![],
            vec![NumericMetricUpdate::new(
                MetricEntry::new(id.clone(), SerializedEntry::new(String::new(), serialized)),
                Some(value),
                Some(NumericEntry::Value(running)),
            )],
        )
    }

    #[test]
    fn iterations_epoch_values_and_history() {
        let (sink, records) = mpsc::channel();
        // Resuming: 10 train iterations were done before.
        let mut logger = RecorderMetricLogger::new(sink, 10, 0);
        let id = MetricId::new(Arc::new("Loss".to_owned()));
        logger.log_metric_definition(MetricDefinition {
            metric_id: id.clone(),
            name: Arc::new("Loss".to_owned()),
            description: None,
            attributes: MetricAttributes::None,
        });
        logger.log(
            loss_update(&id, NumericEntry::Value(0.5), 0.5),
            2,
            &Split::Train,
        );
        logger.log(
            loss_update(&id, NumericEntry::Value(0.3), 0.4),
            2,
            &Split::Train,
        );
        // Burn's end-of-split update: the epoch's value, not an iteration.
        logger.log(
            loss_update(&id, NumericEntry::Final(0.41), 0.4),
            2,
            &Split::Train,
        );
        logger.log_epoch_summary(EpochSummary::new(2, Split::Train));
        let got: Vec<Record> = records.try_iter().collect();
        let scalar = |tag: &str, step, value| Record::Scalar {
            tag: tag.to_owned(),
            step,
            value,
        };
        assert_eq!(
            got,
            [
                scalar("train/loss", 11, 0.5),
                scalar("train/loss", 12, 0.3),
                scalar("epoch/train/loss", 2, 0.41),
                Record::EpochEnd {
                    split: "train",
                    epoch: 2,
                    iteration: 12
                },
            ]
        );
        // What Burn's checkpoint strategies and early stopping read back.
        let read = logger.read_numeric("Loss", 2, &Split::Train).unwrap();
        let values: Vec<f64> = read.iter().map(NumericEntry::current).collect();
        assert_eq!(values, [0.5, 0.3, 0.41]);
        assert!(
            logger
                .read_numeric("Loss", 1, &Split::Train)
                .unwrap()
                .is_empty()
        );
        assert!(
            logger
                .read_numeric("Loss", 2, &Split::Valid)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn tag_names_are_lowercase_words() {
        assert_eq!(tag_name("Loss"), "loss");
        assert_eq!(tag_name("Learning Rate"), "learning_rate");
        assert_eq!(tag_name(" Top-5 Accuracy "), "top-5_accuracy");
    }
}
