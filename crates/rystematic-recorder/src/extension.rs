//! The recorder as a rystematic extension: a `recorder_backends` parameter
//! on every experiment, a [`Recorder`] for every run (silent on ranks > 0),
//! flushed however the run ends.

use std::fmt::Display;
use std::path::PathBuf;

use rystematic::{Extension, Outcome, Param, Run};
use serde::Serialize;

use crate::checkpoint;
use crate::error::CheckpointError;
use crate::recorder::{Backend, Recorder};

/// The parameter choosing the backends.
pub const BACKENDS_PARAM: &str = "recorder_backends";

/// The recorder extension. Linking this crate registers it; register it
/// yourself with `rystematic::register_extension` only when embedding.
#[derive(Debug, Default)]
pub struct RecorderExtension;

rystematic::register_extension!(RecorderExtension);

impl Extension for RecorderExtension {
    fn name(&self) -> &str {
        "recorder"
    }

    fn priority(&self) -> i32 {
        50
    }

    fn params(&self) -> Vec<Param> {
        vec![
            Param::string(BACKENDS_PARAM)
                .multiple()
                .allowed_values(["tensorboard", "files", "console"])
                .default(vec!["tensorboard", "files"])
                .help("Where the recorder writes: tensorboard (event files), files (scalars.csv, images/, figures/), console."),
        ]
    }

    fn before(&self, run: &mut Run) -> anyhow::Result<()> {
        // One writer per run: rank 0 (a distributed run's agent records
        // nothing; its master worker does).
        let recorder = if !run.is_master() || run.is_agent() {
            Recorder::silent()
        } else {
            let names: Vec<String> = run.params().get(BACKENDS_PARAM)?;
            let backends: Vec<Backend> =
                names.iter().filter_map(|n| Backend::from_name(n)).collect();
            Recorder::create(run.output_dir(), &backends)?
        };
        run.insert_ext(recorder);
        Ok(())
    }

    fn after(&self, run: &Run, outcome: &Outcome<'_>) -> anyhow::Result<()> {
        if let Some(recorder) = run.ext::<Recorder>() {
            recorder.finish(matches!(outcome, Outcome::Completed))?;
        }
        Ok(())
    }
}

/// The recorder and checkpoints, on the running experiment's [`Run`].
pub trait RunRecorder {
    /// This run's recorder.
    ///
    /// # Panics
    /// If the recorder extension is not loaded (see the crate docs on
    /// linking).
    fn recorder(&self) -> &Recorder;

    /// Saves `state` as `checkpoint-{id}.cbor` in the run directory,
    /// atomically, and returns its path; does nothing (and returns `None`)
    /// in a subprocess of rank > 0.
    ///
    /// # Errors
    /// If the state cannot be serialised or the file written.
    fn save_checkpoint<T: Serialize>(
        &self,
        state: &T,
        id: impl Display,
    ) -> Result<Option<PathBuf>, CheckpointError>;
}

impl RunRecorder for Run {
    fn recorder(&self) -> &Recorder {
        self.ext::<Recorder>().expect(
            "the rystematic-recorder extension is not loaded: the crate must be linked \
             (use something from it) or registered with rystematic::register_extension",
        )
    }

    fn save_checkpoint<T: Serialize>(
        &self,
        state: &T,
        id: impl Display,
    ) -> Result<Option<PathBuf>, CheckpointError> {
        if !self.is_master() || self.is_agent() {
            return Ok(None);
        }
        checkpoint::save(self.output_dir(), state, id).map(Some)
    }
}
