//! One sweep directory, one runner: an exclusive advisory lock on
//! `sweep.lock`, held for the runner's life, whose content says who holds
//! it (for the error the next runner shows).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clock;
use crate::error::SweepError;
use crate::rundir::info::timestamp;

/// File name of the lock inside a sweep directory.
pub(crate) const LOCK_FILE: &str = "sweep.lock";

/// Who holds the lock (the lock file's content).
#[derive(Debug, Serialize, Deserialize)]
struct Holder {
    pid: u32,
    host: String,
    since: String,
}

/// The held lock; released when dropped or when the process ends, however
/// it ends (the kernel drops the lock with the last descriptor).
#[derive(Debug)]
pub(crate) struct SweepLock {
    file: File,
}

impl Drop for SweepLock {
    fn drop(&mut self) {
        // Still locked here: nobody can read a half-cleared name. A runner
        // that is killed leaves its name, which the next one overwrites.
        let _ = self.file.set_len(0);
    }
}

impl SweepLock {
    /// Locks `dir`, or says who holds it.
    ///
    /// The file is never removed: a runner that unlinked it could let a
    /// second runner lock a fresh file while a third still holds the old one.
    pub(crate) fn acquire(dir: &Path) -> Result<SweepLock, SweepError> {
        let path = dir.join(LOCK_FILE);
        let lock_error = |source| SweepError::Lock {
            path: path.clone(),
            source,
        };
        // Rust opens with O_CLOEXEC, so run processes never inherit the lock.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(lock_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(SweepError::Busy {
                    dir: dir.to_owned(),
                    holder: describe_holder(&path),
                });
            }
            Err(TryLockError::Error(e)) => return Err(lock_error(e)),
        }
        let holder = Holder {
            pid: std::process::id(),
            host: crate::rundir::hostname(),
            since: timestamp(&clock::now()),
        };
        let mut json = serde_json::to_vec(&holder).map_err(|e| lock_error(e.into()))?;
        json.push(b'\n');
        file.set_len(0)
            .and_then(|()| file.write_all(&json))
            .map_err(lock_error)?;
        Ok(SweepLock { file })
    }
}

/// `pid 123 on host gpu1 since …`, from the lock file.
fn describe_holder(path: &PathBuf) -> String {
    // The holder writes its name just after it locks: for a moment the file
    // is empty, or still names a runner that was killed. Give it a moment
    // (generous for a loaded machine; a live holder answers in microseconds).
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let holder = std::fs::read(path)
            .ok()
            .and_then(|text| serde_json::from_slice::<Holder>(&text).ok());
        match holder {
            Some(h) if h.host != crate::rundir::hostname() || process_exists(h.pid) => {
                return format!("pid {} on host {} since {}", h.pid, h.host, h.since);
            }
            _ if Instant::now() >= deadline => {
                return format!("another process (see '{}')", path.display());
            }
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Whether a process with this pid exists (signal 0; EPERM: it exists but
/// is not ours).
pub(super) fn process_exists(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(errno) => errno == nix::errno::Errno::EPERM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = SweepLock::acquire(dir.path()).unwrap();
        let err = SweepLock::acquire(dir.path()).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(&format!("pid {} on host ", std::process::id())),
            "{message}"
        );
        assert!(matches!(err, SweepError::Busy { .. }));
        drop(held);
        SweepLock::acquire(dir.path()).expect("free again once dropped");
    }
}
