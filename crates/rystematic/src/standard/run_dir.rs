//! Creating a run's directory:
//! `<output_dir>/<experiment>/<YYYY-MM-DD_HH-MM-SS>_<6 chars of [0-9a-z]>`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Attempts before giving up; with 36^6 suffixes per second a second
/// collision in a row means something other than bad luck is wrong.
const ATTEMPTS: usize = 16;

/// Creates a new, never-used run directory. The leaf is made with
/// `create_dir`, which fails if it exists, so two runs can never share one
/// even when they start in the same second in different processes.
pub(crate) fn create(
    output_dir: &Path,
    experiment: &str,
    now: &jiff::ZonedDateTime,
) -> io::Result<PathBuf> {
    let parent = std::path::absolute(output_dir.join(experiment))?;
    fs::create_dir_all(&parent)?;
    let stamp = now.strftime("%Y-%m-%d_%H-%M-%S").to_string();
    for _ in 0..ATTEMPTS {
        let dir = parent.join(format!("{stamp}_{}", random_suffix()?));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free run directory name in {}", parent.display()),
    ))
}

/// Six characters of `[0-9a-z]` from the OS's randomness (not the seed
/// stream: directory names must differ even between runs with equal seeds).
fn random_suffix() -> io::Result<String> {
    const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut suffix = String::with_capacity(6);
    let mut bytes = [0u8; 16];
    while suffix.len() < 6 {
        getrandom::fill(&mut bytes).map_err(io::Error::other)?;
        // 252 = 7 * 36: rejecting larger bytes keeps the choice uniform.
        for &b in bytes.iter().filter(|&&b| b < 252).take(6 - suffix.len()) {
            suffix.push(ALPHABET[usize::from(b % 36)] as char);
        }
    }
    Ok(suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_format_and_never_repeat() {
        let out = tempfile::tempdir().unwrap();
        let now: jiff::ZonedDateTime = "2026-11-28T05:15:13[UTC]".parse().unwrap();
        let dirs: Vec<_> = (0..50)
            .map(|_| create(out.path(), "my-exp", &now).unwrap())
            .collect();
        let mut names: Vec<_> = dirs
            .iter()
            .map(|d| d.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        for name in &names {
            let (stamp, suffix) = name.rsplit_once('_').unwrap();
            assert_eq!(stamp, "2026-11-28_05-15-13");
            assert_eq!(suffix.len(), 6);
            assert!(
                suffix
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
            );
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 50);
        assert!(
            dirs.iter()
                .all(|d| d.is_absolute() && d.parent().unwrap().ends_with("my-exp"))
        );
    }
}
