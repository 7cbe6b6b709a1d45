//! File creation that cannot be subverted or left half done: atomic
//! replacement (a crash leaves the old content or the new, never half) and
//! exclusive creation under unpredictable names (a symlink or directory
//! planted at a name we might use is never followed and never blocks us).

#[cfg(test)]
use crate::sync::LockUnpoisoned as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Attempts at a fresh random name before giving up: with 64 random bits
/// per name, a second collision in a row means someone is planting names.
const ATTEMPTS: usize = 16;

/// Writes `contents` to `path` through a temporary file in the same
/// directory and a rename, which replaces the file in one step: a crash
/// leaves the old content or the new, never half. What rystematic writes
/// goes through here; extensions writing into a run directory should too.
///
/// The temporary file is created exclusively under an unpredictable name
/// (`.<file name>.<pid>.<random>.tmp`), so nothing planted in the directory
/// can redirect the write. One left by a writer killed between write and
/// rename is removed by the next write of the same file once it is a
/// minute old (a live write's temporary file lives milliseconds).
///
/// The data is synced to disk before the rename and the directory after
/// it, so the guarantee holds across a power cut too, and once this
/// returns the new content is durable.
///
/// # Errors
/// Any I/O error; the temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace(path, contents)?;
    sync_dir(parent_dir(path))
}

/// [`write_atomic`] but for the sync of the directory: once this returns
/// the new content is whole and durable, and its name is too after the
/// next [`sync_dir`] of its directory. Files written together in one
/// directory then share that sync.
pub(crate) fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    Prepared::write(path, contents)?.put_in_place()
}

/// New content for a file, written and synced beside it, that
/// [`Prepared::put_in_place`] makes the file's in one step: the slow half
/// of [`replace`] (the data's sync) done ahead. Dropped instead, it is
/// removed and the file is untouched.
#[must_use = "dropping it discards the content"]
pub(crate) struct Prepared {
    /// `None` once renamed.
    temporary: Option<PathBuf>,
    path: PathBuf,
}

impl Prepared {
    /// Writes `contents` for `path` under a temporary name, synced.
    pub(crate) fn write(path: &Path, contents: &[u8]) -> io::Result<Prepared> {
        let prefix = temporary_prefix(path)?;
        let (temporary, mut file) = create_exclusive(parent_dir(path), &prefix, TMP_SUFFIX, 0o666)?;
        let prepared = Prepared {
            temporary: Some(temporary),
            path: path.to_owned(),
        };
        // Data first: a rename that reached the disk before the data would
        // leave an empty or torn file after a power cut.
        file.write_all(contents)?;
        file.sync_data()?;
        trace("sync", prepared.temporary.as_deref().unwrap_or(path));
        Ok(prepared)
    }

    /// Renames the content into place: durable once its directory is
    /// synced.
    pub(crate) fn put_in_place(mut self) -> io::Result<()> {
        if let Some(temporary) = &self.temporary {
            fs::rename(temporary, &self.path)?;
            self.temporary = None;
        }
        trace("rename", &self.path);
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        remove_abandoned_temp_files(parent_dir(&self.path), &format!(".{name}."));
        Ok(())
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(temporary) = &self.temporary {
            let _ = fs::remove_file(temporary);
        }
    }
}

/// Puts the file at `source` at `path` too, as a hard link: [`replace`]
/// without writing any data, for a file that is durable already and is
/// never changed in place (a cache's content-addressed copy). Whatever was
/// at `path` is replaced in one step; the new name is durable after the
/// next [`sync_dir`] of its directory.
///
/// # Errors
/// Any I/O error, `path` untouched: across file systems, for one.
pub(crate) fn link_replace(source: &Path, path: &Path) -> io::Result<()> {
    match fs::hard_link(source, path) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        done => return done.inspect(|()| trace("link", path)),
    }
    // Taken (by an earlier attempt's file): linked beside it, then renamed
    // over it, as `replace` does.
    let prefix = temporary_prefix(path)?;
    let dir = parent_dir(path);
    for _ in 0..ATTEMPTS {
        let temporary = dir.join(format!("{prefix}{}{TMP_SUFFIX}", random_hex()?));
        match fs::hard_link(source, &temporary) {
            Ok(()) => {
                let renamed = fs::rename(&temporary, path);
                if renamed.is_err() {
                    let _ = fs::remove_file(&temporary);
                }
                return renamed.inspect(|()| trace("link", path));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free file name in '{}'", dir.display()),
    ))
}

