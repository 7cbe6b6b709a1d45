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
//!
//! A write can also fail partway (a full disk, a file-size limit). The
//! page layout is only worth anything while the appender's idea of the
//! file length is the file's, so after a failed write the file is cut back
//! to the last whole record it held before that write, and the buffer is
//! kept to be tried again (space may come back) up to [`MAX_RETAINED`]
//! bytes, then dropped and counted as lost. Lost records are an error at
//! [`Appender::close`], so a run never ends as if its metrics were whole.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The page size of the page cache's copy loop (x86-64, aarch64 default).
pub(crate) const PAGE: usize = 4096;

/// Pending bytes that trigger a write even between flushes.
const FLUSH_AT: usize = 256 * 1024;

/// Pending bytes kept for another try after failed writes; beyond this
/// they are dropped, so a disk that stays full costs bounded memory.
pub(crate) const MAX_RETAINED: usize = 16 * FLUSH_AT;

/// Where an appender's bytes go: a file, or a fault-injecting stand-in in
/// tests.
pub(crate) trait Sink: Write + Send {
    /// Cuts the file to `len` bytes.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl Sink for File {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

pub(crate) struct Appender {
    sink: Box<dyn Sink>,
    path: PathBuf,
    /// Units not yet written.
    buffer: Vec<u8>,
    /// File length once the buffer is written.
    end: u64,
    /// File length now: the end of the last whole unit written, where the
    /// buffer starts.
    written: u64,
    /// Buffer length at which `push` tries to write again; raised after a
    /// failure, so a full disk is not retried on every unit.
    write_at: usize,
    /// An error from a write between flushes, reported by the next flush.
    deferred: Option<io::Error>,
    /// Bytes of units dropped after failed writes, and why the first were.
    lost: u64,
    first_loss: Option<String>,
    /// The file could not be cut back to a whole unit: nothing more is
    /// written, or it would land after a torn one.
    broken: bool,
}

impl Appender {
    /// Creates `path`, which must not exist.
    pub(crate) fn create_new(path: &Path) -> io::Result<Appender> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)?;
        Ok(Appender::with_sink(path, Box::new(file)))
    }

    /// Opens `path` to append after what it holds, creating it if needed
    /// (a resumed run's file). The file must end on a whole unit (see
    /// [`crate::resume`], which cuts a torn tail first); units go on
    /// placed by the pages of the whole file.
    pub(crate) fn open_append(path: &Path) -> io::Result<Appender> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let len = file.metadata()?.len();
        Ok(Appender::with_sink_at(path, Box::new(file), len))
    }

    /// An appender writing to `sink`, which is empty; `path` names it in
    /// messages.
    pub(crate) fn with_sink(path: &Path, sink: Box<dyn Sink>) -> Appender {
        Appender::with_sink_at(path, sink, 0)
    }

    /// An appender writing to `sink`, which already holds `len` bytes of
    /// whole units.
    fn with_sink_at(path: &Path, sink: Box<dyn Sink>, len: u64) -> Appender {
        Appender {
            sink,
            path: path.to_owned(),
            buffer: Vec::with_capacity(FLUSH_AT + PAGE),
            end: len,
            written: len,
            write_at: FLUSH_AT,
            deferred: None,
            lost: 0,
            first_loss: None,
            broken: false,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length once everything pushed is written.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// Bytes left before the next page boundary (0 on a boundary).
    pub(crate) fn remaining_in_page(&self) -> usize {
        (PAGE - (self.end % PAGE as u64) as usize) % PAGE
    }

    /// Appends bytes (a whole unit, or filler) to the buffer.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if self.broken {
            self.lost += bytes.len() as u64;
            return;
        }
        self.buffer.extend_from_slice(bytes);
        self.end += bytes.len() as u64;
        if self.buffer.len() >= self.write_at
            && let Err(e) = self.write_buffer()
        {
            self.deferred.get_or_insert(e);
        }
    }

    /// Writes everything buffered, with one call.
    ///
    /// # Errors
    /// If this write, or one since the last flush, failed. What failed to
    /// be written is kept for the next try (see [`MAX_RETAINED`]).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        let written = self.write_buffer();
        match self.deferred.take() {
            Some(e) => Err(e),
            None => written,
        }
    }

    /// The last flush: writes everything buffered and reports whether
    /// every unit pushed reached the file. Earlier failed writes that a
    /// later one made good lost nothing and are not reported again.
    ///
    /// # Errors
    /// If units were lost: dropped after failed writes, or still buffered
    /// when the final write failed.
    pub(crate) fn close(&mut self) -> io::Result<()> {
        self.deferred = None;
        if let Err(e) = self.write_buffer()
            && !self.buffer.is_empty()
        {
            self.drop_buffer(&format!("the final write failed: {e}"));
        }
        match &self.first_loss {
            None => Ok(()),
            Some(why) => Err(io::Error::other(format!(
                "{} bytes of records were lost ({why}); the file holds only whole records",
                self.lost
            ))),
        }
    }

    fn write_buffer(&mut self) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other(
                "recording stopped: the file could not be cut back to a whole record",
            ));
        }
        if self.buffer.is_empty() {
            return Ok(());
        }
        let Err(error) = self.sink.write_all(&self.buffer) else {
            self.written = self.end;
            self.buffer.clear();
            self.write_at = FLUSH_AT;
            return Ok(());
        };
        // Part of the buffer may be in the file now, ending mid-unit. Cut
        // it back, so the file ends on a whole unit again and its length is
        // where the buffer starts: the page layout still holds.
        if let Err(cut) = self.sink.truncate(self.written) {
            self.broken = true;
            let why =
                format!("a write failed ({error}) and the file could not be cut back ({cut})");
            self.drop_buffer(&why);
            return Err(io::Error::new(error.kind(), why));
        }
        if self.buffer.len() >= MAX_RETAINED {
            self.drop_buffer(&format!("writes kept failing: {error}"));
        } else {
            self.write_at = self.buffer.len() + FLUSH_AT;
        }
        Err(error)
    }

    /// Gives up on the buffered units: they count as lost, and the next
    /// unit is placed where the file really ends.
    fn drop_buffer(&mut self, why: &str) {
        self.lost += self.buffer.len() as u64;
        self.first_loss.get_or_insert_with(|| why.to_owned());
        self.buffer.clear();
        self.end = self.written;
        self.write_at = FLUSH_AT;
    }

    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.buffer.len()
    }
}

