//! The crate's errors.

use std::path::PathBuf;

/// What can go wrong wiring a Burn training into a run.
#[derive(Debug, thiserror::Error)]
pub enum BurnError {
    /// The `checkpoint` parameter names a file that is not a Burn
    /// checkpoint of this crate (or cannot be read).
    #[error("cannot resume from checkpoint {path}: {reason}")]
    Resume {
        /// The checkpoint file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// The checkpoint to resume from already has all the epochs the
    /// training asks for: resuming would train nothing.
    #[error(
        "cannot resume from checkpoint {checkpoint}: it is of epoch {epoch} and the training \
         asks for {epochs} epochs, so nothing is left to train (ask for more than {epoch})"
    )]
    NothingToTrain {
        /// The checkpoint file.
        checkpoint: PathBuf,
        /// The checkpoint's epoch.
        epoch: usize,
        /// The epochs the training asks for, in all.
        epochs: usize,
    },
    /// The recorder could not write the run's metrics.
    #[error("cannot record the training's metrics")]
    Record(#[from] rystematic_recorder::RecorderError),
    /// A checkpoint manifest could not be written.
    #[error("cannot save the checkpoint of epoch {epoch}")]
    Checkpoint {
        /// The epoch.
        epoch: usize,
        /// The cause.
        #[source]
        source: rystematic_recorder::CheckpointError,
    },
    /// Burn's training stopped with an error.
    #[error("training failed: {0}")]
    Training(String),
    /// The training panicked; the panic message.
    #[error("training panicked: {0}")]
    Panicked(String),
    /// A file could not be written.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The kept seeds of a run ([`crate::kept_seed`]) are damaged.
    #[error("cannot read the kept seeds in {path}: {reason}")]
    Seeds {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The ranks of a distributed run could not average their gradients.
    #[error("rank {rank} cannot {what}")]
    Collective {
        /// This process's rank.
        rank: u32,
        /// What it was doing.
        what: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A gradient could not be read to average it with the other ranks.
    #[error("cannot read the gradient of parameter {param} to average it: {reason}")]
    Gradient {
        /// The parameter's id.
        param: String,
        /// Why.
        reason: String,
    },
    /// No device can be chosen for this rank.
    #[error("no GPU for local rank {local_rank}: {reason}")]
    Device {
        /// The process's local rank.
        local_rank: u32,
        /// Why.
        reason: String,
    },
}
