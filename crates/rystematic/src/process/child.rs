//! [`ChildProcess`]: a child we started, reaped by a waiter thread the
//! moment it exits, and stoppable as a whole process tree.
//!
//! Children die with their parent: a child arranges (`PR_SET_PDEATHSIG`,
//! see [`die_with_parent`]) to get SIGTERM when the parent dies, even by
//! SIGKILL. The kernel sends that signal when the *thread* that forked the
//! child ends, so every child is forked by one thread that lives as long as
//! the process.
//!
//! A top-level rystematic process starts each child in a new process group
//! (so Ctrl-C in the terminal reaches only the parent, which then stops its
//! children in order). A process that is itself a rystematic child keeps
//! its own children in its group, so stopping a group stops the whole tree
//! below it.

use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak, mpsc};
use std::time::{Duration, Instant};

use crate::sync::{LockUnpoisoned as _, unpoisoned};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How long a child gets to stop after SIGTERM before SIGKILL.
pub(crate) const GRACE: Duration = Duration::from_secs(3);

/// A process started by `launch_subprocess`, `run_in_new_process` or a sweep.
///
/// Dropping the handle does not stop the process; children still running
/// when the experiment that started them ends are stopped then.
#[derive(Debug, Clone)]
pub struct ChildProcess {
    pid: u32,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    status: Mutex<Option<ExitStatus>>,
    exited: Condvar,
}

/// Every child of this process that may still run, for stopping them all
/// on a signal or at the end of a run.
static LIVE: Mutex<Vec<(u32, Weak<Shared>)>> = Mutex::new(Vec::new());

/// Whether this process was started by a rystematic parent (then its
/// children stay in its process group).
static IN_PARENT_GROUP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(crate) fn mark_as_child_process() {
    IN_PARENT_GROUP.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether this process serves a spec from a rystematic parent.
pub(crate) fn is_child_process() -> bool {
    IN_PARENT_GROUP.load(std::sync::atomic::Ordering::Relaxed)
}

impl ChildProcess {
    /// Starts `command` and a thread that waits for it. `spec` (the child's
    /// spec file) is removed once the child has ended, if the child did not
    /// take it.
    pub(crate) fn spawn(mut command: Command, spec: Option<PathBuf>) -> io::Result<ChildProcess> {
        if !IN_PARENT_GROUP.load(std::sync::atomic::Ordering::Relaxed) {
            command.process_group(0);
        }
        let mut child = spawn_from_spawner_thread(command)?;
        let pid = child.id();
        let shared = Arc::new(Shared::default());
        {
            let mut live = LIVE.lock_unpoisoned();
            live.retain(|(_, weak)| weak.strong_count() > 0);
            live.push((pid, Arc::downgrade(&shared)));
        }
        let waiter = shared.clone();
        std::thread::Builder::new()
            .name(format!("rystematic-wait-{pid}"))
            .spawn(move || {
                // `wait` only fails if the child was already reaped, which
                // nothing else here does.
                let status = child.wait().unwrap_or_else(|_| ExitStatus::from_raw(0));
                if let Some(spec) = spec
                    && std::fs::remove_file(&spec).is_ok()
                {
                    tracing::warn!(
                        target: "rystematic",
                        "child process {pid} ended ({status}) without running the experiment \
                         it was started for"
                    );
                }
                *waiter.status.lock_unpoisoned() = Some(status);
                waiter.exited.notify_all();
            })?;
        Ok(ChildProcess { pid, shared })
    }

    /// The child's process id (also its process group id when it leads one).
    pub fn id(&self) -> u32 {
        self.pid
    }

    /// Blocks until the child exits.
    pub fn wait(&self) -> ExitStatus {
        let mut status = self.shared.status.lock_unpoisoned();
        loop {
            if let Some(status) = *status {
                return status;
            }
            status = unpoisoned(self.shared.exited.wait(status));
        }
    }

    /// Waits at most `timeout`; `None` if the child still runs.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let mut status = self.shared.status.lock_unpoisoned();
        loop {
            if let Some(status) = *status {
                return Some(status);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            status = unpoisoned(self.shared.exited.wait_timeout(status, left)).0;
        }
    }

    /// The exit status if the child has exited.
    pub fn try_wait(&self) -> Option<ExitStatus> {
        *self.shared.status.lock_unpoisoned()
    }

    /// Asks the child (and its process tree) to stop: SIGTERM.
    pub fn terminate(&self) {
        self.signal(Signal::SIGTERM);
    }

    /// Kills the child (and its process tree): SIGKILL.
    pub fn kill(&self) {
        self.signal(Signal::SIGKILL);
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL. Returns how it ended.
    pub fn stop(&self, grace: Duration) -> ExitStatus {
        if let Some(status) = self.try_wait() {
            return status;
        }
        self.terminate();
        if let Some(status) = self.wait_timeout(grace) {
            return status;
        }
        self.kill();
        self.wait()
    }

    fn signal(&self, signal: Signal) {
        if self.try_wait().is_some() {
            return;
        }
        let target = Pid::from_raw(self.pid as i32);
        // The child leads its own group when we started it in one; else
        // only the child itself is signalled and it stops its own children.
        if IN_PARENT_GROUP.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = nix::sys::signal::kill(target, signal);
        } else {
            let _ = killpg(target, signal);
        }
    }
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Forks `command` from the process's spawner thread (started on first
/// use), so that the parent-death signal its child sets fires when the
/// process ends, not when the thread that asked for the child does.
fn spawn_from_spawner_thread(command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Option<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, received) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("rystematic-spawner".into())
            .spawn(move || {
                for (mut command, reply) in received {
                    let _ = reply.send(command.spawn());
                }
            })
            .ok()
            .map(|_| requests)
    });
    let Some(spawner) = spawner else {
        // No thread could be started: fork from here; the child then dies
        // with this thread rather than the process (earlier, never later).
        let mut command = command;
        return command.spawn();
    };
    let (reply, replied) = mpsc::channel();
    spawner
        .send((command, reply))
        .map_err(|_| io::Error::other("the rystematic spawner thread is gone"))?;
    replied
        .recv()
        .map_err(|_| io::Error::other("the rystematic spawner thread is gone"))?
}

