//! Errors of the recorder and of checkpoints.

use std::io;
use std::path::PathBuf;

/// Something the recorder could not do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecorderError {
    /// An image buffer of the wrong size.
    #[error(
        "a {width}×{height} image with {channels} channels needs {} bytes, got {len}",
        *width as usize * *height as usize * usize::from(*channels)
    )]
    ImageSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes per pixel.
        channels: u8,
        /// Bytes given.
        len: usize,
    },
    /// An image or figure could not be encoded.
    #[error("{0}")]
    Encode(String),
    /// A backend this build of the crate leaves out (its cargo feature is
    /// off).
    #[error(
        "the `{backend}` recorder backend is not built in: enable the `{backend}` feature \
         of rystematic-recorder"
    )]
    BackendUnavailable {
        /// The backend's name (also its feature's name).
        backend: &'static str,
    },
    /// A file could not be written.
    #[error("cannot write '{}': {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// A checkpoint that could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The state could not be serialised.
    #[error("cannot serialise the checkpoint: {0}")]
    Encode(String),
    /// The file could not be written.
    #[error("cannot write checkpoint '{}': {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file could not be read or does not hold the expected state.
    #[error("cannot load checkpoint '{}': {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}
