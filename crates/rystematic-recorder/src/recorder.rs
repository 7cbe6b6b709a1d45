//! [`Recorder`]: metrics keyed by tag and step, to every enabled backend.

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rystematic::Value;
use serde::{Deserialize, Serialize};

use crate::error::RecorderError;
#[cfg(feature = "figures")]
use crate::figure::LineChart;
use crate::files::FilesWriter;
use crate::hparam::{HParam, hparam};
use crate::image::{Image, Png};
use crate::resume::Recorded;
use crate::tensorboard::EventWriter;

/// Where a recorder writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// TensorBoard event files (`events.out.tfevents.*`).
    TensorBoard,
    /// `scalars.csv`, `images/`, `figures/`, `text/`, `hparams.json`.
    Files,
    /// One log line per step with that step's scalars.
    Console,
}

impl Backend {
    /// The name used by the `recorder_backends` parameter.
    pub fn name(self) -> &'static str {
        match self {
            Backend::TensorBoard => "tensorboard",
            Backend::Files => "files",
            Backend::Console => "console",
        }
    }

    /// Whether this build of the crate has the backend: TensorBoard needs
    /// the `tensorboard` feature (on by default).
    pub fn is_available(self) -> bool {
        match self {
            Backend::TensorBoard => cfg!(feature = "tensorboard"),
            Backend::Files | Backend::Console => true,
        }
    }

    /// The backend called `name`.
    pub fn from_name(name: &str) -> Option<Backend> {
        [Backend::TensorBoard, Backend::Files, Backend::Console]
            .into_iter()
            .find(|b| b.name() == name)
    }
}

/// What to save in a checkpoint to resume recording where it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecorderState {
    /// The step counter.
    pub count: u64,
}

/// Records scalars, images, figures, text and hyperparameters, keyed by
/// tag and the current step ([`Recorder::count`]).
///
/// In an experiment, get it with [`RunRecorder::recorder`](crate::RunRecorder::recorder);
/// it writes into the run directory, and is silent (records nothing) in
/// subprocesses of rank > 0. Writes are buffered and reach the files on
/// [`Recorder::step`], [`Recorder::flush`], and when the run ends however
/// it ends (completed, failed or interrupted).
///
/// ```no_run
/// use rystematic::{Experiment, Params, Run};
/// use rystematic_recorder::RunRecorder;
///
/// fn train(_params: &Params, run: &Run) -> anyhow::Result<()> {
///     let recorder = run.recorder();
///     for step in 0..100 {
///         recorder.scalar("train/loss", 1.0 / (1.0 + step as f64));
///         recorder.step()?;
///     }
///     Ok(())
/// }
/// # fn main() { Experiment::new("train", train).cli(); }
/// ```
pub struct Recorder {
    inner: Option<Mutex<Inner>>,
}

struct Inner {
    count: u64,
    tensorboard: Option<EventWriter>,
    files: Option<FilesWriter>,
    /// The console backend's scalars of the current step.
    console: Option<Vec<(String, f64)>>,
    hparams: bool,
    /// On a resumed run, what the earlier attempts recorded: records it
    /// already has are dropped.
    recorded: Option<Recorded>,
    /// The run ended: nothing more is recorded (see [`Recorder::finish`]).
    finished: bool,
}

impl Recorder {
    /// A recorder writing into `dir` with the given backends.
    ///
    /// # Errors
    /// If a backend's file cannot be created, or a backend is asked for
    /// that this build leaves out ([`Backend::is_available`]).
    pub fn create(dir: &Path, backends: &[Backend]) -> Result<Recorder, RecorderError> {
        Recorder::open(dir, backends, None)
    }

    /// A recorder going on with what a resumed run's earlier attempts
    /// recorded in `dir`: it appends to `scalars.csv` (after cutting a torn
    /// last row; no second header), starts a new event file beside the
    /// others (TensorBoard reads them all), and drops every record of a
    /// tag at a step that tag already has (scalars, images, figures, text),
    /// so steps replayed from a checkpoint are not recorded twice.
    /// [`Recorder::resumed_after`] tells the last step recorded.
    ///
    /// The rule is per tag: tags counted differently (a validation
    /// counter, epochs) each go on after their own last step, and a tag
    /// never recorded before is always kept.
    ///
    /// # Errors
    /// If the earlier files cannot be read or cut back, a backend's file
    /// cannot be opened, or a backend is asked for that this build leaves
    /// out.
    pub fn resume(dir: &Path, backends: &[Backend]) -> Result<Recorder, RecorderError> {
        Recorder::open(dir, backends, Some(Recorded::read(dir)?))
    }