/// Makes this process (a child) receive SIGTERM when its parent dies —
/// the signal lets the run record itself as interrupted and stop its own
/// children — then checks that `parent_pid` is still the parent: if it
/// died before the signal was armed, nothing would ever send it.
pub(crate) fn die_with_parent(parent_pid: u32) -> Result<(), String> {
    // Before arming: the signal thread must know repeated SIGTERMs are
    // the parent's death, not a request to hurry.
    mark_as_child_process();
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(e) = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM) {
        tracing::warn!(
            target: "rystematic",
            "cannot arrange to stop with the parent process: {e}"
        );
    }
    if i64::from(nix::unistd::getppid().as_raw()) != i64::from(parent_pid) {
        return Err(orphaned(parent_pid));
    }
    Ok(())
}

pub(crate) fn orphaned(parent_pid: u32) -> String {
    format!("the parent process {parent_pid} that started this child has already ended")
}

/// Stops every child of this process that still runs: SIGTERM to all, up
/// to `grace` for them to exit, then SIGKILL. Returns how many had to be
/// stopped.
pub(crate) fn stop_all(grace: Duration) -> usize {
    let children: Vec<ChildProcess> = LIVE
        .lock_unpoisoned()
        .iter()
        .filter_map(|(pid, weak)| {
            Some(ChildProcess {
                pid: *pid,
                shared: weak.upgrade()?,
            })
        })
        .filter(|c| c.try_wait().is_none())
        .collect();
    for child in &children {
        child.terminate();
    }
    let deadline = Instant::now() + grace;
    for child in &children {
        let left = deadline.saturating_duration_since(Instant::now());
        if child.wait_timeout(left).is_none() {
            child.kill();
            child.wait();
        }
    }
    children.len()
}

/// `exit code 3`, `killed by signal 9 (SIGKILL)`: how a process ended, from
/// its exit code or signal number as a launcher reports them.
pub(crate) fn describe_exit(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => match Signal::try_from(signal) {
            Ok(name) => format!("killed by signal {signal} ({name})"),
            Err(_) => format!("killed by signal {signal}"),
        },
        (None, None) => "ended".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> ChildProcess {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        ChildProcess::spawn(cmd, None).unwrap()
    }

    #[test]
    fn waits_and_reports_exit_codes() {
        let child = sh("exit 3");
        assert_eq!(child.wait().code(), Some(3));
        assert_eq!(child.try_wait().unwrap().code(), Some(3));
        assert_eq!(describe_exit(Some(3), None), "exit code 3");
    }

    #[test]
    fn stop_escalates_to_sigkill_for_the_whole_group() {
        // The shell ignores SIGTERM; so does its background sleeper.
        let child = sh("trap '' TERM; sleep 30 & wait");
        assert!(child.wait_timeout(Duration::from_millis(200)).is_none());
        let started = Instant::now();
        let status = child.stop(Duration::from_millis(300));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(status.signal(), Some(9));
        assert_eq!(
            describe_exit(status.code(), status.signal()),
            "killed by signal 9 (SIGKILL)"
        );
    }

    #[test]
    fn terminate_ends_a_cooperative_child() {
        let child = sh("sleep 30");
        child.terminate();
        assert_eq!(child.wait().signal(), Some(15));
    }
}
