//! Stands in for the TensorBoard backend when the `tensorboard` feature is
//! off. `EventWriter` has no values, so `Option<EventWriter>` is always
//! `None` and the recorder's TensorBoard branches are dead code the
//! compiler can see through; `Recorder::create` refuses the backend before
//! one could be needed.

use std::collections::HashMap;
use std::io;
use std::path::Path;

use crate::error::RecorderError;

use crate::hparam::HParam;
use crate::image::Png;

/// Without the backend no event file is read back: a run resumed by this
/// build never wrote one (its `recorder_backends` cannot name it).
pub(crate) fn scan_dir(_dir: &Path, _last: &mut HashMap<String, u64>) -> Result<(), RecorderError> {
    Ok(())
}

/// No event writer exists in this build.
pub(crate) enum EventWriter {}

impl EventWriter {
    pub(crate) fn create(dir: &Path) -> io::Result<EventWriter> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "cannot write TensorBoard events into '{}': built without the `tensorboard` feature",
                dir.display()
            ),
        ))
    }

    pub(crate) fn path(&self) -> &Path {
        match *self {}
    }

    pub(crate) fn scalar(&mut self, _step: u64, _tag: &str, _value: f64) {
        match *self {}
    }

    pub(crate) fn image(&mut self, _step: u64, _tag: &str, _png: &Png) {
        match *self {}
    }

    pub(crate) fn text(&mut self, _step: u64, _tag: &str, _text: &str) {
        match *self {}
    }

    pub(crate) fn hparams_start(&mut self, _hparams: &[(String, HParam)], _metrics: &[&str]) {
        match *self {}
    }

    pub(crate) fn hparams_end(&mut self, _success: bool) {
        match *self {}
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match *self {}
    }

    pub(crate) fn close(&mut self) -> io::Result<()> {
        match *self {}
    }
}
