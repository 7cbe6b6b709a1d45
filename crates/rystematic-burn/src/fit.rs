//! [`fit`]: runs a burn-train `SupervisedTraining` as part of a run.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};

use burn::train::{Learner, LearnerModel, LearningResult, SupervisedTraining};
use rystematic::Run;
use rystematic_recorder::{CHECKPOINT_PARAM, Recorder, RecorderState, RunRecorder};

use crate::checkpoint::{
    AtomicFileCheckpointer, BurnCheckpoint, CHECKPOINT_DIR, EveryEpoch, PARTS,
};
use crate::error::BurnError;
use crate::logging::{EpochSpan, LogRenderer, RunLogInstaller, quiet_burn_steps};
use crate::metrics::{Record, RecorderMetricLogger};

/// What [`fit`] returns.
pub struct Fitted<M> {
    /// The trained model (in validation mode, as Burn returns it).
    pub model: M,
    /// The epoch training resumed after (`None` if it started fresh).
    pub resumed_from: Option<usize>,
    /// The last epoch's values, as recorded in hparams: `final/valid/loss`,
    /// `final/train/loss`, ...
    pub final_metrics: Vec<(String, f64)>,
}

/// Runs `training` with `learner` as part of `run`:
///
/// - every numeric train/valid metric goes to the run's Recorder
///   (`train/<metric>`, `valid/<metric>` at step = iteration;
///   `epoch/<split>/<metric>` at step = epoch), on the master rank;
/// - model, optimizer and scheduler are checkpointed every epoch into
///   `<run dir>/burn-checkpoints/`, atomically, with a manifest
///   `checkpoint-<epoch>.cbor` in the run directory;
/// - when the run's `checkpoint` parameter names such a manifest, training
///   restores model, optimizer, scheduler and the iteration counters and
///   goes on with the next epoch; a run resumed in place (`--resume-run`)
///   does so from its own latest manifest (see
///   [`RunRecorder::start_checkpoint_path`]), and the recorder drops the
///   steps of a partly done epoch that the earlier attempt recorded;
/// - Burn's logs and progress reach `log.txt` and the console (no
///   `experiment.log` of its own, no terminal UI), without Burn's
///   per-step `Iteration n` lines (see [`BURN_STEP_TARGETS`](crate::BURN_STEP_TARGETS));
///   each split's epoch ends with one summary line
///   (`epoch 2 valid: loss 0.0421`);
/// - at the end, the run's parameters and the last epoch's means go to
///   hparams as `final/<split>/<metric>` (`hparams.json`, TensorBoard's
///   HParams view).
///
/// Build `training` with `SupervisedTraining::new(run.output_dir(), ...)`
/// and set the epochs and metrics; `fit` sets the metric logger,
/// checkpointers, checkpointing strategy, application logger and renderer.
///
/// # Errors
/// If the checkpoint to resume from cannot be read, Burn's training ends
/// with an error or panics, or the recorder or a manifest cannot be
/// written.
pub fn fit<M: LearnerModel>(
    run: &Run,
    training: SupervisedTraining<M>,
    learner: Learner<M>,
) -> Result<Fitted<M>, BurnError> {
    let resume = resume_point(run)?;
    quiet_burn_steps();
    let recorder = run.recorder();
    if let Some((checkpoint, _)) = &resume {
        recorder.restore(&checkpoint.recorder);
    }
    let (sink, records) = mpsc::channel();
    let span = EpochSpan::default();
    let (train_iteration, valid_iteration) = resume
        .as_ref()
        .map_or((0, 0), |(c, _)| (c.train_iteration, c.valid_iteration));
    let dir = run.output_dir().join(CHECKPOINT_DIR);
    let restore_dir = resume
        .as_ref()
        .map(|(c, manifest)| manifest_dir(manifest).join(&c.dir));
    let checkpointer = |part| {
        AtomicFileCheckpointer::new(part, dir.clone(), restore_dir.clone())
            .writes(run.is_master() && !run.is_agent())
            .announce(sink.clone())
    };
    let mut training = training
        .with_metric_logger(RecorderMetricLogger::new(
            sink.clone(),
            train_iteration,
            valid_iteration,
        ))
        .with_custom_checkpointers(
            checkpointer(PARTS[0]),
            checkpointer(PARTS[1]),
            checkpointer(PARTS[2]),
        )
        .with_checkpointing_strategy(EveryEpoch)
        .with_application_logger(Some(Box::new(RunLogInstaller)))
        .renderer(Box::new(LogRenderer::new().reporting(span.clone())));
    if let Some((checkpoint, _)) = &resume {
        training = training.checkpoint(checkpoint.epoch);
    }
    // The connection of a data-parallel optimizer, to report what the
    // training cost in round trips.
    let data_parallel = crate::data_parallel::active();
    drop(sink);

    let mut drain = Drain::new(recorder, train_iteration, valid_iteration);
    // Burn's `SupervisedTraining` is not `Send`, so it launches here, and
    // the records drain on a scoped thread that borrows the run.
    let (result, drained) = std::thread::scope(|scope| {
        let drainer = scope.spawn(move || {
            drain.run(records, run);
            drain
        });
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| training.launch(learner)));
        // Every sender is gone once `launch` returns (Burn joins its event
        // and checkpointer threads), so the drain thread ends.
        (result, drainer.join())
    });
    if let Some(all_reduce) = &data_parallel {
        // What a step costs in round trips shows in every rank's log.
        tracing::info!(
            "{} gradient exchanges with the other ranks",
            all_reduce.exchanges()
        );
    }
    let drain = drained.map_err(|panic| BurnError::Panicked(panic_message(&*panic)))?;
    let result: LearningResult<M> =
        result.map_err(|panic| BurnError::Panicked(panic_message(&*panic)))?;
    let final_metrics = drain.last_epoch_means();
    drain.result?;
    // `SupervisedTraining` does not tell its epoch count before it runs; a
    // resume past the end shows as a start after the last epoch, having
    // trained nothing and written nothing.
    if let (Some((checkpoint, path)), Some((starting_epoch, epochs))) = (&resume, span.get())
        && starting_epoch > epochs
    {
        return Err(BurnError::NothingToTrain {
            checkpoint: path.clone(),
            epoch: checkpoint.epoch,
            epochs,
        });
    }
    if let Some(error) = result.error {
        return Err(BurnError::Training(error.to_string()));
    }
    let metrics: Vec<(&str, f64)> = final_metrics
        .iter()
        .map(|(tag, value)| (tag.as_str(), *value))
        .collect();
    recorder.hparams(run.params().iter(), &metrics)?;
    recorder.flush()?;
    Ok(Fitted {
        model: result.model,
        resumed_from: resume.map(|(c, _)| c.epoch),
        final_metrics,
    })
}

