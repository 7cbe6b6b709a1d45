//! Burn's model/optimizer/scheduler checkpoints in the run directory,
//! written atomically, and the manifest that lets a later run resume.
//!
//! Each epoch's parts are burnpack files in `<run dir>/burn-checkpoints/`
//! (`model-<epoch>.bpk`, `optim-<epoch>.bpk`, `scheduler-<epoch>.bpk`).
//! Once all three are on disk, [`crate::fit`] writes the manifest
//! `checkpoint-<epoch>.cbor` in the run directory (the recorder's
//! checkpoint format), which is what the `checkpoint` parameter names: a
//! manifest never points at a part that is not complete.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;

use burn::train::checkpoint::{
    Checkpoint, Checkpointer, CheckpointerError, CheckpointingAction, CheckpointingStrategy,
};
use burn::train::metric::store::EventStoreClient;
use rystematic_recorder::RecorderState;
use serde::{Deserialize, Serialize};

use crate::metrics::Record;

/// The directory, inside the run directory, of the burnpack files.
pub const CHECKPOINT_DIR: &str = "burn-checkpoints";

/// The three parts of a checkpoint, as Burn saves them.
pub(crate) const PARTS: [&str; 3] = ["model", "optim", "scheduler"];

/// What `checkpoint-<epoch>.cbor` holds: enough to resume the training
/// after `epoch` exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurnCheckpoint {
    /// The last finished epoch (from 1).
    pub epoch: usize,
    /// Training iterations done so far (the step of `train/*`).
    pub train_iteration: u64,
    /// Validation iterations done so far (the step of `valid/*`).
    pub valid_iteration: u64,
    /// The directory of the burnpack files, relative to the manifest's.
    pub dir: PathBuf,
    /// The recorder's state, so the resumed run counts on.
    pub recorder: RecorderState,
}

impl BurnCheckpoint {
    /// The burnpack file of `part` (`model`, `optim`, `scheduler`), given
    /// the directory the manifest is in.
    pub fn part_path(&self, manifest_dir: &Path, part: &str) -> PathBuf {
        manifest_dir
            .join(&self.dir)
            .join(part_file_name(part, self.epoch))
    }
}

/// `model-3.bpk`.
pub fn part_file_name(part: &str, epoch: usize) -> String {
    format!("{part}-{epoch}.bpk")
}

/// A burn-train [`Checkpointer`] writing each record atomically (temporary
/// file, then rename) so a killed run never leaves a torn checkpoint, and
/// restoring from another run's directory when resuming.
pub struct AtomicFileCheckpointer {
    part: &'static str,
    dir: PathBuf,
    restore_dir: Option<PathBuf>,
    /// Only the master rank writes (the run directory is shared).
    writes: bool,
    done: Option<Sender<Record>>,
}

impl AtomicFileCheckpointer {
    /// Saves `part` (`model`, `optim`, `scheduler`) into `dir`; restores
    /// from `restore_dir` when given (the checkpoint being resumed),
    /// otherwise from `dir`.
    pub fn new(part: &'static str, dir: PathBuf, restore_dir: Option<PathBuf>) -> Self {
        AtomicFileCheckpointer {
            part,
            dir,
            restore_dir,
            writes: true,
            done: None,
        }
    }

    /// Whether this process writes (false on ranks other than the master).
    pub(crate) fn writes(mut self, writes: bool) -> Self {
        self.writes = writes;
        self
    }

    /// Announces each finished save on `done`.
    pub(crate) fn announce(mut self, done: Sender<Record>) -> Self {
        self.done = Some(done);
        self
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicFileCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        if !self.writes {
            return Ok(());
        }
        let bytes = record
            .checkpoint_into_bytes()
            .map_err(CheckpointerError::Record)?;
        std::fs::create_dir_all(&self.dir).map_err(CheckpointerError::IOError)?;
        let path = self.dir.join(part_file_name(self.part, epoch));
        rystematic::write_atomic(&path, &bytes).map_err(CheckpointerError::IOError)?;
        if let Some(done) = &self.done {
            let _ = done.send(Record::Saved {
                part: self.part,
                epoch,
            });
        }
        Ok(())
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        if !self.writes {
            return Ok(());
        }
        let path = self.dir.join(part_file_name(self.part, epoch));
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointerError::IOError(e))
            }
            _ => Ok(()),
        }
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        let dir = self.restore_dir.as_ref().unwrap_or(&self.dir);
        let path = dir.join(part_file_name(self.part, epoch));
        tracing::info!(
            "restoring the {} of epoch {epoch} from {}",
            self.part,
            path.display()
        );
        let bytes = std::fs::read(&path).map_err(CheckpointerError::IOError)?;
        R::checkpoint_from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
            .map_err(CheckpointerError::Record)
    }
}

/// Saves every epoch and deletes none: each epoch stays resumable, as the
/// run's `checkpoint-<epoch>.cbor` promise.
#[derive(Debug, Clone, Copy, Default)]
pub struct EveryEpoch;

impl CheckpointingStrategy for EveryEpoch {
    fn checkpointing(
        &mut self,
        _epoch: usize,
        _collector: &EventStoreClient,
    ) -> Vec<CheckpointingAction> {
        vec![CheckpointingAction::Save]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_found_next_to_the_manifest() {
        let checkpoint = BurnCheckpoint {
            epoch: 2,
            train_iteration: 10,
            valid_iteration: 4,
            dir: PathBuf::from(CHECKPOINT_DIR),
            recorder: RecorderState { count: 10 },
        };
        assert_eq!(
            checkpoint.part_path(Path::new("/runs/a"), "optim"),
            Path::new("/runs/a/burn-checkpoints/optim-2.bpk")
        );
    }
}
