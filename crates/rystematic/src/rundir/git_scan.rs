//! The comparison of a work tree's tracked files with git's index
//! ([`super::git_index`]), `lstat` by `lstat`, in chunks that several
//! threads can share ([`Scan`]). Racily clean entries (written in the
//! index's own instant) make it answer "don't know", and the caller asks
//! git.

use std::ffi::OsStr;
use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Instant;

use nix::fcntl::{AtFlags, OFlag, open};
use nix::sys::stat::{Mode, fstatat};

use super::git_index::{Changed, Entry, FileStat, Index, parse};
use crate::sync::LockUnpoisoned as _;

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
        // A submodule's own commits do not show in its directory's stat
        // either.
        if index
            .entries
            .iter()
            .any(|entry| entry.stat.mtime >= index_stat.mtime || entry.submodule)
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
        self.help_until(None);
    }

    /// [`Scan::help`], taking no chunk past `deadline`.
    pub(crate) fn help_until(&self, deadline: Option<Instant>) {
        let mut directory = None;
        while deadline.is_none_or(|deadline| Instant::now() < deadline) {
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

    /// [`Scan::finish`], with `helpers` more threads scanning meanwhile.
    fn finish_with(&self, helpers: usize) -> Option<Changed> {
        std::thread::scope(|scope| {
            for _ in 0..helpers {
                // A helper that cannot start leaves its share to the others.
                let _ = std::thread::Builder::new().spawn_scoped(scope, || self.help());
            }
            self.finish()
        })
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
    let changed = scan.finish_with(cores().saturating_sub(2).min(2))?;
    Some((scan.index_stat(), changed))
}

/// The cores this process may run on. (`available_parallelism` also reads
/// the cgroup's quota, a dozen file reads: longer than a tenth of the scan.)
#[cfg(target_os = "linux")]
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

/// The cores this process may run on.
#[cfg(not(target_os = "linux"))]
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// How to open a directory that is only looked up in, never read:
/// `O_PATH`, the cheapest open, where there is one.
fn lookup_only() -> OFlag {
    #[cfg(target_os = "linux")]
    return OFlag::O_PATH;
    #[cfg(not(target_os = "linux"))]
    return OFlag::O_RDONLY;
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
            let flags = lookup_only() | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
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
        let (_, changed) = changed_files(&git_dir, dir.path(), |_| ()).unwrap();
        let found: Vec<String> = changed.into_iter().map(|(path, _)| path).collect();
        assert_eq!(found, expected);
        // Chunks scanned by another thread (the run's own, once its
        // experiment is done) count: here it scans them all before the
        // check's own thread finishes.
        let scan = Arc::new(Scan::start(&git_dir, dir.path()).unwrap());
        let lent = Arc::clone(&scan);
        std::thread::spawn(move || lent.help()).join().unwrap();
        assert_eq!(scan.next.load(Ordering::Relaxed), scan.chunks.len() + 1);
        let found: Vec<String> = scan
            .finish()
            .unwrap()
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        assert_eq!(found, expected);
        // A helper past its deadline takes nothing.
        let scan = Scan::start(&git_dir, dir.path()).unwrap();
        scan.help_until(Some(Instant::now()));
        assert_eq!(scan.next.load(Ordering::Relaxed), 0);
        // With helper threads, as on more than two cores.
        let scan = Scan::start(&git_dir, dir.path()).unwrap();
        let changed = scan.finish_with(3).unwrap();
        let found: Vec<String> = changed.into_iter().map(|(path, _)| path).collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn racily_clean_entries_are_left_to_git() {
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
    }

    #[test]
    fn a_repository_with_a_submodule_is_left_to_git() {
        let dir = repo("2", &["a.txt"]);
        // A gitlink: new commits inside the submodule would not show in
        // its directory's stat.
        fs::create_dir(dir.path().join("sub")).unwrap();
        let commit = "0123456789abcdef0123456789abcdef01234567";
        git(
            dir.path(),
            &[
                "update-index",
                "--add",
                "--cacheinfo",
                &format!("160000,{commit},sub"),
            ],
        );
        let git_dir = dir.path().join(".git");
        assert_eq!(changed_files(&git_dir, dir.path(), |_| ()), None);
    }
}