/// Writes a file in a directory nobody sees yet (a run directory's
/// staging): no temporary file, no sync — [`sync_dir_and_files`] syncs them
/// all at once before the directory is published.
pub(crate) fn write_unpublished(path: &Path, contents: &[u8]) -> io::Result<()> {
    fs::write(path, contents)
}

/// Syncs the data of every file directly in `dir`, and `dir` itself,
/// concurrently: the file system commits them together, at about the cost
/// of one sync instead of one per file.
pub(crate) fn sync_dir_and_files(dir: &Path) -> io::Result<()> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            files.push((File::open(entry.path())?, entry.path()));
        }
    }
    files.push((File::open(dir)?, dir.to_owned()));
    std::thread::scope(|scope| {
        let syncs: Vec<_> = files
            .iter()
            .map(|(file, path)| {
                scope.spawn(move || file.sync_all().inspect(|()| trace("sync", path)))
            })
            .collect();
        syncs.into_iter().try_for_each(|sync| {
            sync.join()
                .unwrap_or_else(|_| Err(io::Error::other("sync panicked")))
        })
    })
}

/// Makes `dir`'s entries (a rename, a new file) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()?;
    trace("sync", dir);
    Ok(())
}

/// Syncs and renames, in order, for the tests that pin the order.
#[cfg(test)]
pub(crate) static TRACE: std::sync::Mutex<Vec<(&str, PathBuf)>> = std::sync::Mutex::new(Vec::new());

/// Records a sync or rename of `path` (in tests only).
pub(crate) fn trace(_what: &'static str, _path: &Path) {
    #[cfg(test)]
    TRACE.lock_unpoisoned().push((_what, _path.to_owned()));
}

/// The traced events under `root`, with paths relative to it.
#[cfg(test)]
pub(crate) fn traced_under(root: &Path) -> Vec<(&'static str, String)> {
    TRACE
        .lock_unpoisoned()
        .iter()
        .filter_map(|(what, path)| {
            let rel = path.strip_prefix(root).ok()?;
            Some((*what, rel.to_string_lossy().into_owned()))
        })
        .collect()
}

const TMP_SUFFIX: &str = ".tmp";

/// A temporary file this old was left by a writer killed before its rename.
const ABANDONED_AFTER: Duration = Duration::from_secs(60);

/// Removes `<prefix>*.tmp` files in `dir` older than [`ABANDONED_AFTER`].
pub(crate) fn remove_abandoned_temp_files(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(prefix) && name.ends_with(TMP_SUFFIX)) {
            continue;
        }
        // symlink_metadata: a planted symlink is judged (and removed) as
        // itself, never through its target.
        let old = fs::symlink_metadata(entry.path())
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > ABANDONED_AFTER);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// `.<file name>.<pid>.`: how this process's temporary files for `path`
/// begin.
fn temporary_prefix(path: &Path) -> io::Result<String> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    Ok(format!(
        ".{}.{}.",
        name.to_string_lossy(),
        std::process::id()
    ))
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Creates a new file `<dir>/<prefix><16 random hex digits><suffix>` with
/// `O_CREAT | O_EXCL` (which never follows a symlink) and permission `mode`
/// (before the umask). A name that is taken — by a file, a directory or a
/// symlink — is skipped for another random one.
pub(crate) fn create_exclusive(
    dir: &Path,
    prefix: &str,
    suffix: &str,
    mode: u32,
) -> io::Result<(PathBuf, File)> {
    let names =
        std::iter::repeat_with(random_hex).map(|hex| Ok(format!("{prefix}{}{suffix}", hex?)));
    create_exclusive_from(dir, names, mode)
}

/// [`create_exclusive`] with the candidate names given (tests plant files
/// at the first ones).
fn create_exclusive_from(
    dir: &Path,
    names: impl Iterator<Item = io::Result<String>>,
    mode: u32,
) -> io::Result<(PathBuf, File)> {
    for name in names.take(ATTEMPTS) {
        let path = dir.join(name?);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free file name in '{}'", dir.display()),
    ))
}