    fn open(
        dir: &Path,
        backends: &[Backend],
        recorded: Option<Recorded>,
    ) -> Result<Recorder, RecorderError> {
        if let Some(missing) = backends.iter().find(|b| !b.is_available()) {
            return Err(RecorderError::BackendUnavailable {
                backend: missing.name(),
            });
        }
        let tensorboard = backends
            .contains(&Backend::TensorBoard)
            .then(|| {
                EventWriter::create(dir).map_err(|source| RecorderError::Io {
                    path: dir.join("events.out.tfevents.*"),
                    source,
                })
            })
            .transpose()?;
        let files = backends
            .contains(&Backend::Files)
            .then(|| match recorded {
                Some(_) => FilesWriter::append(dir),
                None => FilesWriter::create(dir),
            })
            .transpose()?;
        Ok(Recorder {
            inner: Some(Mutex::new(Inner {
                count: 0,
                tensorboard,
                files,
                console: backends.contains(&Backend::Console).then(Vec::new),
                hparams: false,
                recorded,
                finished: false,
            })),
        })
    }

    /// A recorder that records nothing (what subprocesses of rank > 0 get).
    pub fn silent() -> Recorder {
        Recorder { inner: None }
    }

    /// Whether this recorder records nothing.
    pub fn is_silent(&self) -> bool {
        self.inner.is_none()
    }

    fn lock(&self) -> Option<MutexGuard<'_, Inner>> {
        self.inner
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// On a resumed run, the last step its earlier attempts recorded (of
    /// any tag); `None` on a first attempt, on a resumed run that had
    /// recorded nothing, and for a silent recorder.
    pub fn resumed_after(&self) -> Option<u64> {
        self.lock()
            .and_then(|inner| inner.recorded.as_ref()?.last_step())
    }

    /// The current step.
    pub fn count(&self) -> u64 {
        self.lock().map_or(0, |inner| inner.count)
    }

    /// Sets the current step.
    pub fn set_count(&self, count: u64) {
        if let Some(mut inner) = self.lock() {
            inner.count = count;
        }
    }

    /// Ends the current step: writes everything recorded so far, then
    /// advances the counter.
    ///
    /// # Errors
    /// If a file cannot be written (the counter still advances).
    pub fn step(&self) -> Result<(), RecorderError> {
        let Some(mut inner) = self.lock() else {
            return Ok(());
        };
        let flushed = inner.flush();
        inner.count += 1;
        flushed
    }

    /// Records a scalar at the current step. TensorBoard stores it as a
    /// 32-bit float; `scalars.csv` keeps all 64 bits.
    pub fn scalar(&self, tag: &str, value: f64) {
        if let Some(mut inner) = self.lock() {
            inner.scalar(tag, value);
        }
    }

