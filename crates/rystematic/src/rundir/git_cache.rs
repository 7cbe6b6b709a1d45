//! The last dirty check of a repository, kept between runs so a run in an
//! unchanged tree does not run git again.
//!
//! The check is valid while HEAD, the index file and the set of tracked
//! files whose stat differs from the index (with their stat data) are what
//! they were: an edit changes a file's mtime, ctime or size, staging
//! rewrites the index, a commit moves HEAD.
//!
//! Two files per repository under `$XDG_CACHE_HOME/rystematic/git`
//! (`~/.cache/...`), named by a hash of its git directory (a new diff
//! replaces the last; runs keep theirs):
//! * `<key>`: a JSON line, the snapshot, the flag and the diff's file name;
//!   written by rename without a sync, as a lost one only costs a git call;
//! * `<key>-<digest>.diff`: the diff, named by its SHA-256, synced before it
//!   is named and never changed after. Runs put it in their directory as a
//!   hard link, not a copy: no data to write and sync, one file for a whole
//!   sweep. It is read and checked against its name before every use, so a
//!   copy edited through some run's link is noticed, never handed on.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::git_index::{Changed, FileStat};
use super::git_scan::{self, Scan};

/// What the check depends on, taken before it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    head: Option<String>,
    index: FileStat,
    changed: Changed,
}

impl Snapshot {
    /// The state now of the repository at `git_dir` whose HEAD is `head`
    /// (`None` when the index cannot tell, and git must be asked); `lend`
    /// gets the scan of the work tree, for other threads to help with.
    pub(crate) fn take(
        git_dir: &Path,
        work_tree: &Path,
        head: Option<String>,
        lend: impl FnOnce(&Arc<Scan>),
    ) -> Option<Snapshot> {
        // The index's stat is taken before the files: an index rewritten
        // meanwhile then fails to match next time.
        let (index, changed) = git_scan::changed_files(git_dir, work_tree, lend)?;
        Some(Snapshot {
            head,
            index,
            changed,
        })
    }
}

/// The header line of a cache file.
#[derive(Serialize, Deserialize)]
struct Header {
    snapshot: Snapshot,
    dirty: bool,
    /// The diff's file, beside this one (`None`: empty, a clean tree).
    diff: Option<String>,
}

/// A dirty check as the cache keeps it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Kept {
    pub(crate) dirty: bool,
    pub(crate) diff: Vec<u8>,
    /// The cache's own file holding `diff`, durable and never changed in
    /// place: a run links it rather than writing a copy.
    pub(crate) file: Option<PathBuf>,
}

/// The last check kept in a repository's cache.
pub(crate) struct Last<'a> {
    cache: &'a Cache,
    header: Header,
}

impl Last<'_> {
    /// Whether the tree was dirty: a likely answer until the check says.
    pub(crate) fn dirty(&self) -> bool {
        self.header.dirty
    }

    /// The check, if it was made for exactly this snapshot.
    pub(crate) fn matching(self, snapshot: &Snapshot) -> Option<Kept> {
        let Last { cache, header } = self;
        if header.snapshot != *snapshot {
            return None;
        }
        let Some(name) = header.diff else {
            return Some(Kept {
                dirty: header.dirty,
                diff: Vec::new(),
                file: None,
            });
        };
        let file = cache.dir.join(&name);
        let diff = fs::read(&file).ok()?;
        // Changed since it was written (through a run's link): no answer.
        (name == cache.diff_name(&diff)).then_some(Kept {
            dirty: header.dirty,
            diff,
            file: Some(file),
        })
    }
}

/// One repository's cache.
pub(crate) struct Cache {
    dir: PathBuf,
    key: String,
}

impl Cache {
    /// The cache of the repository at `git_dir` (`None` without a home).
    pub(crate) fn for_repo(git_dir: &Path) -> Option<Cache> {
        let git_dir = fs::canonicalize(git_dir).ok()?;
        let key = Sha256::digest(git_dir.as_os_str().as_encoded_bytes());
        Some(Cache {
            dir: super::cache_root()?.join("git"),
            key: hex(&key[..16]),
        })
    }

