//! The recorder as a rystematic extension: a `recorder_backends` parameter
//! on every experiment, a [`Recorder`] for every run (silent on ranks > 0),
//! flushed however the run ends.

use std::fmt::Display;
use std::path::PathBuf;

use rystematic::{Extension, Outcome, Param, Run};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::checkpoint;
use crate::error::CheckpointError;
use crate::recorder::{Backend, Recorder};

/// The parameter choosing the backends.
pub const BACKENDS_PARAM: &str = "recorder_backends";

/// The parameter naming a checkpoint to start from (pystematic-torch's
/// `checkpoint`); see [`RunRecorder::start_checkpoint`].
pub const CHECKPOINT_PARAM: &str = "checkpoint";

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
            backends_param(),
            Param::path(CHECKPOINT_PARAM).help(
                "A checkpoint to start from (a checkpoint-*.cbor of an earlier run); the \
                 experiment loads it with run.start_checkpoint(). A run resumed with \
                 --resume-run starts from its own latest checkpoint instead.",
            ),
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
            if run.attempt() > 1 {
                resume(run, &backends)?
            } else {
                Recorder::create(run.output_dir(), &backends)?
            }
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

/// The recorder of a resumed run, going on after what its earlier
/// attempts recorded; says from where in the log.
fn resume(run: &Run, backends: &[Backend]) -> Result<Recorder, crate::RecorderError> {
    let recorder = Recorder::resume(run.output_dir(), backends)?;
    match recorder.resumed_after() {
        Some(step) => tracing::info!(
            target: "recorder",
            "attempt {}: recording goes on after step {step}, the last one recorded \
             (records of steps a tag already has are dropped)",
            run.attempt()
        ),
        None => tracing::info!(
            target: "recorder",
            "attempt {}: nothing was recorded yet; recording starts afresh",
            run.attempt()
        ),
    }
    Ok(recorder)
}

/// The `recorder_backends` parameter: the backends this build has.
#[cfg(feature = "tensorboard")]
fn backends_param() -> Param {
    Param::string(BACKENDS_PARAM)
        .multiple()
        .allowed_values(["tensorboard", "files", "console"])
        .default(vec!["tensorboard", "files"])
        .help("Where the recorder writes: tensorboard (event files), files (scalars.csv, images/, figures/), console.")
}

