//! The last dirty check of a repository, kept between runs so a run in an
//! unchanged tree does not run git again.
//!
//! The check is valid while HEAD, the index file and the set of tracked
//! files whose stat differs from the index (with their stat data) are what
//! they were: an edit changes a file's mtime, ctime or size, staging
//! rewrites the index, a commit moves HEAD. One file per repository under
//! `$XDG_CACHE_HOME/rystematic/git` (`~/.cache/...`): a JSON line, then the
//! diff's bytes. Written by rename, without a sync: a lost cache only costs
//! one git call.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::git_index::{self, Changed, FileStat};

/// What the check depends on, taken before it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    head: Option<String>,
    index: FileStat,
    changed: Changed,
}

impl Snapshot {
    /// The state now of the repository at `git_dir` whose HEAD is `head`
    /// (`None` when the index cannot tell, and git must be asked).
    pub(crate) fn take(git_dir: &Path, work_tree: &Path, head: Option<String>) -> Option<Snapshot> {
        // Before the files: an index rewritten meanwhile then fails to
        // match next time.
        let index = FileStat::of(&git_dir.join("index"))?;
        let changed = git_index::changed_files(git_dir, work_tree)?;
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
}

/// One repository's cache file.
pub(crate) struct Cache {
    path: PathBuf,
}

impl Cache {
    /// The cache of the repository at `git_dir` (`None` without a home).
    pub(crate) fn for_repo(git_dir: &Path) -> Option<Cache> {
        let root = std::env::var_os("XDG_CACHE_HOME")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
        let git_dir = fs::canonicalize(git_dir).ok()?;
        let key = Sha256::digest(git_dir.as_os_str().as_encoded_bytes());
        let name: String = key[..16].iter().map(|b| format!("{b:02x}")).collect();
        Some(Cache {
            path: root.join("rystematic/git").join(name),
        })
    }

    /// The check made for exactly this snapshot, if any: whether the tree
    /// was dirty, and the diff.
    pub(crate) fn lookup(&self, snapshot: &Snapshot) -> Option<(bool, Vec<u8>)> {
        let bytes = fs::read(&self.path).ok()?;
        let newline = bytes.iter().position(|&b| b == b'\n')?;
        let header: Header = serde_json::from_slice(&bytes[..newline]).ok()?;
        (header.snapshot == *snapshot).then(|| (header.dirty, bytes[newline + 1..].to_vec()))
    }

    /// Keeps the check made for `snapshot` (best effort).
    pub(crate) fn store(&self, snapshot: &Snapshot, dirty: bool, diff: &[u8]) {
        let _ = self.try_store(snapshot, dirty, diff);
    }

    fn try_store(&self, snapshot: &Snapshot, dirty: bool, diff: &[u8]) -> std::io::Result<()> {
        let dir = self
            .path
            .parent()
            .expect("the cache file is in a directory");
        fs::create_dir_all(dir)?;
        let header = Header {
            snapshot: snapshot.clone(),
            dirty,
        };
        // A name of this process's own: runs in one repository may store
        // at the same time, and the last rename wins whole.
        let temporary = self
            .path
            .with_extension(format!("{}.tmp", std::process::id()));
        let written = (|| {
            let mut file = fs::File::create(&temporary)?;
            serde_json::to_writer(&mut file, &header)?;
            file.write_all(b"\n")?;
            file.write_all(diff)?;
            fs::rename(&temporary, &self.path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_is_found_only_for_its_own_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache {
            path: dir.path().join("rystematic/git/repo"),
        };
        let file = dir.path().join("f");
        fs::write(&file, "x").unwrap();
        let stat = FileStat::of(&file).unwrap();
        let snapshot = Snapshot {
            head: Some("abc".into()),
            index: stat,
            changed: vec![("src/a.rs".into(), Some(stat)), ("gone.rs".into(), None)],
        };
        assert_eq!(cache.lookup(&snapshot), None);
        let diff = b"diff --git a/src/a.rs b/src/a.rs\n\xff binary-ish\n".to_vec();
        cache.store(&snapshot, true, &diff);
        assert_eq!(cache.lookup(&snapshot), Some((true, diff)));
        let moved = Snapshot {
            head: Some("def".into()),
            ..snapshot.clone()
        };
        assert_eq!(cache.lookup(&moved), None);
        let fewer = Snapshot {
            changed: vec![],
            ..snapshot
        };
        assert_eq!(cache.lookup(&fewer), None);
    }
}