/// The epoch training resumes after: the one of the checkpoint the run
/// starts from (the run's own latest on a run resumed in place, else the
/// one the `checkpoint` parameter names), 0 without one. Give it to
/// [`EpochShuffledLoader::resume_after`](crate::EpochShuffledLoader::resume_after).
///
/// # Errors
/// If the checkpoint cannot be read or is not a Burn checkpoint.
pub fn resume_epoch(run: &Run) -> Result<usize, BurnError> {
    Ok(resume_point(run)?.map_or(0, |(checkpoint, _)| checkpoint.epoch))
}

/// The manifest the run starts from, and its path: on a run resumed in
/// place, its own latest; else the one the `checkpoint` parameter names.
fn resume_point(run: &Run) -> Result<Option<(BurnCheckpoint, PathBuf)>, BurnError> {
    let path = run.start_checkpoint_path().map_err(|e| BurnError::Resume {
        path: PathBuf::from(CHECKPOINT_PARAM),
        reason: e.to_string(),
    })?;
    let Some(path) = path else {
        return Ok(None);
    };
    let checkpoint: BurnCheckpoint =
        rystematic_recorder::load_checkpoint(&path).map_err(|e| BurnError::Resume {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    for part in PARTS {
        let file = checkpoint.part_path(manifest_dir(&path), part);
        if !file.is_file() {
            return Err(BurnError::Resume {
                path,
                reason: format!("its {part} file {} is missing", file.display()),
            });
        }
    }
    Ok(Some((checkpoint, path)))
}

/// The directory a manifest is in (its parts are found relative to it).
fn manifest_dir(manifest: &Path) -> &Path {
    manifest.parent().unwrap_or(Path::new("."))
}

/// Per epoch, what is known of it: saved parts and iteration counts.
#[derive(Default)]
struct EpochProgress {
    saved: HashSet<&'static str>,
    train_iteration: Option<u64>,
    valid_iteration: Option<u64>,
    manifest_written: bool,
}

/// The drain side: applies records to the recorder and writes a manifest
/// once an epoch's parts and counters are all known.
struct Drain<'r> {
    recorder: &'r Recorder,
    epochs: BTreeMap<usize, EpochProgress>,
    means: BTreeMap<usize, Vec<(String, f64)>>,
    train_iteration: u64,
    valid_iteration: u64,
    result: Result<(), BurnError>,
}

impl<'r> Drain<'r> {
    fn new(recorder: &'r Recorder, train_iteration: u64, valid_iteration: u64) -> Self {
        Drain {
            recorder,
            epochs: BTreeMap::new(),
            means: BTreeMap::new(),
            train_iteration,
            valid_iteration,
            result: Ok(()),
        }
    }

    fn run(&mut self, records: Receiver<Record>, run: &Run) {
        for record in records {
            if let Err(e) = self.apply(record, run)
                && self.result.is_ok()
            {
                // The first error is the one reported; training goes on,
                // since stopping Burn from here is not possible.
                self.result = Err(e);
            }
        }
    }

    fn apply(&mut self, record: Record, run: &Run) -> Result<(), BurnError> {
        match record {
            Record::Scalar { tag, step, value } => {
                if let Some(epoch) = tag.strip_prefix("epoch/").map(|_| step as usize) {
                    self.means
                        .entry(epoch)
                        .or_default()
                        .push((tag.clone(), value));
                }
                self.recorder.set_count(step);
                self.recorder.scalar(&tag, value);
            }
            Record::EpochEnd {
                split,
                epoch,
                iteration,
            } => {
                let progress = self.epochs.entry(epoch).or_default();
                match split {
                    "train" => {
                        progress.train_iteration = Some(iteration);
                        self.train_iteration = iteration;
                    }
                    "valid" => {
                        progress.valid_iteration = Some(iteration);
                        self.valid_iteration = iteration;
                    }
                    _ => {}
                }
                self.log_summary(split, epoch);
                // The recorder's count follows training, so what the
                // program records after `fit` comes after it.
                self.recorder.set_count(self.train_iteration);
                self.recorder.flush()?;
                self.write_manifest(epoch, run)?;
            }
            Record::Saved { part, epoch } => {
                self.epochs.entry(epoch).or_default().saved.insert(part);
                self.write_manifest(epoch, run)?;
            }
        }
        Ok(())
    }

    /// One line with the split's values for the epoch (they arrive before
    /// the split's end): `epoch 2 valid: loss 0.0421`.
    fn log_summary(&self, split: &str, epoch: usize) {
        let prefix = format!("epoch/{split}/");
        let values: Vec<String> = self
            .means
            .get(&epoch)
            .into_iter()
            .flatten()
            .filter_map(|(tag, value)| {
                tag.strip_prefix(&prefix)
                    .map(|name| format!("{name} {value:.6}"))
            })
            .collect();
        if !values.is_empty() {
            tracing::info!("epoch {epoch} {split}: {}", values.join(", "));
        }
    }

    /// Writes `checkpoint-<epoch>.cbor` once all its parts are saved and
    /// both splits' counters are known.
    fn write_manifest(&mut self, epoch: usize, run: &Run) -> Result<(), BurnError> {
        let Some(progress) = self.epochs.get_mut(&epoch) else {
            return Ok(());
        };
        if progress.manifest_written || progress.saved.len() < PARTS.len() {
            return Ok(());
        }
        let (Some(train_iteration), Some(valid_iteration)) =
            (progress.train_iteration, progress.valid_iteration)
        else {
            return Ok(());
        };
        progress.manifest_written = true;
        let manifest = BurnCheckpoint {
            epoch,
            train_iteration,
            valid_iteration,
            dir: PathBuf::from(CHECKPOINT_DIR),
            recorder: RecorderState {
                count: train_iteration,
            },
        };
        run.save_checkpoint(&manifest, epoch)
            .map_err(|source| BurnError::Checkpoint { epoch, source })?;
        tracing::debug!("checkpoint of epoch {epoch} saved");
        Ok(())
    }

    /// The last epoch's summaries, as `final/<split>/<metric>`.
    fn last_epoch_means(&self) -> Vec<(String, f64)> {
        self.means
            .last_key_value()
            .map(|(_, means)| {
                means
                    .iter()
                    .map(|(tag, value)| (tag.replacen("epoch/", "final/", 1), *value))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}