/// A disk for tests: bytes in memory, a number of free bytes after which
/// writes fail with "no space" (after a short write, as a real disk does),
/// and truncation that can be made to fail.
#[cfg(test)]
pub(crate) mod fault {
    use std::io::{self, Write};
    use std::sync::{Arc, Mutex, MutexGuard};

    use super::Sink;

    #[derive(Default)]
    pub(crate) struct State {
        pub(crate) data: Vec<u8>,
        /// Bytes that still fit; `None`: unlimited.
        pub(crate) free: Option<usize>,
        pub(crate) truncate_fails: bool,
        pub(crate) failed_writes: usize,
    }

    #[derive(Clone, Default)]
    pub(crate) struct Disk(Arc<Mutex<State>>);

    impl Disk {
        pub(crate) fn with_free(free: usize) -> Disk {
            let disk = Disk::default();
            disk.state().free = Some(free);
            disk
        }

        pub(crate) fn state(&self) -> MutexGuard<'_, State> {
            self.0.lock().unwrap()
        }

        pub(crate) fn sink(&self) -> Box<dyn Sink> {
            Box::new(self.clone())
        }
    }

    impl Write for Disk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut state = self.state();
            let n = state.free.map_or(buf.len(), |free| free.min(buf.len()));
            if n == 0 && !buf.is_empty() {
                state.failed_writes += 1;
                return Err(io::ErrorKind::StorageFull.into());
            }
            state.data.extend_from_slice(&buf[..n]);
            if let Some(free) = &mut state.free {
                *free -= n;
            }
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink for Disk {
        fn truncate(&mut self, len: u64) -> io::Result<()> {
            let mut state = self.state();
            if state.truncate_fails {
                return Err(io::Error::other("truncate refused"));
            }
            let len = usize::try_from(len).unwrap();
            let freed = state.data.len().saturating_sub(len);
            state.data.truncate(len);
            if let Some(free) = &mut state.free {
                *free += freed;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fault::Disk;
    use super::*;

    #[test]
    fn a_write_cut_short_is_undone_and_tried_again() {
        let disk = Disk::with_free(250);
        let mut out = Appender::with_sink(Path::new("f"), disk.sink());
        for unit in [[1u8; 100], [2; 100]] {
            out.push(&unit);
        }
        out.flush().unwrap();
        out.push(&[3; 100]);
        out.push(&[4; 100]);
        // 50 bytes fit: the write stops mid-unit, and is cut back.
        assert!(out.flush().is_err());
        assert_eq!(disk.state().data.len(), 200, "back to a whole unit");
        assert_eq!(
            out.remaining_in_page(),
            PAGE - 400,
            "the kept units still count"
        );
        disk.state().free = None;
        out.push(&[5; 100]);
        out.close().unwrap();
        let data = disk.state().data.clone();
        let units: Vec<u8> = data.chunks(100).map(|c| c[0]).collect();
        assert_eq!(units, [1, 2, 3, 4, 5], "nothing lost once space came back");
        assert!(data.chunks(100).all(|c| c.iter().all(|&b| b == c[0])));
    }

    #[test]
    fn units_beyond_what_is_kept_are_dropped_and_reported() {
        let disk = Disk::with_free(PAGE);
        let mut out = Appender::with_sink(Path::new("f"), disk.sink());
        let unit = vec![7u8; PAGE];
        out.push(&unit);
        out.flush().unwrap();
        for _ in 0..(MAX_RETAINED / PAGE + 10) {
            out.push(&unit);
            let _ = out.flush();
            assert!(out.buffered() <= MAX_RETAINED, "memory stays bounded");
        }
        assert_eq!(disk.state().data.len(), PAGE);
        // Kept since the drop: placed after what the file really holds.
        let kept = out.buffered() as u64;
        assert_eq!(out.end, out.written + kept);
        assert_eq!(out.written, PAGE as u64);
        disk.state().free = None;
        out.push(&[8; 10]);
        let err = out.close().unwrap_err().to_string();
        assert!(err.contains("bytes of records were lost"), "{err}");
        let data = disk.state().data.clone();
        assert_eq!(
            data.len() as u64,
            PAGE as u64 + kept + 10,
            "whole units only"
        );
        assert!(data[..data.len() - 10].iter().all(|&b| b == 7));
        assert_eq!(&data[data.len() - 10..], &[8; 10]);
    }

    #[test]
    fn a_file_that_cannot_be_cut_back_stops_recording_loudly() {
        let disk = Disk::with_free(150);
        let mut out = Appender::with_sink(Path::new("f"), disk.sink());
        out.push(&[1; 100]);
        out.push(&[2; 100]);
        disk.state().truncate_fails = true;
        let err = out.flush().unwrap_err().to_string();
        assert!(err.contains("could not be cut back"), "{err}");
        disk.state().free = None;
        out.push(&[3; 100]);
        assert!(out.flush().is_err(), "nothing more is written");
        assert_eq!(disk.state().data.len(), 150);
        assert!(out.close().is_err());
    }

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

    #[test]
    fn appending_to_a_file_goes_on_in_its_pages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [1; 100]).unwrap();
        let mut out = Appender::open_append(&path).unwrap();
        assert_eq!(out.remaining_in_page(), PAGE - 100, "placed after the file");
        out.push(&[2; 10]);
        out.close().unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(data.len(), 110);
        assert!(data[..100].iter().all(|&b| b == 1) && data[100..].iter().all(|&b| b == 2));
    }
}