    /// Records several scalars at the current step.
    pub fn scalars<'a>(&self, values: impl IntoIterator<Item = (&'a str, f64)>) {
        if let Some(mut inner) = self.lock() {
            for (tag, value) in values {
                inner.scalar(tag, value);
            }
        }
    }

    /// Records an image at the current step.
    ///
    /// # Errors
    /// If it cannot be encoded or written.
    pub fn image(&self, tag: &str, image: &Image<'_>) -> Result<(), RecorderError> {
        if self.is_silent() {
            return Ok(());
        }
        let png = image.to_png()?;
        self.record_png("images", tag, &png)
    }

    /// Records a line chart, rendered to PNG, at the current step. Needs
    /// the `figures` feature (on by default).
    ///
    /// # Errors
    /// If it cannot be drawn or written.
    #[cfg(feature = "figures")]
    pub fn figure(&self, tag: &str, chart: &LineChart) -> Result<(), RecorderError> {
        if self.is_silent() {
            return Ok(());
        }
        let png = chart.to_png()?;
        self.record_png("figures", tag, &png)
    }

    fn record_png(&self, kind: &str, tag: &str, png: &Png) -> Result<(), RecorderError> {
        let Some(mut inner) = self.lock() else {
            return Ok(());
        };
        let step = inner.count;
        if inner.replayed(kind, tag, step) {
            return Ok(());
        }
        if let Some(tb) = &mut inner.tensorboard {
            tb.image(step, tag, png);
        }
        match &inner.files {
            Some(files) => files.png(kind, step, tag, png),
            None => Ok(()),
        }
    }

    /// Records text (Markdown in TensorBoard) at the current step.
    ///
    /// # Errors
    /// If the text file cannot be written.
    pub fn text(&self, tag: &str, text: &str) -> Result<(), RecorderError> {
        let Some(mut inner) = self.lock() else {
            return Ok(());
        };
        let step = inner.count;
        if inner.replayed("text", tag, step) {
            return Ok(());
        }
        if let Some(tb) = &mut inner.tensorboard {
            tb.text(step, tag, text);
        }
        match &inner.files {
            Some(files) => files.text(step, tag, text),
            None => Ok(()),
        }
    }

    /// Records the run's hyperparameters and its final metrics, so
    /// TensorBoard's HParams view can put runs side by side. Pass the
    /// parameters that matter (e.g. `run.params().iter()`, filtered);
    /// null values are skipped, lists become text. The metrics are also
    /// recorded as scalars at the current step.
    ///
    /// # Errors
    /// If `hparams.json` cannot be written.
    pub fn hparams<'a>(
        &self,
        params: impl IntoIterator<Item = (&'a str, &'a Value)>,
        metrics: &[(&str, f64)],
    ) -> Result<(), RecorderError> {
        let Some(mut inner) = self.lock() else {
            return Ok(());
        };
        let hparams: Vec<(String, HParam)> = params
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), hparam(value)?)))
            .collect();
        let tags: Vec<&str> = metrics.iter().map(|(tag, _)| *tag).collect();
        if let Some(tb) = &mut inner.tensorboard {
            tb.hparams_start(&hparams, &tags);
        }
        inner.hparams = true;
        for (tag, value) in metrics {
            inner.scalar(tag, *value);
        }
        match &inner.files {
            Some(files) => files.hparams(&hparams, metrics),
            None => Ok(()),
        }
    }

    /// The state to put in a checkpoint.
    pub fn state(&self) -> RecorderState {
        RecorderState {
            count: self.count(),
        }
    }

    /// Continues from a checkpoint's state.
    pub fn restore(&self, state: &RecorderState) {
        self.set_count(state.count);
    }

    /// Writes everything recorded so far.
    ///
    /// # Errors
    /// If a file cannot be written.
    pub fn flush(&self) -> Result<(), RecorderError> {
        match self.lock() {
            Some(mut inner) => inner.flush(),
            None => Ok(()),
        }
    }

    /// Runs `save` unless recording has ended, holding the recorder while
    /// it does, so that a checkpoint is never saved after the records of
    /// its steps stopped reaching the files (an interrupt ends the run
    /// while the experiment goes on for a moment): a resumed run would
    /// start past what was recorded. `None` once finished; a silent
    /// recorder always runs it.
    pub(crate) fn unless_finished<R>(&self, save: impl FnOnce() -> R) -> Option<R> {
        match self.lock() {
            Some(inner) if inner.finished => None,
            // Held on purpose: `finish` waits until the save is done.
            Some(_inner) => Some(save()),
            None => Some(save()),
        }
    }

    /// Ends recording: the HParams session end (if hparams were recorded),
    /// a flush, and no more writes — what the experiment records after its
    /// run ended (say, while an interrupt stops it) goes nowhere, so every
    /// backend ends at the same record.
    pub(crate) fn finish(&self, success: bool) -> Result<(), RecorderError> {
        let Some(mut inner) = self.lock() else {
            return Ok(());
        };
        if inner.hparams
            && let Some(tb) = &mut inner.tensorboard
        {
            tb.hparams_end(success);
        }
        let closed = inner.close();
        inner.finished = true;
        inner.tensorboard = None;
        inner.files = None;
        inner.console = None;
        closed
    }
}