/// 64 bits from the OS's randomness, as 16 hex digits.
pub(crate) fn random_hex() -> io::Result<String> {
    let n = getrandom::u64().map_err(io::Error::other)?;
    Ok(format!("{n:016x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["run.json"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"old").unwrap();
        // A directory in the way makes the rename fail.
        let blocked = dir.path().join("d");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"").unwrap();
        assert!(write_atomic(&blocked, b"new").is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn planted_symlinks_and_directories_are_neither_followed_nor_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"precious").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("dangling"), dir.path().join("b")).unwrap();
        fs::create_dir(dir.path().join("c")).unwrap();
        let names = ["a", "b", "c", "d"].map(|n| Ok(n.to_owned())).into_iter();
        let (path, mut file) = create_exclusive_from(dir.path(), names, 0o600).unwrap();
        file.write_all(b"mine").unwrap();
        assert_eq!(path, dir.path().join("d"));
        assert_eq!(fs::read(&target).unwrap(), b"precious");
        assert!(!dir.path().join("dangling").exists());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Every name taken: an error, nothing written anywhere.
        let names = ["a", "b", "c"].map(|n| Ok(n.to_owned())).into_iter();
        assert!(create_exclusive_from(dir.path(), names, 0o600).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"precious");
    }

    #[test]
    fn temp_files_left_by_a_killed_writer_are_removed_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        let left = dir.path().join(".run.json.999999.0123456789abcdef.tmp");
        let live = dir.path().join(".run.json.999998.0123456789abcdef.tmp");
        let other = dir.path().join(".sweep.json.999999.0123456789abcdef.tmp");
        for file in [&left, &live, &other] {
            fs::write(file, b"half").unwrap();
        }
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        for file in [&left, &other] {
            File::options()
                .write(true)
                .open(file)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        write_atomic(&path, b"new").unwrap();
        assert!(!left.exists(), "abandoned");
        assert!(live.exists(), "may be another writer's, mid-write");
        assert!(other.exists(), "another file's: its own writer cleans it");
    }

    #[test]
    fn data_is_synced_before_the_rename_and_the_directory_after() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(&dir.path().join("run.json"), b"x").unwrap();
        let events = traced_under(dir.path());
        assert_eq!(events.len(), 3, "{events:?}");
        assert_eq!(events[0].0, "sync");
        assert!(events[0].1.starts_with(".run.json.") && events[0].1.ends_with(".tmp"));
        assert_eq!(events[1], ("rename", "run.json".to_owned()));
        assert_eq!(events[2], ("sync", String::new()), "the directory");
    }

    #[test]
    fn temp_names_are_unpredictable() {
        let dir = tempfile::tempdir().unwrap();
        let (a, _) = create_exclusive(dir.path(), ".x.", ".tmp", 0o600).unwrap();
        let (b, _) = create_exclusive(dir.path(), ".x.", ".tmp", 0o600).unwrap();
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_str().unwrap();
        assert_eq!(name.len(), ".x.".len() + 16 + ".tmp".len());
    }

    #[test]
    fn prepared_content_shows_only_once_in_place_and_goes_if_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        fs::write(&path, b"old").unwrap();
        let dropped = Prepared::write(&path, b"discarded").unwrap();
        let kept = Prepared::write(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"old");
        drop(dropped);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
        kept.put_in_place().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_link_puts_the_same_file_in_place_of_whatever_was_there() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source");
        fs::write(&source, b"diff").unwrap();
        let fresh = dir.path().join("fresh");
        link_replace(&source, &fresh).unwrap();
        let taken = dir.path().join("taken");
        fs::write(&taken, b"an earlier attempt's").unwrap();
        link_replace(&source, &taken).unwrap();
        // A symlink in the way is replaced, not followed.
        let target = dir.path().join("target");
        fs::write(&target, b"precious").unwrap();
        let planted = dir.path().join("planted");
        std::os::unix::fs::symlink(&target, &planted).unwrap();
        link_replace(&source, &planted).unwrap();
        let inode = fs::metadata(&source).unwrap().ino();
        for path in [&fresh, &taken, &planted] {
            let meta = fs::symlink_metadata(path).unwrap();
            assert_eq!(meta.ino(), inode, "{}", path.display());
        }
        assert_eq!(fs::read(&target).unwrap(), b"precious");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            5,
            "no temporary file left"
        );
        // Nothing to link: an error, and nothing made.
        let gone = dir.path().join("gone");
        assert!(link_replace(&gone, &dir.path().join("new")).is_err());
        assert!(!dir.path().join("new").exists());
    }
}
