//! Creating a run's directory:
//! `<output_dir>/<experiment>/<YYYY-MM-DD_HH-MM-SS>_<6 chars of [0-9a-z]>`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Attempts before giving up; with 36^6 suffixes per second a second
/// collision in a row means something other than bad luck is wrong.
const ATTEMPTS: usize = 16;

/// Where run directories are staged: `<output_dir>/.rystematic-staging/`,
/// apart from the experiments' directories (whose readers see only whole
/// runs) and on the same file system (a rename moves them). Removed when
/// empty.
const STAGING_DIR: &str = ".rystematic-staging";

/// A staging directory older than this was abandoned by a process killed
/// while it started its run (staging lasts milliseconds).
const ABANDONED_AFTER: Duration = Duration::from_secs(60);

/// Creates a new, never-used, empty directory named like a run's (sweeps
/// use it for their own directories).
pub(crate) fn create(
    output_dir: &Path,
    experiment: &str,
    now: &jiff::ZonedDateTime,
) -> io::Result<PathBuf> {
    let dir = create_with(output_dir, experiment, now, |_, _| Ok::<_, io::Error>(()))?;
    sync_name(&dir)?;
    Ok(dir)
}

/// Makes a directory made by [`create_with`] durable under its name (syncs
/// the directory it is in).
pub(crate) fn sync_name(dir: &Path) -> io::Result<()> {
    crate::fs::sync_dir(dir.parent().unwrap_or(Path::new(".")))
}

/// Creates a new, never-used run directory, complete from the moment it
/// appears: `fill(staging, final)` writes the run's first files into a
/// staging directory (in [`STAGING_DIR`]; `final` is where they will end
/// up, for files that name it), which is then renamed to its final name
/// without ever replacing anything. A kill or a full disk during start-up
/// leaves no run directory (at most a staging directory, removed by a
/// later run); two runs never share one even when they start in the same
/// second in different processes. If the final name is taken, another is
/// drawn and `fill` called again. `fill` writes plainly
/// (`fs::write_unpublished`): the files (directly in the staging
/// directory) are synced together before it is renamed. The rename itself
/// is not synced yet: [`sync_name`] does that (a run does it in the
/// background while its experiment starts).
///
/// # Errors
/// `fill`'s error, or an I/O error; the staging directory is removed.
pub(crate) fn create_with<E: From<io::Error>>(
    output_dir: &Path,
    experiment: &str,
    now: &jiff::ZonedDateTime,
    mut fill: impl FnMut(&Path, &Path) -> Result<(), E>,
) -> Result<PathBuf, E> {
    let parent = std::path::absolute(output_dir.join(experiment))?;
    fs::create_dir_all(&parent)?;
    let staging_root = std::path::absolute(output_dir)?.join(STAGING_DIR);
    remove_abandoned_staging(&staging_root);
    let stamp = now.strftime("%Y-%m-%d_%H-%M-%S").to_string();
    let result = (|| {
        for _ in 0..ATTEMPTS {
            // A fresh staging directory per attempt: `fill` writes its files
            // exclusively, so it cannot write into the last attempt's.
            let staging = create_staging(&staging_root, &stamp)?;
            let dir = parent.join(format!("{stamp}_{}", random_suffix()?));
            match stage(&staging, &dir, &mut fill) {
                Ok(true) => return Ok(dir),
                // The name was taken meanwhile: draw another.
                Ok(false) => {}
                Err(e) => {
                    let _ = fs::remove_dir_all(&staging);
                    return Err(e);
                }
            }
            let _ = fs::remove_dir_all(&staging);
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("no free run directory name in {}", parent.display()),
        )
        .into())
    })();
    // Only succeeds once no run is staged; one starting now recreates it.
    let _ = fs::remove_dir(&staging_root);
    result
}

/// Fills `staging`, syncs it and renames it to `dir`: `Ok(false)` if `dir`
/// exists already.
fn stage<E: From<io::Error>>(
    staging: &Path,
    dir: &Path,
    fill: &mut impl FnMut(&Path, &Path) -> Result<(), E>,
) -> Result<bool, E> {
    fill(staging, dir)?;
    // What `fill` wrote reaches the disk before the directory gets its
    // name: never a run directory with torn files, even after a power cut.
    crate::fs::sync_dir_and_files(staging)?;
    match rename_noreplace(staging, dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A new directory in `root` (created if needed), made with `create_dir`
/// (which fails on anything already there, a symlink included).
fn create_staging(root: &Path, stamp: &str) -> io::Result<PathBuf> {
    for _ in 0..ATTEMPTS {
        match fs::create_dir_all(root) {
            Ok(()) => {}
            // Another run removed `root` (its last staging directory gone)
            // between this mkdir's "exists" and the check that followed.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
        let dir = root.join(format!("{stamp}_{}", random_suffix()?));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            // Taken, or `root` removed by a run that just finished: retry.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::AlreadyExists | io::ErrorKind::NotFound
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free staging directory name in {}", root.display()),
    ))
}

/// Renames `from` to `to`, failing with `AlreadyExists` if `to` exists.
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        match renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE) {
            Ok(()) => {
                crate::fs::trace("rename", to);
                return Ok(());
            }
            // A file system without the flag: fall through.
            Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOSYS) => {}
            Err(errno) => return Err(errno.into()),
        }
    }
    // Claim the name exclusively, then replace our own empty directory
    // (which a plain rename does) with the filled one.
    fs::create_dir(to)?;
    fs::rename(from, to).inspect_err(|_| {
        let _ = fs::remove_dir(to);
    })?;
    crate::fs::trace("rename", to);
    Ok(())
}