    /// The last check kept, if any.
    pub(crate) fn last(&self) -> Option<Last<'_>> {
        let bytes = fs::read(self.dir.join(&self.key)).ok()?;
        let header = serde_json::from_slice(&bytes).ok()?;
        Some(Last {
            cache: self,
            header,
        })
    }

    /// Keeps the check made for `snapshot` (best effort), and says where
    /// its diff is kept.
    pub(crate) fn store(&self, snapshot: &Snapshot, dirty: bool, diff: &[u8]) -> Option<PathBuf> {
        let name = (!diff.is_empty()).then(|| self.diff_name(diff));
        fs::create_dir_all(&self.dir).ok()?;
        if let Some(name) = &name {
            self.write(name, diff, true).ok()?;
        }
        let header = Header {
            snapshot: snapshot.clone(),
            dirty,
            diff: name.clone(),
        };
        let mut line = serde_json::to_vec(&header).ok()?;
        line.push(b'\n');
        self.write(&self.key, &line, false).ok()?;
        self.remove_diffs_but(name.as_deref());
        // Those of writers killed between write and rename.
        crate::fs::remove_abandoned_temp_files(&self.dir, ".");
        Some(self.dir.join(name?))
    }

    /// `<key>-<SHA-256 of the diff, 64 bits>.diff`.
    fn diff_name(&self, diff: &[u8]) -> String {
        format!("{}-{}.diff", self.key, hex(&Sha256::digest(diff)[..8]))
    }

    /// Writes the cache's file `name` whole, by rename, and (if `durable`)
    /// synced first.
    fn write(&self, name: &str, contents: &[u8], durable: bool) -> std::io::Result<()> {
        // A fresh name: runs in one repository (on several machines, with
        // a home on NFS) may store at the same time, and the last rename
        // wins whole.
        let (temporary, mut file) =
            crate::fs::create_exclusive(&self.dir, &format!(".{name}."), ".tmp", 0o644)?;
        let written = (|| {
            file.write_all(contents)?;
            if durable {
                file.sync_data()?;
            }
            fs::rename(&temporary, self.dir.join(name))
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written
    }

    /// Removes this repository's diffs other than `keep`: earlier ones live
    /// on in the runs that linked them.
    fn remove_diffs_but(&self, keep: Option<&str>) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = format!("{}-", self.key);
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(&prefix) && name.ends_with(".diff") && Some(name) != keep {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Cache {
        fn lookup(&self, snapshot: &Snapshot) -> Option<Kept> {
            self.last()?.matching(snapshot)
        }
    }

    fn cache_in(dir: &Path) -> Cache {
        Cache {
            dir: dir.join("rystematic/git"),
            key: "repo".into(),
        }
    }

    fn snapshot(dir: &Path) -> Snapshot {
        let file = dir.join("f");
        fs::write(&file, "x").unwrap();
        let stat = FileStat::of(&file).unwrap();
        Snapshot {
            head: Some("abc".into()),
            index: stat,
            changed: vec![("src/a.rs".into(), Some(stat)), ("gone.rs".into(), None)],
        }
    }

    #[test]
    fn a_check_is_found_only_for_its_own_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache_in(dir.path());
        let snapshot = snapshot(dir.path());
        assert_eq!(cache.lookup(&snapshot), None);
        let diff = b"diff --git a/src/a.rs b/src/a.rs\n\xff binary-ish\n".to_vec();
        let file = cache.store(&snapshot, true, &diff).unwrap();
        assert_eq!(fs::read(&file).unwrap(), diff);
        assert_eq!(
            cache.lookup(&snapshot),
            Some(Kept {
                dirty: true,
                diff,
                file: Some(file)
            })
        );
        let moved = Snapshot {
            head: Some("def".into()),
            ..snapshot.clone()
        };
        assert_eq!(cache.lookup(&moved), None);
        let fewer = Snapshot {
            changed: vec![],
            ..snapshot.clone()
        };
        assert_eq!(cache.lookup(&fewer), None);
        // A clean tree keeps no diff file.
        assert_eq!(cache.store(&snapshot, false, b""), None);
        let clean = cache.lookup(&snapshot).unwrap();
        assert_eq!((clean.dirty, clean.file), (false, None));
    }

    #[test]
    fn only_the_latest_diff_is_kept_and_a_changed_one_is_never_handed_on() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache_in(dir.path());
        let snapshot = snapshot(dir.path());
        let first = cache.store(&snapshot, true, b"+one\n").unwrap();
        // A run's link to the first diff outlives it in the cache.
        let linked = dir.path().join("git.diff");
        fs::hard_link(&first, &linked).unwrap();
        let second = cache.store(&snapshot, true, b"+two\n").unwrap();
        assert!(!first.exists());
        assert_eq!(fs::read(&linked).unwrap(), b"+one\n");
        assert_eq!(cache.lookup(&snapshot).unwrap().diff, b"+two\n");
        // Edited in place through a run's link: no longer the diff its
        // name says, so no answer (and git is asked).
        fs::hard_link(&second, dir.path().join("other.diff")).unwrap();
        fs::write(dir.path().join("other.diff"), b"+edited\n").unwrap();
        assert_eq!(cache.lookup(&snapshot), None);
        // Storing again makes a new file, and leaves the edited one alone.
        let third = cache.store(&snapshot, true, b"+two\n").unwrap();
        assert_eq!(third, second);
        assert_eq!(cache.lookup(&snapshot).unwrap().diff, b"+two\n");
        assert_eq!(
            fs::read(dir.path().join("other.diff")).unwrap(),
            b"+edited\n"
        );
    }
}
