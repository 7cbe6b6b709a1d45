//! Git's index (`.git/index`), read just far enough to tell from `lstat`
//! alone which tracked files changed since git last looked at them: the
//! cheap half of `git diff HEAD`, done in-process, in chunks that several
//! threads can share ([`Scan`]). Layouts this reader does not know for
//! certain (split or sparse indexes, unmerged entries, SHA-256
//! repositories, racily clean entries) make it answer "don't know", and the
//! caller asks git.

use std::ffi::OsStr;
use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use nix::fcntl::{AtFlags, OFlag, open};
use nix::sys::stat::{Mode, fstatat};
use serde::{Deserialize, Serialize};

use crate::sync::LockUnpoisoned as _;

/// What `lstat` says of a file, in the index's own (32-bit) terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileStat {
    mtime: (u32, u32),
    ctime: (u32, u32),
    ino: u32,
    size: u32,
}

impl FileStat {
    fn from_stat(stat: &nix::sys::stat::FileStat) -> FileStat {
        FileStat {
            mtime: (stat.st_mtime as u32, stat.st_mtime_nsec as u32),
            ctime: (stat.st_ctime as u32, stat.st_ctime_nsec as u32),
            ino: stat.st_ino as u32,
            size: stat.st_size as u32,
        }
    }

    /// The file's stat now (`None` if it is gone).
    pub(crate) fn of(path: &Path) -> Option<FileStat> {
        let meta = fs::symlink_metadata(path).ok()?;
        // Truncated to 32 bits, as the index stores them.
        Some(FileStat {
            mtime: (meta.mtime() as u32, meta.mtime_nsec() as u32),
            ctime: (meta.ctime() as u32, meta.ctime_nsec() as u32),
            ino: meta.ino() as u32,
            size: meta.size() as u32,
        })
    }
}

/// Tracked files whose stat differs from the index's record, each with its
/// stat now (`None`: deleted), in index order.
pub(crate) type Changed = Vec<(String, Option<FileStat>)>;

/// The tracked files of an index, as it last saw them.
#[derive(Debug)]
struct Index {
    /// Every entry's path, one after the other: one buffer rather than
    /// thousands of small strings (their allocation was a third of the
    /// reading's cost).
    paths: Vec<u8>,
    entries: Vec<Entry>,
}

impl Index {
    fn path(&self, entry: &Entry) -> &[u8] {
        &self.paths[entry.path.clone()]
    }
}

/// One tracked file, as the index last saw it.
#[derive(Debug)]
struct Entry {
    /// Where its path is in [`Index::paths`].
    path: std::ops::Range<usize>,
    stat: FileStat,
}

/// The comparison of a work tree's tracked files with git's index, in
/// chunks that any thread may take: the check's own thread, helpers on
/// machines with cores to spare, and the run's own thread once its
/// experiment is done and it has nothing to do but wait for the answer.
/// (Two threads scanning from the start measured slower on two cores: they
/// take the run's own core while it starts.)
pub(crate) struct Scan {
    work_tree: PathBuf,
    /// The index file's stat, taken before it was read.
    index_stat: FileStat,
    index: Index,
    /// The next chunk to take.
    next: AtomicUsize,
    /// Each chunk's changed files once scanned (`None`: no answer).
    chunks: Vec<OnceLock<Option<Changed>>>,
    /// How many chunks are scanned, signalled on each.
    scanned: Mutex<usize>,
    all_scanned: Condvar,
}

/// Entries per chunk: small enough that threads finish together, large
/// enough that taking one costs nothing next to its 128 `lstat`s.
const CHUNK: usize = 128;

impl Scan {
    /// Reads the index of the repository at `git_dir`; `None` when it
    /// cannot answer for certain.
    pub(crate) fn start(git_dir: &Path, work_tree: &Path) -> Option<Scan> {
        let index_path = git_dir.join("index");
        let index_stat = FileStat::of(&index_path)?;
        let bytes = fs::read(&index_path).ok()?;
        let index = parse(&bytes)?;
        // Racily clean: written in the same instant as the index, so an
        // edit may not show in its stat. Git re-reads such files; ask git.
        if index
            .entries
            .iter()
            .any(|entry| entry.stat.mtime >= index_stat.mtime)
        {
            return None;
        }
        let chunks = index.entries.len().div_ceil(CHUNK);
        Some(Scan {
            work_tree: work_tree.to_owned(),
            index_stat,
            index,
            next: AtomicUsize::new(0),
            chunks: (0..chunks).map(|_| OnceLock::new()).collect(),
            scanned: Mutex::new(0),
            all_scanned: Condvar::new(),
        })
    }

