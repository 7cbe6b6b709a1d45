//! The git commit of the working directory, for `run.json`.
//!
//! The commit is read straight from `.git` (a few small file reads), so a
//! run outside a repository, or on a machine without git, pays nothing.
//! Whether the tree is dirty, and the diff, are worked out in a background
//! thread while the experiment does its work: the diff goes into
//! `git.diff` beside `run.json` as soon as the run directory exists, and
//! the flag into the final `run.json`.
//!
//! `git diff HEAD` costs a few milliseconds in a large repository, as much
//! as a whole short run. So the thread first compares the tracked files'
//! stat data with git's index, in-process ([`super::git_scan`]); when
//! neither HEAD, the index nor any changed file's stat has moved since the
//! last run's check, the answer comes from a cache ([`super::git_cache`])
//! and git is not run at all, and `git.diff` is a link to the cache's copy.
//!
//! A short run ends before the check does. Its thread then helps with the
//! rest of the scan (it has nothing else to do), and meanwhile writes the
//! final `run.json` ahead with the last check's flag, to be put in place if
//! this check agrees.

use std::convert::Infallible;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::git_cache::{self, Snapshot};
use super::git_scan::Scan;

/// File name of the uncommitted changes saved beside `run.json`.
pub(crate) const DIFF_FILE: &str = "git.diff";

/// Where the working directory's repository keeps its data.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    work_tree: PathBuf,
    git_dir: PathBuf,
}

impl Repo {
    /// The repository containing `dir`, if any.
    pub(crate) fn discover(dir: &Path) -> Option<Repo> {
        dir.ancestors().find_map(|candidate| {
            let dot_git = candidate.join(".git");
            let git_dir = if dot_git.is_dir() {
                dot_git
            } else {
                // A worktree or submodule: `.git` is a file `gitdir: <path>`.
                let text = fs::read_to_string(&dot_git).ok()?;
                let target = text.strip_prefix("gitdir:")?.trim();
                candidate.join(target)
            };
            Some(Repo {
                work_tree: candidate.to_owned(),
                git_dir,
            })
        })
    }

    /// The commit HEAD points at (`None` in a repository without commits).
    pub(crate) fn head_commit(&self) -> Option<String> {
        let head = fs::read_to_string(self.git_dir.join("HEAD")).ok()?;
        let head = head.trim();
        let Some(reference) = head.strip_prefix("ref:") else {
            return is_hash(head).then(|| head.to_owned());
        };
        let reference = reference.trim();
        // A worktree's refs live in the common dir.
        let common = fs::read_to_string(self.git_dir.join("commondir"))
            .map(|c| self.git_dir.join(c.trim()))
            .unwrap_or_else(|_| self.git_dir.clone());
        for dir in [&self.git_dir, &common] {
            if let Ok(hash) = fs::read_to_string(dir.join(reference)) {
                let hash = hash.trim();
                if is_hash(hash) {
                    return Some(hash.to_owned());
                }
            }
        }
        let packed = fs::read_to_string(common.join("packed-refs")).ok()?;
        packed.lines().find_map(|line| {
            let (hash, name) = line.split_once(' ')?;
            (name == reference && is_hash(hash)).then(|| hash.to_owned())
        })
    }

