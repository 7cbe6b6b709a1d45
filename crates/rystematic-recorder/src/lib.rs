//! A [rystematic](https://docs.rs/rystematic) extension that records
//! metrics — the Rust counterpart of pystematic-torch's Recorder.
//!
//! Add the crate as a dependency and every experiment of the program gets
//! a [`Recorder`] ([`RunRecorder::recorder`]) writing into its run
//! directory:
//!
//! * TensorBoard event files (`events.out.tfevents.*`): scalars, images,
//!   figures, text, and hyperparameters for the HParams view — point
//!   `tensorboard --logdir output/<experiment>` at them;
//! * plain files: `scalars.csv` (`step,tag,value`), PNGs in `images/` and
//!   `figures/` named `{tag with / → .}-{step}.png`, `text/`,
//!   `hparams.json`;
//! * optionally a console line per step.
//!
//! The `recorder_backends` parameter picks them (default: tensorboard and
//! files). Subprocesses of rank > 0 record nothing. Checkpoints of any
//! serde type go to `checkpoint-{id}.cbor` ([`RunRecorder::save_checkpoint`],
//! [`load_checkpoint`]).
//!
//! ```no_run
//! use rystematic::{Params, Run};
//! use rystematic_recorder::{Image, LineChart, RunRecorder};
//!
//! #[derive(Params)]
//! struct Train {
//!     #[param(default = 100)]
//!     steps: u64,
//! }
//!
//! #[rystematic::experiment]
//! fn train(params: Train, run: &Run) -> anyhow::Result<()> {
//!     let recorder = run.recorder();
//!     let mut losses = Vec::new();
//!     for step in 0..params.steps {
//!         let loss = 1.0 / (1.0 + step as f64);
//!         recorder.scalar("train/loss", loss);
//!         losses.push((step as f64, loss));
//!         recorder.step()?;
//!     }
//!     recorder.image("samples/noise", &Image::gray(2, 2, &[0, 85, 170, 255])?)?;
//!     recorder.figure("curves/loss", &LineChart::new("loss").series("train", losses))?;
//!     run.save_checkpoint(&recorder.state(), "final")?;
//!     Ok(())
//! }
//!
//! rystematic::main!();
//! ```
//!
//! **Linking.** The extension registers itself at link time. Using anything
//! from this crate (as `run.recorder()` does) links it.
//!
//! **Crash safety.** Records are buffered and written at each `step()`,
//! when 256 KiB are pending, and when the run ends, fails or is
//! interrupted. No record smaller than a page straddles a page boundary
//! (the rest of a page is filled with an empty event, or blank lines in
//! `scalars.csv`), and the kernel only ever cuts a killed write at a page
//! boundary: a reader sees every record up to the last flush and never half
//! a record, even after SIGKILL. Only a record larger than a page (an image
//! or figure) being written at that very moment can be cut.

mod append;
mod checkpoint;
mod error;
mod extension;
mod figure;
mod files;
mod image;
mod recorder;
mod tensorboard;

/// Entry points for the fuzz targets (`fuzz/`). Not a public API.
#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;

pub use checkpoint::{checkpoint_file_name, load_checkpoint};
pub use error::{CheckpointError, RecorderError};
pub use extension::{BACKENDS_PARAM, RecorderExtension, RunRecorder};
pub use figure::LineChart;
pub use image::Image;
pub use recorder::{Backend, Recorder, RecorderState};

/// The README's Rust examples are compiled as doc tests here, at the top of
/// the crate graph where every crate they use is available, so the tutorial
/// cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