    /// The index file's stat, taken before it was read.
    pub(crate) fn index_stat(&self) -> FileStat {
        self.index_stat
    }

    /// Scans chunks on this thread until none is left to take.
    pub(crate) fn help(&self) {
        let mut directory = None;
        loop {
            let chunk = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = self.chunks.get(chunk) else {
                return;
            };
            {
                // Counted even if this thread unwinds: a chunk with no
                // answer makes the scan's answer none, never a wait
                // without end.
                let _counted = Counted(self);
                let first = chunk * CHUNK;
                let entries =
                    &self.index.entries[first..(first + CHUNK).min(self.index.entries.len())];
                let changed = changed_among(&self.work_tree, &self.index, entries, &mut directory);
                let _ = slot.set(changed);
            }
            // A thread scanning without a break keeps its core for a whole
            // time slice, and a thread of the run woken there (its disk
            // syncs end) waits that long: on two cores, half of the runs
            // started milliseconds late. Between chunks, it goes first.
            std::thread::yield_now();
        }
    }

    /// Helps until no chunk is left, waits for those other threads took,
    /// and gives the tracked files whose stat differs from the index's,
    /// in index order (`None` when some chunk has no answer).
    pub(crate) fn finish(&self) -> Option<Changed> {
        self.help();
        let mut scanned = self.scanned.lock_unpoisoned();
        while *scanned < self.chunks.len() {
            scanned = crate::sync::unpoisoned(self.all_scanned.wait(scanned));
        }
        drop(scanned);
        let mut changed = Vec::new();
        for chunk in &self.chunks {
            changed.extend_from_slice(chunk.get()?.as_ref()?);
        }
        Some(changed)
    }
}

/// Counts a taken chunk as scanned when dropped.
struct Counted<'a>(&'a Scan);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        *self.0.scanned.lock_unpoisoned() += 1;
        self.0.all_scanned.notify_all();
    }
}

/// The tracked files of a work tree whose stat differs from the index's
/// record (with the index's own stat, taken first), scanned on this
/// thread and on helpers as the cores allow; `None` when the index cannot
/// answer for certain. `lend` gets the scan before it starts, for other
/// threads to [`Scan::help`].
pub(crate) fn changed_files(
    git_dir: &Path,
    work_tree: &Path,
    lend: impl FnOnce(&Arc<Scan>),
) -> Option<(FileStat, Changed)> {
    let scan = Arc::new(Scan::start(git_dir, work_tree)?);
    lend(&scan);
    // Beyond two cores, helpers do not slow the run's own start; below
    // that, the run's thread joins in at its end.
    let helpers = cores().saturating_sub(2).min(2);
    let changed = std::thread::scope(|scope| {
        for _ in 0..helpers {
            // A helper that cannot start leaves its share to the others.
            let _ = std::thread::Builder::new().spawn_scoped(scope, || scan.help());
        }
        scan.finish()
    })?;
    Some((scan.index_stat(), changed))
}

/// The cores this process may run on. (`available_parallelism` also reads
/// the cgroup's quota, a dozen file reads: longer than a tenth of the scan.)
fn cores() -> usize {
    use nix::sched::{CpuSet, sched_getaffinity};
    use nix::unistd::Pid;
    sched_getaffinity(Pid::from_raw(0)).map_or(1, |set| {
        (0..CpuSet::count())
            .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
            .count()
            .max(1)
    })
}

/// The directory a thread looks files up in, and its path in the index.
/// Entries are sorted by path, so a directory's files come together: each
/// is looked up relative to its directory, opened once (and kept from one
/// chunk to the thread's next), rather than along its whole path.
type OpenDirectory<'a> = Option<(&'a [u8], Option<OwnedFd>)>;

