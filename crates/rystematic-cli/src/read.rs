//! Reading many small files fast: one reused buffer per thread, plain
//! `read` calls, `O_NOFOLLOW` where symlinks must not be followed. What
//! `ls` and the dashboard read run directories with.

use std::fs;
use std::path::Path;

thread_local! {
    /// Each reading thread's file buffer, reused for every file it reads:
    /// fresh buffers for 30,000 small files cost page faults and copies.
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Calls `f` with this thread's file buffer (its length is capacity, not
/// content: see [`read_into`]). Not reentrant.
pub(crate) fn with_buffer<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    BUFFER.with_borrow_mut(f)
}

/// Reads `file` from its position into the start of `buf` (growing it)
/// until end of file or `limit` bytes; returns how many came. Plain `read`
/// calls: std's `fs::read` and `read_to_end` ask for the size and position
/// first, two system calls per file that show over 10,000 runs.
pub(crate) fn read_into(
    file: &mut fs::File,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<usize> {
    use std::io::Read;
    let mut got = 0;
    while got < limit {
        if got == buf.len() {
            let grow = buf.len().max(16 * 1024).min(limit - got);
            buf.resize(got + grow, 0);
        }
        let end = buf.len().min(limit);
        match file.read(&mut buf[got..end]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Opens `path` for reading; unless `follow`, a symlink is an error
/// (`O_NOFOLLOW`: no extra system call to check).
pub(crate) fn open(path: &Path, follow: bool) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = if follow { 0 } else { libc::O_NOFOLLOW };
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
}

/// Calls `f` with the whole of the small file at `path`, read into this
/// thread's buffer (see [`open`] for `follow`).
pub(crate) fn with_file<R>(
    path: &Path,
    follow: bool,
    f: impl FnOnce(&[u8]) -> R,
) -> std::io::Result<R> {
    let mut file = open(path, follow)?;
    with_buffer(|buf| {
        let got = read_into(&mut file, buf, usize::MAX)?;
        Ok(f(&buf[..got]))
    })
}