    /// Starts working out whether tracked files differ from HEAD, and
    /// their diff, in the background.
    pub(crate) fn start_dirty_check(&self) -> PendingDiff {
        let (dir_tx, dir_rx) = mpsc::channel::<PathBuf>();
        let (likely_tx, likely_rx) = mpsc::channel();
        let (dirty_tx, dirty_rx) = mpsc::channel();
        let (saved_tx, saved_rx) = mpsc::channel::<Infallible>();
        let scan = Arc::new(OnceLock::new());
        let lent = Arc::clone(&scan);
        let repo = self.clone();
        // Without a thread the senders are dropped with the closure, and
        // `dirty` answers `None` at once: run.json says `dirty: null`.
        let _ = std::thread::Builder::new()
            .name("rystematic-git".into())
            .spawn(move || {
                // Dropped when this thread is done with git.diff.
                let _saved = saved_tx;
                let likely = |dirty| {
                    let _ = likely_tx.send(dirty);
                };
                let lend = |scan: &Arc<Scan>| {
                    let _ = lent.set(Arc::clone(scan));
                };
                let Some((mut check, to_keep)) = repo.dirty_check(likely, lend) else {
                    let _ = dirty_tx.send(None);
                    return;
                };
                // The flag first: run.json's final write need not wait
                // for the cache's or the diff's, only its directory's sync
                // does.
                let _ = dirty_tx.send(Some(check.dirty));
                if let Some(ToKeep { cache, snapshot }) = to_keep {
                    check.kept = cache.store(&snapshot, check.dirty, &check.diff);
                }
                // Once the run directory exists (at once for a resumed run).
                let Ok(dir) = dir_rx.recv() else { return };
                let path = dir.join(DIFF_FILE);
                if check.dirty {
                    check.save(&path);
                } else {
                    // A resumed run's earlier attempt may have left one.
                    let _ = fs::remove_file(&path);
                }
            });
        PendingDiff {
            dir: dir_tx,
            scan,
            likely: likely_rx,
            dirty: dirty_rx,
            saved: saved_rx,
        }
    }

    /// The diff of the tracked files against HEAD, from the cache when
    /// nothing moved since it was made, else from git (`None` if git is
    /// unavailable or fails, as in a repository without commits), with
    /// what to keep in the cache. The last check's flag goes to `likely`
    /// first, before the work, and the scan of the work tree to `lend`,
    /// for other threads to help with.
    fn dirty_check(
        &self,
        likely: impl FnOnce(bool),
        lend: impl FnOnce(&Arc<Scan>),
    ) -> Option<(DiffCheck, Option<ToKeep>)> {
        let cache = git_cache::Cache::for_repo(&self.git_dir);
        let last = cache.as_ref().and_then(git_cache::Cache::last);
        if let Some(last) = &last {
            likely(last.dirty());
        }
        // Taken before git runs: a file edited meanwhile then fails to
        // match next time, rather than matching a diff that missed it.
        let snapshot = Snapshot::take(&self.git_dir, &self.work_tree, self.head_commit(), lend);
        if let (Some(snapshot), Some(last)) = (&snapshot, last)
            && let Some(kept) = last.matching(snapshot)
        {
            let check = DiffCheck {
                dirty: kept.dirty,
                diff: kept.diff,
                kept: kept.file,
            };
            return Some((check, None));
        }
        let check = self.git_diff_head()?;
        let to_keep = match (snapshot, cache) {
            (Some(snapshot), Some(cache)) => Some(ToKeep { cache, snapshot }),
            _ => None,
        };
        Some((check, to_keep))
    }

    /// `git diff HEAD`, run now.
    fn git_diff_head(&self) -> Option<DiffCheck> {
        // No optional locks: never take the index lock (and so never fight
        // the user's own git) just to refresh stat data. Text diffs only: a
        // changed multi-gigabyte data file must not be copied into every
        // run.
        let output = Command::new("git")
            .args([
                "--no-optional-locks",
                "diff",
                "HEAD",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
            ])
            .current_dir(&self.work_tree)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        Some(DiffCheck {
            dirty: !output.stdout.is_empty(),
            diff: output.stdout,
            kept: None,
        })
    }
}

/// The dirty check of a starting run, on its way.
pub(crate) struct PendingDiff {
    /// Where to save `git.diff`, once the run directory exists.
    dir: Sender<PathBuf>,
    /// The check's scan of the work tree, once it has one.
    scan: Arc<OnceLock<Arc<Scan>>>,
    /// The last check's flag, sent before this check's work.
    likely: Receiver<bool>,
    dirty: Receiver<Option<bool>>,
    /// Never sent on: disconnected once `git.diff` is saved (or never
    /// will be).
    saved: Receiver<Infallible>,
}

impl PendingDiff {
    /// Tells the check the run directory, where a diff goes.
    pub(crate) fn save_into(&self, dir: &Path) {
        let _ = self.dir.send(dir.to_owned());
    }

