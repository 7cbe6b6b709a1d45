// The crate README is the crate docs (and its example a doc test), so
// crates.io and docs.rs show the same text.
// Its example draws a figure, so without `figures` it is not a doc test.
#![cfg_attr(any(not(doctest), feature = "figures"), doc = include_str!("../README.md"))]
#![cfg_attr(all(doctest, not(feature = "figures")), doc = "rystematic-recorder")]
// docs.rs (nightly) marks the items each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

// It builds on rystematic, and its never-torn records rely on how Unix
// cuts a killed write: one clear message rather than rystematic's.
#[cfg(not(unix))]
compile_error!("rystematic-recorder supports Unix only (Linux, macOS), like rystematic");

mod append;
mod checkpoint;
mod error;
mod extension;
#[cfg(feature = "figures")]
mod figure;
mod files;
mod hparam;
mod image;
mod recorder;
mod resume;
#[cfg(feature = "tensorboard")]
mod tensorboard;
// Without the feature, an uninhabited stand-in: the recorder keeps one
// code path, and the compiler knows no event writer ever exists.
#[cfg(not(feature = "tensorboard"))]
#[path = "tensorboard_disabled.rs"]
mod tensorboard;

/// Entry points for the fuzz targets (`fuzz/`). Not a public API.
#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;

pub use checkpoint::{checkpoint_file_name, latest_checkpoint, load_checkpoint};
pub use error::{CheckpointError, RecorderError};
pub use extension::{BACKENDS_PARAM, CHECKPOINT_PARAM, RecorderExtension, RunRecorder};
#[cfg(feature = "figures")]
pub use figure::LineChart;
pub use image::Image;
pub use recorder::{Backend, Recorder, RecorderState};

/// The README's Rust examples are compiled as doc tests here, at the top of
/// the crate graph where every crate they use is available, so the tutorial
/// cannot drift from the API.
#[cfg(all(doctest, feature = "figures", feature = "tensorboard"))]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