impl Inner {
    fn scalar(&mut self, tag: &str, value: f64) {
        let step = self.count;
        if self.recorded.as_ref().is_some_and(|r| r.covers(tag, step)) {
            return;
        }
        if let Some(tb) = &mut self.tensorboard {
            tb.scalar(step, tag, value);
        }
        if let Some(files) = &mut self.files {
            files.scalar(step, tag, value);
        }
        if let Some(console) = &mut self.console {
            console.push((tag.to_owned(), value));
        }
    }

    /// Whether an earlier attempt already recorded this image, figure or
    /// text (`kind`).
    fn replayed(&self, kind: &str, tag: &str, step: u64) -> bool {
        self.recorded
            .as_ref()
            .is_some_and(|r| r.covers_file(kind, tag, step))
    }

    /// The last flush of every backend: an error if any record was lost
    /// on the way, even one whose failed write was reported before.
    fn close(&mut self) -> Result<(), RecorderError> {
        self.flush_console();
        let tb = match &mut self.tensorboard {
            Some(tb) => tb.close().map_err(|source| RecorderError::Io {
                path: tb.path().to_owned(),
                source,
            }),
            None => Ok(()),
        };
        let files = match &mut self.files {
            Some(files) => files.close(),
            None => Ok(()),
        };
        tb.and(files)
    }

    fn flush_console(&mut self) {
        if let Some(console) = &mut self.console
            && !console.is_empty()
        {
            let line: Vec<String> = console.drain(..).map(|(t, v)| format!("{t}={v}")).collect();
            tracing::info!(target: "recorder", "step {}: {}", self.count, line.join(" "));
        }
    }

    fn flush(&mut self) -> Result<(), RecorderError> {
        self.flush_console();
        let tb = match &mut self.tensorboard {
            Some(tb) => tb.flush().map_err(|source| RecorderError::Io {
                path: tb.path().to_owned(),
                source,
            }),
            None => Ok(()),
        };
        let files = match &mut self.files {
            Some(files) => files.flush(),
            None => Ok(()),
        };
        tb.and(files)
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("silent", &self.is_silent())
            .field("count", &self.count())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_steps_and_restores_state() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::create(dir.path(), &[Backend::Files]).unwrap();
        assert_eq!(recorder.count(), 0);
        recorder.scalar("a", 1.0);
        recorder.step().unwrap();
        recorder.scalars([("a", 2.0), ("b", 3.0)]);
        recorder.step().unwrap();
        assert_eq!(recorder.state(), RecorderState { count: 2 });
        recorder.restore(&RecorderState { count: 10 });
        recorder.scalar("a", 4.0);
        recorder.flush().unwrap();
        let csv = std::fs::read_to_string(dir.path().join("scalars.csv")).unwrap();
        assert_eq!(csv, "step,tag,value\n0,a,1.0\n1,a,2.0\n1,b,3.0\n10,a,4.0\n");
    }

    #[test]
    fn nothing_is_written_after_finish() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::create(dir.path(), &[Backend::Files]).unwrap();
        recorder.scalar("a", 1.0);
        recorder.finish(true).unwrap();
        recorder.scalar("a", 2.0);
        recorder.step().unwrap();
        let csv = std::fs::read_to_string(dir.path().join("scalars.csv")).unwrap();
        assert_eq!(csv, "step,tag,value\n0,a,1.0\n");
    }

    #[test]
    fn no_checkpoint_is_saved_once_recording_finished() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::create(dir.path(), &[Backend::Files]).unwrap();
        assert_eq!(recorder.unless_finished(|| 1), Some(1));
        recorder.finish(false).unwrap();
        assert_eq!(recorder.unless_finished(|| 2), None);
        assert_eq!(Recorder::silent().unless_finished(|| 3), Some(3));
    }

    #[test]
    fn a_silent_recorder_records_nothing() {
        let recorder = Recorder::silent();
        recorder.scalar("a", 1.0);
        recorder.step().unwrap();
        assert_eq!(recorder.count(), 0);
        assert!(
            recorder
                .image("i", &Image::gray(1, 1, &[0]).unwrap())
                .is_ok()
        );
    }

    #[test]
    fn backends_by_name() {
        assert_eq!(
            Backend::from_name("tensorboard"),
            Some(Backend::TensorBoard)
        );
        assert_eq!(Backend::from_name("csv"), None);
    }
}
