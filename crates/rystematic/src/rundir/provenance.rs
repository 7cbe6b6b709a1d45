//! Provenance for `run.json`: which program ran, built how, so that a run
//! can be rerun honestly (`rystematic rerun`/`verify` refuse a changed
//! binary).
//!
//! Hashing the executable (tens of megabytes) would cost a short run more
//! than everything else, so it happens on a background thread started with
//! the run and joined before the final `run.json`, and the digest is cached
//! under `$XDG_CACHE_HOME/rystematic/exe-sha256/` keyed by the file's
//! device, inode, size, mtime and ctime: only the first run of a freshly
//! built binary pays for the hash.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How the program was built: the same for rystematic and the program,
/// which one cargo build compiled together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// `rustc --version` of the compiler.
    pub rustc: String,
    /// The target triple.
    pub target: String,
    /// Cargo's profile (`debug` or `release`).
    pub profile: String,
}

impl BuildInfo {
    /// This build's, captured by `build.rs`.
    pub(crate) fn current() -> BuildInfo {
        BuildInfo {
            rustc: env!("RYSTEMATIC_BUILD_RUSTC").to_owned(),
            target: env!("RYSTEMATIC_BUILD_TARGET").to_owned(),
            profile: env!("RYSTEMATIC_BUILD_PROFILE").to_owned(),
        }
    }
}

/// The running executable, if the OS can tell.
pub(crate) fn current_exe() -> Option<PathBuf> {
    std::env::current_exe().ok()
}

/// Starts hashing `exe` in the background; join for its SHA-256 as
/// lowercase hex (`None` if it cannot be read).
pub(crate) fn spawn_exe_hash(exe: PathBuf) -> JoinHandle<Option<String>> {
    std::thread::spawn(move || cached_sha256(&exe))
}

fn cached_sha256(exe: &Path) -> Option<String> {
    let meta = fs::metadata(exe).ok()?;
    let key = format!(
        "{}-{}-{}-{}.{}-{}.{}",
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    );
    let cache = cache_dir().map(|dir| dir.join(key));
    if let Some(hit) = cache.as_ref().and_then(|p| fs::read_to_string(p).ok())
        && is_sha256(hit.trim())
    {
        return Some(hit.trim().to_owned());
    }
    let digest = sha256_file(exe).ok()?;
    if let Some(path) = cache {
        // A cache that cannot be written only costs the next run a hash.
        let _ = path
            .parent()
            .map(fs::create_dir_all)
            .transpose()
            .and_then(|_| crate::fs::write_atomic(&path, digest.as_bytes()));
    }
    Some(digest)
}

fn cache_dir() -> Option<PathBuf> {
    Some(super::cache_root()?.join("exe-sha256"))
}

/// SHA-256 of a file's contents, as lowercase hex: what `run.json` records
/// as `executable_sha256`, so a tool can tell whether a recorded program
/// is still the same binary.
///
/// # Errors
/// If the file cannot be read.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 256 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_files_and_caches_by_identity() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("prog");
        fs::write(&file, "abc").unwrap();
        assert_eq!(
            sha256_file(&file).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let build = BuildInfo::current();
        assert!(build.rustc.starts_with("rustc "), "{build:?}");
        assert!(!build.target.is_empty() && !build.profile.is_empty());
    }
}
