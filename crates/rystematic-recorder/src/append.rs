//! Appending records so that no crash — not even SIGKILL in the middle of a
//! `write` — leaves half a record in the file.
//!
//! Linux copies a `write` into the page cache one page (folio) at a time and
//! checks for a fatal signal between pages, so a write killed halfway ends
//! exactly at a page boundary. Writing whole records only is therefore not
//! enough: a record must also not *straddle* a page boundary. Each writer
//! places its units with [`Appender::remaining_in_page`] and fills the rest
//! of a page with something its readers skip (an empty TFRecord event, a
//! blank CSV line) when the next unit would straddle. A unit larger than a
//! page starts on a page boundary; only such a unit (an image) can be cut.
//!
//! The appender also buffers: units reach the file on [`Appender::flush`] or
//! when [`FLUSH_AT`] bytes are pending, so memory stays bounded.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The page size of the page cache's copy loop (x86-64, aarch64 default).
pub(crate) const PAGE: usize = 4096;

/// Pending bytes that trigger a write even between flushes.
const FLUSH_AT: usize = 256 * 1024;

pub(crate) struct Appender {
    file: File,
    path: PathBuf,
    /// Units not yet written.
    buffer: Vec<u8>,
    /// File length once the buffer is written.
    end: u64,
    /// An error from a write between flushes, reported by the next flush.
    deferred: Option<io::Error>,
}

impl Appender {
    /// Creates `path`, which must not exist.
    pub(crate) fn create_new(path: &Path) -> io::Result<Appender> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)?;
        Ok(Appender {
            file,
            path: path.to_owned(),
            buffer: Vec::with_capacity(FLUSH_AT + PAGE),
            end: 0,
            deferred: None,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes left before the next page boundary (0 on a boundary).
    pub(crate) fn remaining_in_page(&self) -> usize {
        (PAGE - (self.end % PAGE as u64) as usize) % PAGE
    }

    /// Appends bytes (a whole unit, or filler) to the buffer.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
        self.end += bytes.len() as u64;
        if self.buffer.len() >= FLUSH_AT
            && let Err(e) = self.write_buffer()
        {
            self.deferred.get_or_insert(e);
        }
    }

    /// Writes everything buffered, with one call.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        let written = self.write_buffer();
        match self.deferred.take() {
            Some(e) => Err(e),
            None => written,
        }
    }

    fn write_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.buffer);
        self.buffer.clear();
        result
    }

    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.buffer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_the_position_in_the_page_and_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut out = Appender::create_new(&path).unwrap();
        assert_eq!(out.remaining_in_page(), 0);
        out.push(&[1; 100]);
        assert_eq!(out.remaining_in_page(), PAGE - 100);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "buffered");
        out.flush().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 100);
        for _ in 0..100 {
            out.push(&[2; PAGE]);
        }
        assert!(out.buffered() < FLUSH_AT, "written on the way");
        assert_eq!(out.remaining_in_page(), PAGE - 100);
        assert!(Appender::create_new(&path).is_err(), "never reuses a file");
    }
}