    /// Whether tracked files differ from HEAD, waiting at most `wait`
    /// (this thread helping with the check's scan meanwhile); `None` if
    /// there is no answer.
    pub(crate) fn dirty(&self, wait: Duration) -> Option<bool> {
        let deadline = Instant::now() + wait;
        if let Some(scan) = self.scan.get() {
            scan.help_until(Some(deadline));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        self.dirty.recv_timeout(left).ok().flatten()
    }

    /// Whether tracked files differ from HEAD, as far as known now.
    pub(crate) fn dirty_now(&self) -> Flag {
        match self.dirty.try_recv() {
            Ok(answer) => Flag::Known(answer),
            Err(TryRecvError::Disconnected) => Flag::Known(None),
            Err(TryRecvError::Empty) => self.likely.try_recv().map_or(Flag::Pending, Flag::Likely),
        }
    }

    /// A check whose every word comes from the test, through the senders.
    #[cfg(test)]
    pub(crate) fn scripted() -> (PendingDiff, Sender<bool>, Sender<Option<bool>>) {
        let (dir, _) = mpsc::channel();
        let (likely_tx, likely) = mpsc::channel();
        let (dirty_tx, dirty) = mpsc::channel();
        let (_, saved) = mpsc::channel();
        let pending = PendingDiff {
            dir,
            scan: Arc::default(),
            likely,
            dirty,
            saved,
        };
        (pending, likely_tx, dirty_tx)
    }

    /// Waits, at most `wait`, until `git.diff` is saved in the run
    /// directory (or will never be): its name is then made durable by the
    /// next sync of that directory.
    pub(crate) fn wait_saved(self, wait: Duration) {
        // Before waiting: a check that never got its directory has none
        // coming, and stops (a directory already told stays queued).
        drop(self.dir);
        let _ = self.saved.recv_timeout(wait);
    }
}

/// The dirty flag of a check on its way, as far as known now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flag {
    /// The check's answer (`None`: it has none).
    Known(Option<bool>),
    /// Not known yet; the repository's last check found this.
    Likely(bool),
    /// Not known yet, and no earlier check to go by.
    Pending,
}

/// A check git made, for the cache, with the snapshot it was made for.
struct ToKeep {
    cache: git_cache::Cache,
    snapshot: Snapshot,
}

/// What `git diff HEAD` found.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DiffCheck {
    /// Whether tracked files differ from the commit.
    dirty: bool,
    /// The diff (empty when clean), saved beside `run.json` as [`DIFF_FILE`].
    diff: Vec<u8>,
    /// The cache's durable, never-changing file holding `diff`, if any.
    kept: Option<PathBuf>,
}

impl DiffCheck {
    /// Saves the diff at `path` (best effort: a diff that cannot be saved
    /// still leaves `dirty: true` in run.json): as a link to the cache's
    /// file when there is one on the same file system, which writes no
    /// data, else as a file of its own.
    fn save(&self, path: &Path) {
        let linked = self
            .kept
            .as_ref()
            .is_some_and(|kept| crate::fs::link_replace(kept, path).is_ok());
        if !linked {
            let _ = crate::fs::replace(path, &self.diff);
        }
    }
}