/// The entries of `part` whose file's stat differs from the index's
/// (`None` if one of them is not named in UTF-8).
fn changed_among<'a>(
    work_tree: &Path,
    index: &'a Index,
    part: &[Entry],
    directory: &mut OpenDirectory<'a>,
) -> Option<Changed> {
    let mut changed = Vec::new();
    for entry in part {
        let path = index.path(entry);
        let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
            Some(slash) => (&path[..slash], &path[slash + 1..]),
            None => (&path[..0], path),
        };
        if directory.as_ref().is_none_or(|(open, _)| *open != dir) {
            // Only looked up in, never read: `O_PATH` is the cheapest open.
            let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
            let handle = open(
                &work_tree.join(OsStr::from_bytes(dir)),
                flags,
                Mode::empty(),
            )
            .ok();
            *directory = Some((dir, handle));
        }
        let now = directory
            .as_ref()
            .and_then(|(_, handle)| handle.as_ref())
            .and_then(|handle| fstatat(handle, name, AtFlags::AT_SYMLINK_NOFOLLOW).ok())
            .map(|stat| FileStat::from_stat(&stat));
        if now != Some(entry.stat) {
            changed.push((String::from_utf8(path.to_vec()).ok()?, now));
        }
    }
    Some(changed)
}

/// The entries of an index of version 2, 3 or 4 (`None` for anything
/// else, or anything this reader would have to guess at).
fn parse(bytes: &[u8]) -> Option<Index> {
    const HASH: usize = 20;
    let mut reader = Reader { bytes, at: 0 };
    if reader.take(4)? != b"DIRC" {
        return None;
    }
    let version = reader.u32()?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = reader.u32()? as usize;
    // Bounded by the file's size: a damaged count cannot reserve more
    // than the entries there can be.
    let mut entries = Vec::with_capacity(count.min(bytes.len() / 62));
    let mut paths = Vec::with_capacity(bytes.len() / 2);
    // Index v4 stores each path as a change of the previous one.
    let mut previous = 0..0;
    for _ in 0..count {
        let start = reader.at;
        let ctime = (reader.u32()?, reader.u32()?);
        let mtime = (reader.u32()?, reader.u32()?);
        let _dev = reader.u32()?;
        let ino = reader.u32()?;
        let _mode = reader.u32()?;
        let _uid = reader.u32()?;
        let _gid = reader.u32()?;
        let size = reader.u32()?;
        reader.take(HASH)?;
        let flags = reader.u16()?;
        let assume_valid = flags & 0x8000 != 0;
        let stage = (flags >> 12) & 0x3;
        let extended = version >= 3 && flags & 0x4000 != 0;
        let extended_flags = if extended { reader.u16()? } else { 0 };
        // Unmerged, skip-worktree or intent-to-add: git's own business.
        if stage != 0 || extended_flags & (0x4000 | 0x2000) != 0 {
            return None;
        }
        let path_start = paths.len();
        if version == 4 {
            let strip = usize::try_from(reader.varint()?).ok()?;
            let suffix = reader.until_nul()?;
            let previous_len: usize = previous.len();
            let keep = previous_len.checked_sub(strip)?;
            paths.extend_from_within(previous.start..previous.start + keep);
            paths.extend_from_slice(suffix);
        } else {
            paths.extend_from_slice(reader.until_nul()?);
            // Entries are padded with NULs to a multiple of eight bytes
            // (the name's terminator is the first of them).
            let length = reader.at - start;
            let padded = (length + 7) & !7;
            reader.take(padded - length)?;
        }
        previous = path_start..paths.len();
        if assume_valid {
            continue;
        }
        entries.push(Entry {
            path: previous.clone(),
            stat: FileStat {
                mtime,
                ctime,
                ino,
                size,
            },
        });
    }
    // Extensions: a split index ("link") or sparse directories ("sdir")
    // mean the entries above are not the whole story.
    while reader.bytes.len() - reader.at > HASH {
        let signature = reader.take(4)?;
        if matches!(signature, b"link" | b"sdir") {
            return None;
        }
        let length = reader.u32()? as usize;
        reader.take(length)?;
    }
    Some(Index { paths, entries })
}

