//! Git's index (`.git/index`), read just far enough to tell from `lstat`
//! alone which tracked files changed since git last looked at them: the
//! cheap half of `git diff HEAD`, done in-process ([`super::git_scan`]
//! compares the files). Layouts this reader does not know for certain
//! (split or sparse indexes, unmerged entries, SHA-256 repositories) make
//! it answer "don't know", and the caller asks git.

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What `lstat` says of a file, in the index's own (32-bit) terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileStat {
    pub(super) mtime: (u32, u32),
    ctime: (u32, u32),
    ino: u32,
    size: u32,
}

impl FileStat {
    /// `stat`, truncated to 32 bits as the index stores it.
    pub(super) fn from_stat(stat: &nix::sys::stat::FileStat) -> FileStat {
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
pub(super) struct Index {
    /// Every entry's path, one after the other: one buffer rather than
    /// thousands of small strings (their allocation was a third of the
    /// reading's cost).
    paths: Vec<u8>,
    pub(super) entries: Vec<Entry>,
}

impl Index {
    pub(super) fn path(&self, entry: &Entry) -> &[u8] {
        &self.paths[entry.path.clone()]
    }
}

/// One tracked file, as the index last saw it.
#[derive(Debug)]
pub(super) struct Entry {
    /// Where its path is in [`Index::paths`].
    path: std::ops::Range<usize>,
    pub(super) stat: FileStat,
    /// A gitlink: a submodule's commit, not a file.
    pub(super) submodule: bool,
}

/// The entries of an index of version 2, 3 or 4 (`None` for anything
/// else, or anything this reader would have to guess at).
pub(super) fn parse(bytes: &[u8]) -> Option<Index> {
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
        let mode = reader.u32()?;
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
            submodule: mode & 0o170000 == 0o160000,
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

    #[test]
    fn damaged_indexes_are_left_to_git() {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("git")
            .args(["init", "-q", "."])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        fs::write(dir.path().join("a.txt"), "a\n").unwrap();
        let status = std::process::Command::new("git")
            .args(["add", "a.txt"])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let bytes = fs::read(dir.path().join(".git/index")).unwrap();
        let index = parse(&bytes).unwrap();
        assert_eq!(index.path(&index.entries[0]), b"a.txt");
        for cut in [0, 3, 12, 40, bytes.len() / 2] {
            assert!(parse(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        assert!(parse(b"DIRC\0\0\0\x07\0\0\0\0").is_none());
    }
}