fn is_hash(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef0123456789abcdef01234567";

    fn repo_with_head(head: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        fs::create_dir_all(git.join("refs/heads")).unwrap();
        fs::write(git.join("HEAD"), head).unwrap();
        dir
    }

    #[test]
    fn reads_loose_packed_and_detached_heads() {
        let dir = repo_with_head("ref: refs/heads/main\n");
        let sub = dir.path().join("a/b");
        fs::create_dir_all(&sub).unwrap();
        let repo = Repo::discover(&sub).unwrap();
        assert_eq!(repo.head_commit(), None);

        fs::write(
            dir.path().join(".git/packed-refs"),
            format!("# pack-refs\n{HASH} refs/heads/main\n"),
        )
        .unwrap();
        assert_eq!(repo.head_commit().as_deref(), Some(HASH));

        let loose = HASH.replace('0', "f");
        fs::write(dir.path().join(".git/refs/heads/main"), &loose).unwrap();
        assert_eq!(repo.head_commit(), Some(loose));

        let detached = repo_with_head(&format!("{HASH}\n"));
        let repo = Repo::discover(detached.path()).unwrap();
        assert_eq!(repo.head_commit().as_deref(), Some(HASH));
    }

    #[test]
    fn the_flag_comes_first_and_the_diff_is_in_place_once_waited_for() {
        let repo_dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(args)
                .current_dir(repo_dir.path())
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "git {args:?}");
        };
        git(&["init", "-q", "."]);
        fs::write(repo_dir.path().join("a.txt"), "one\n").unwrap();
        git(&["add", "a.txt"]);
        git(&["commit", "-q", "-m", "init"]);
        fs::write(repo_dir.path().join("a.txt"), "two\n").unwrap();
        let run_dir = tempfile::tempdir().unwrap();
        // No cache: git answers.
        let repo = Repo::discover(repo_dir.path()).unwrap();
        let pending = repo.start_dirty_check();
        // Known before the run directory is: the flag does not wait for
        // the diff's write.
        assert_eq!(pending.dirty(Duration::from_secs(30)), Some(true));
        pending.save_into(run_dir.path());
        pending.wait_saved(Duration::from_secs(30));
        let diff = fs::read_to_string(run_dir.path().join(DIFF_FILE)).unwrap();
        assert!(diff.contains("-one\n+two"), "{diff}");

        // Resumed in the same directory once the tree is clean: the earlier
        // attempt's diff goes.
        git(&["commit", "-q", "-am", "two"]);
        let pending = repo.start_dirty_check();
        pending.save_into(run_dir.path());
        assert_eq!(pending.dirty(Duration::from_secs(30)), Some(false));
        pending.wait_saved(Duration::from_secs(30));
        assert!(!run_dir.path().join(DIFF_FILE).exists());
    }

    #[test]
    fn a_diff_is_linked_from_the_cache_or_else_written() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("kept.diff");
        fs::write(&kept, "+kept\n").unwrap();
        let check = |kept: &Path| DiffCheck {
            dirty: true,
            diff: b"+kept\n".to_vec(),
            kept: Some(kept.to_owned()),
        };
        let linked = dir.path().join("linked");
        check(&kept).save(&linked);
        assert_eq!(
            fs::metadata(&linked).unwrap().ino(),
            fs::metadata(&kept).unwrap().ino()
        );
        // No link to be had (another file system, or the cache's copy gone
        // meanwhile): the diff is written instead.
        let written = dir.path().join("written");
        check(&dir.path().join("gone.diff")).save(&written);
        assert_eq!(fs::read_to_string(&written).unwrap(), "+kept\n");
        assert_ne!(
            fs::metadata(&written).unwrap().ino(),
            fs::metadata(&kept).unwrap().ino()
        );
    }

    #[test]
    fn waiting_for_a_diff_that_has_no_directory_returns() {
        let repo_dir = repo_with_head("ref: refs/heads/main\n");
        let pending = Repo::discover(repo_dir.path()).unwrap().start_dirty_check();
        // No commit, so no answer; never told a directory: nothing to wait
        // for, and no wait of the full timeout either.
        assert_eq!(pending.dirty(Duration::from_secs(30)), None);
        let started = std::time::Instant::now();
        pending.wait_saved(Duration::from_secs(600));
        assert!(started.elapsed() < Duration::from_secs(300));
    }

    #[test]
    fn follows_a_worktree_gitdir_file() {
        let main = repo_with_head("ref: refs/heads/main\n");
        fs::write(main.path().join(".git/refs/heads/main"), HASH).unwrap();
        let wt_git = main.path().join(".git/worktrees/wt");
        fs::create_dir_all(&wt_git).unwrap();
        fs::write(wt_git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        fs::write(wt_git.join("commondir"), "../..\n").unwrap();
        let wt = tempfile::tempdir().unwrap();
        fs::write(
            wt.path().join(".git"),
            format!("gitdir: {}\n", wt_git.display()),
        )
        .unwrap();
        let repo = Repo::discover(wt.path()).unwrap();
        assert_eq!(repo.head_commit().as_deref(), Some(HASH));
    }
}