/// A cursor over the index's bytes; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    /// Bytes up to a NUL, which is consumed.
    fn until_nul(&mut self) -> Option<&'a [u8]> {
        let rest = self.bytes.get(self.at..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        self.at += end + 1;
        Some(&rest[..end])
    }

    /// Git's offset varint (index v4's prefix length).
    fn varint(&mut self) -> Option<u64> {
        let mut byte = self.take(1)?[0];
        let mut value = u64::from(byte & 0x7f);
        while byte & 0x80 != 0 {
            byte = self.take(1)?[0];
            value = value.checked_add(1)?.checked_mul(128)? | u64::from(byte & 0x7f);
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    /// A repository with `files` committed, its index written a moment
    /// after them (so no entry is racily clean).
    fn repo(version: &str, files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "."]);
        git(dir.path(), &["config", "index.version", version]);
        for file in files {
            let path = dir.path().join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, format!("{file}\n")).unwrap();
        }
        git(dir.path(), &["add", "-A"]);
        git(dir.path(), &["commit", "-q", "-m", "init"]);
        // Index entries newer than the index are racy: make them older.
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
        for file in files {
            let file = fs::File::options()
                .write(true)
                .open(dir.path().join(file))
                .unwrap();
            file.set_modified(old).unwrap();
        }
        git(dir.path(), &["update-index", "-q", "--really-refresh"]);
        dir
    }

    #[test]
    fn finds_exactly_the_edited_and_deleted_files_in_every_index_version() {
        let files = ["a.txt", "src/deep/b.txt", "src/deep/c.txt", "src/e.txt"];
        for version in ["2", "3", "4"] {
            let dir = repo(version, &files);
            let git_dir = dir.path().join(".git");
            let (index_stat, unchanged) = changed_files(&git_dir, dir.path(), |_| ()).unwrap();
            assert_eq!(unchanged, [], "index v{version}");
            assert_eq!(Some(index_stat), FileStat::of(&git_dir.join("index")));
            fs::write(dir.path().join("src/deep/c.txt"), "edited, longer\n").unwrap();
            fs::remove_file(dir.path().join("a.txt")).unwrap();
            let changed: Vec<(String, bool)> = changed_files(&git_dir, dir.path(), |_| ())
                .unwrap()
                .1
                .into_iter()
                .map(|(path, stat)| (path, stat.is_some()))
                .collect();
            assert_eq!(
                changed,
                [
                    ("a.txt".to_owned(), false),
                    ("src/deep/c.txt".to_owned(), true)
                ],
                "index v{version}"
            );
        }
    }

    #[test]
    fn a_scan_shared_by_threads_finds_every_change_in_index_order() {
        // Three chunks and a bit, so changes fall on their edges.
        let names: Vec<String> = (0..3 * CHUNK + 5)
            .map(|i| format!("d{}/f{i:03}.txt", i / 100))
            .collect();
        let files: Vec<&str> = names.iter().map(String::as_str).collect();
        let dir = repo("2", &files);
        let edited = [0, CHUNK - 1, CHUNK, 2 * CHUNK + 7, 3 * CHUNK + 4];
        for &i in &edited {
            fs::write(dir.path().join(&names[i]), "edited, longer\n").unwrap();
        }
        fs::remove_file(dir.path().join(&names[CHUNK + 1])).unwrap();
        let mut expected: Vec<String> = edited.iter().map(|&i| names[i].clone()).collect();
        expected.push(names[CHUNK + 1].clone());
        expected.sort();
        let git_dir = dir.path().join(".git");
        // Another thread helps with the scan it is lent, as the run's own
        // thread does once its experiment is done.
        let (tx, rx) = std::sync::mpsc::channel::<Arc<Scan>>();
        let helper = std::thread::spawn(move || {
            let scan = rx.recv().unwrap();
            scan.help();
            scan.next.load(Ordering::Relaxed)
        });
        let lend = |scan: &Arc<Scan>| tx.send(Arc::clone(scan)).unwrap();
        let (_, changed) = changed_files(&git_dir, dir.path(), lend).unwrap();
        let found: Vec<String> = changed.into_iter().map(|(path, _)| path).collect();
        assert_eq!(found, expected);
        assert!(
            helper.join().unwrap() > 3,
            "the helper returns once every chunk is taken"
        );
    }

    #[test]
    fn racy_entries_and_damaged_indexes_are_left_to_git() {
        let dir = repo("2", &["a.txt"]);
        let git_dir = dir.path().join(".git");
        // A file staged, then the index written in the same instant as the
        // file: racily clean (an edit in that instant would not show).
        fs::write(dir.path().join("a.txt"), "staged\n").unwrap();
        git(dir.path(), &["add", "a.txt"]);
        let index = fs::File::options()
            .write(true)
            .open(git_dir.join("index"))
            .unwrap();
        let file_mtime = fs::metadata(dir.path().join("a.txt"))
            .unwrap()
            .modified()
            .unwrap();
        index.set_modified(file_mtime).unwrap();
        assert_eq!(changed_files(&git_dir, dir.path(), |_| ()), None);

        let bytes = fs::read(git_dir.join("index")).unwrap();
        for cut in [0, 3, 12, 40, bytes.len() / 2] {
            assert!(parse(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        assert!(parse(b"DIRC\0\0\0\x07\0\0\0\0").is_none());
    }
}