/// The `recorder_backends` parameter without TensorBoard. Asking for it
/// anyway (a habit, a shared params file) is bad input with a message
/// saying why, rather than clap's bare "not one of files, console".
#[cfg(not(feature = "tensorboard"))]
fn backends_param() -> Param {
    Param::custom(BACKENDS_PARAM, |name: &str| {
        match Backend::from_name(name).filter(|b| !b.is_available()) {
            Some(missing) => Err(crate::RecorderError::BackendUnavailable {
                backend: missing.name(),
            }),
            None => Ok(name.to_owned()),
        }
    })
    .multiple()
    .allowed_values(["files", "console"])
    .default(vec!["files"])
    .help("Where the recorder writes: files (scalars.csv, images/, figures/), console. (tensorboard needs the crate's `tensorboard` feature.)")
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
    /// in a subprocess of rank > 0, and once the run has ended (an
    /// interrupt ends it while the experiment goes on for a moment): the
    /// recorder writes nothing by then, and a checkpoint past its records
    /// would make a resumed run skip steps.
    ///
    /// # Errors
    /// If the state cannot be serialised or the file written.
    fn save_checkpoint<T: Serialize>(
        &self,
        state: &T,
        id: impl Display,
    ) -> Result<Option<PathBuf>, CheckpointError>;

    /// The checkpoint the run starts from, loaded as a `T`: on a resumed
    /// run (`--resume-run`, [`Run::attempt`] > 1), the run's own latest
    /// checkpoint (see [`Self::start_checkpoint_path`]); otherwise the
    /// file named by the `checkpoint` parameter, or `None` when it is
    /// unset.
    ///
    /// ```no_run
    /// # use rystematic_recorder::{RecorderState, RunRecorder};
    /// # #[derive(serde::Deserialize)] struct State { epoch: u32, recorder: RecorderState }
    /// # fn main_fn(run: &rystematic::Run) -> anyhow::Result<()> {
    /// let first_epoch = match run.start_checkpoint::<State>()? {
    ///     Some(state) => {
    ///         run.recorder().restore(&state.recorder);
    ///         state.epoch + 1
    ///     }
    ///     None => 0,
    /// };
    /// # let _ = first_epoch; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// If the file cannot be read or does not hold a `T`.
    fn start_checkpoint<T: DeserializeOwned>(&self) -> Result<Option<T>, CheckpointError>;

    /// The file [`Self::start_checkpoint`] loads: on a resumed run, the
    /// most recently written `checkpoint-*.cbor` in the run directory
    /// ([`latest_checkpoint`](crate::latest_checkpoint)), since it holds
    /// the progress of the attempts so far; otherwise, or when the run has
    /// none yet, the `checkpoint` parameter's file, if set.
    ///
    /// # Errors
    /// If the run directory cannot be listed, or the parameter read.
    fn start_checkpoint_path(&self) -> Result<Option<PathBuf>, CheckpointError>;
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
        // Encoded first: a state's `Serialize` may use the recorder, which
        // is held while the file is written.
        let bytes = checkpoint::encode(state)?;
        let save = || checkpoint::save_encoded(self.output_dir(), &bytes, id);
        match self.ext::<Recorder>() {
            Some(recorder) => recorder.unless_finished(save).transpose(),
            None => save().map(Some),
        }
    }

    fn start_checkpoint<T: DeserializeOwned>(&self) -> Result<Option<T>, CheckpointError> {
        let Some(path) = self.start_checkpoint_path()? else {
            return Ok(None);
        };
        if self.attempt() > 1 {
            tracing::info!(
                "attempt {}: starting from checkpoint {}",
                self.attempt(),
                path.display()
            );
        }
        checkpoint::load_checkpoint(&path).map(Some)
    }

    fn start_checkpoint_path(&self) -> Result<Option<PathBuf>, CheckpointError> {
        if self.attempt() > 1
            && let Some(latest) = checkpoint::latest_checkpoint(self.output_dir())?
        {
            return Ok(Some(latest));
        }
        let path: Option<PathBuf> =
            self.params()
                .get(CHECKPOINT_PARAM)
                .map_err(|e| CheckpointError::Read {
                    path: PathBuf::from(CHECKPOINT_PARAM),
                    reason: e.to_string(),
                })?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use rystematic::{Experiment, Params, Run};

    use super::*;

    fn experiment() -> Experiment {
        Experiment::new("backends", |_: &Params, run: &Run| {
            run.recorder().scalar("x", 1.0);
            Ok::<_, anyhow::Error>(())
        })
    }

    /// Runs `--recorder-backends <backends>` in a scratch output directory.
    fn cli(backends: &[&str]) -> (tempfile::TempDir, Result<(), rystematic::CliError>) {
        let out = tempfile::tempdir().unwrap();
        let mut argv = vec![
            "prog",
            "--output-dir",
            out.path().to_str().unwrap(),
            "--recorder-backends",
        ];
        argv.extend_from_slice(backends);
        let result = experiment().try_cli_from(argv).map(|_| ());
        (out, result)
    }

    #[cfg(not(feature = "tensorboard"))]
    #[test]
    fn asking_for_tensorboard_without_the_feature_is_a_usage_error_naming_it() {
        let (out, result) = cli(&["files", "tensorboard"]);
        let err = result.unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        let msg = err.to_string();
        assert!(msg.contains("'tensorboard'"), "{msg}");
        assert!(
            msg.contains("enable the `tensorboard` feature of rystematic-recorder"),
            "{msg}"
        );
        // Refused before the run: no run directory.
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    }

    #[cfg(not(feature = "tensorboard"))]
    #[test]
    fn without_the_feature_the_default_is_files_and_the_api_refuses_tensorboard() {
        let (out, result) = cli(&["files"]);
        result.unwrap();
        let (_, result) = cli(&["console"]);
        result.unwrap();
        let summary = experiment()
            .run([("output_dir", out.path().to_owned())])
            .unwrap();
        assert!(summary.output_dir.join("scalars.csv").is_file());
        let err = Recorder::create(out.path(), &[Backend::TensorBoard]).unwrap_err();
        assert!(
            matches!(
                err,
                crate::RecorderError::BackendUnavailable {
                    backend: "tensorboard"
                }
            ),
            "{err}"
        );
        assert!(!Backend::TensorBoard.is_available());
    }

    #[cfg(feature = "tensorboard")]
    #[test]
    fn with_the_feature_tensorboard_is_a_backend_and_the_default() {
        assert!(Backend::TensorBoard.is_available());
        let (out, result) = cli(&["tensorboard"]);
        result.unwrap();
        let summary = experiment()
            .run([("output_dir", out.path().to_owned())])
            .unwrap();
        let names: Vec<String> = std::fs::read_dir(&summary.output_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            names.iter().any(|n| n.starts_with("events.out.tfevents.")),
            "{names:?}"
        );
        assert!(names.iter().any(|n| n == "scalars.csv"), "{names:?}");
    }
}