/// Removes staging directories that processes killed mid start-up left.
fn remove_abandoned_staging(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let abandoned = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| {
                now.duration_since(modified).unwrap_or_default() > ABANDONED_AFTER
            });
        if abandoned {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
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
            .map(|_| {
                create_with(out.path(), "my-exp", &now, |_, _| Ok::<_, io::Error>(())).unwrap()
            })
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
        assert_eq!(fs::read_dir(out.path().join("my-exp")).unwrap().count(), 50);
    }

    #[test]
    fn runs_starting_at_once_never_trip_over_the_shared_staging_root() {
        // Each start creates the staging root if needed and removes it once
        // empty, so starts and ends race on it (found by a 20,000-run sweep).
        let out = tempfile::tempdir().unwrap();
        let now: jiff::ZonedDateTime = "2026-11-28T05:15:13[UTC]".parse().unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..150 {
                        create_with(out.path(), "e", &now, |_, _| Ok::<_, io::Error>(()))
                            .expect("a start never fails because another one ended");
                    }
                });
            }
        });
        assert_eq!(fs::read_dir(out.path().join("e")).unwrap().count(), 600);
    }

    #[test]
    fn a_name_taken_meanwhile_is_drawn_again_and_filled_afresh() {
        let out = tempfile::tempdir().unwrap();
        let now: jiff::ZonedDateTime = "2026-11-28T05:15:13[UTC]".parse().unwrap();
        let mut calls = 0;
        let dir = create_with(out.path(), "e", &now, |staging, final_dir| {
            calls += 1;
            if calls == 1 {
                // Another run takes the name while this one fills.
                fs::create_dir(final_dir)?;
            }
            // Written exclusively, as a run's first files are.
            fs::File::create_new(staging.join("parameters.yaml"))?;
            Ok::<_, io::Error>(())
        })
        .expect("a taken name is no failure");
        assert_eq!(calls, 2);
        assert!(dir.join("parameters.yaml").is_file());
        assert_eq!(fs::read_dir(out.path().join("e")).unwrap().count(), 2);
    }

    #[test]
    fn the_directory_appears_with_its_files_or_not_at_all() {
        let out = tempfile::tempdir().unwrap();
        let now: jiff::ZonedDateTime = "2026-11-28T05:15:13[UTC]".parse().unwrap();
        let dir = create_with(out.path(), "e", &now, |staging, final_dir| {
            assert!(!final_dir.exists());
            fs::write(staging.join("run.json"), final_dir.to_str().unwrap())
        })
        .unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("run.json")).unwrap(),
            dir.to_str().unwrap()
        );
        // A start-up that fails (a full disk, say) leaves nothing behind.
        let failed = create_with(out.path(), "e", &now, |staging, _| {
            fs::write(staging.join("run.json"), "half")?;
            Err(io::Error::other("disk full"))
        });
        assert_eq!(failed.unwrap_err().to_string(), "disk full");
        let names: Vec<_> = fs::read_dir(out.path().join("e"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(names, [dir]);
        assert!(!out.path().join(STAGING_DIR).exists(), "removed once empty");
    }

    #[test]
    fn files_reach_the_disk_before_the_directory_gets_its_name() {
        let out = tempfile::tempdir().unwrap();
        let now: jiff::ZonedDateTime = "2026-11-28T05:15:13[UTC]".parse().unwrap();
        let mut staged = PathBuf::new();
        let dir = create_with(out.path(), "e", &now, |staging, _| {
            staged = staging.to_owned();
            crate::fs::write_unpublished(&staging.join("run.json"), b"{}")?;
            crate::fs::write_unpublished(&staging.join("parameters.yaml"), b"a: 1\n")
        })
        .unwrap();
        let rel = |p: &Path| {
            p.strip_prefix(out.path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        let events = crate::fs::traced_under(out.path());
        assert_eq!(events.len(), 4, "the name is synced apart: {events:?}");
        sync_name(&dir).unwrap();
        let events = crate::fs::traced_under(out.path());
        assert_eq!(events.len(), 5, "{events:?}");
        let mut first: Vec<_> = events[..3].to_vec();
        first.sort();
        let staging = rel(&staged);
        assert_eq!(
            first,
            [
                ("sync", staging.clone()),
                ("sync", format!("{staging}/parameters.yaml")),
                ("sync", format!("{staging}/run.json")),
            ]
        );
        assert_eq!(events[3], ("rename", rel(&dir)));
        assert_eq!(
            events[4],
            ("sync", "e".to_owned()),
            "the experiment directory"
        );
    }

    #[test]
    fn staging_left_by_a_killed_start_up_is_removed_later() {
        let out = tempfile::tempdir().unwrap();
        let root = out.path().join(STAGING_DIR);
        let old = root.join("2026-11-28_05-15-13_abcdef");
        let fresh = root.join("2026-11-28_05-15-14_abcdef");
        fs::create_dir_all(&old).unwrap();
        fs::create_dir_all(&fresh).unwrap();
        fs::write(old.join("parameters.yaml"), "x").unwrap();
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        fs::File::open(&old)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        let now: jiff::ZonedDateTime = "2026-11-28T05:16:13[UTC]".parse().unwrap();
        create_with(out.path(), "e", &now, |_, _| Ok::<_, io::Error>(())).unwrap();
        assert!(!old.exists(), "an abandoned staging directory is removed");
        assert!(fresh.exists(), "one that may still be in use is not");
    }

    #[test]
    fn a_taken_name_is_never_replaced() {
        let out = tempfile::tempdir().unwrap();
        let from = out.path().join("from");
        let to = out.path().join("to");
        fs::create_dir(&from).unwrap();
        fs::create_dir(&to).unwrap();
        let err = rename_noreplace(&from, &to).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(from.exists());
    }
}
