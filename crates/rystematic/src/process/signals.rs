//! Ctrl-C (SIGINT) and SIGTERM.
//!
//! A dedicated thread receives the signals (through `signal-hook`, which
//! also says *which* signal: the exit code must be 130 or 143). On the first
//! one it runs the registered cleanups (newest first: a sweep stops its runs
//! and updates its manifest before the experiment that started it records
//! itself as interrupted), stops any remaining children, and exits with
//! 128 + the signal number. A second signal while that runs exits at once
//! (except a repeated SIGTERM in a child process: see `install`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::child::{GRACE, stop_all};
use crate::sync::LockUnpoisoned as _;

/// The signal that interrupted the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// SIGINT, usually Ctrl-C.
    Int,
    /// SIGTERM, e.g. from `kill` or a job scheduler.
    Term,
}

impl Interrupt {
    /// The conventional exit code: 128 + the signal number.
    pub fn exit_code(self) -> i32 {
        match self {
            Interrupt::Int => 128 + SIGINT,
            Interrupt::Term => 128 + SIGTERM,
        }
    }

    /// `SIGINT` or `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Interrupt::Int => "SIGINT",
            Interrupt::Term => "SIGTERM",
        }
    }
}

type Cleanup = Arc<dyn Fn(Interrupt) + Send + Sync>;

static CLEANUPS: Mutex<Vec<(u64, Cleanup)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Unregisters its cleanup when dropped.
#[must_use = "the cleanup is unregistered when the guard is dropped"]
pub(crate) struct CleanupGuard(u64);

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        CLEANUPS.lock_unpoisoned().retain(|(id, _)| *id != self.0);
    }
}

/// Runs `cleanup` if the process is interrupted while the guard lives.
pub(crate) fn on_interrupt(cleanup: impl Fn(Interrupt) + Send + Sync + 'static) -> CleanupGuard {
    install();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    CLEANUPS.lock_unpoisoned().push((id, Arc::new(cleanup)));
    CleanupGuard(id)
}

fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let mut signals = match Signals::new([SIGINT, SIGTERM]) {
            Ok(signals) => signals,
            Err(e) => {
                tracing::warn!(target: "rystematic", "cannot handle SIGINT/SIGTERM: {e}");
                return;
            }
        };
        let spawned = std::thread::Builder::new()
            .name("rystematic-signals".into())
            .spawn(move || {
                let mut interrupted = false;
                for signal in signals.forever() {
                    let interrupt = if signal == SIGINT {
                        Interrupt::Int
                    } else {
                        Interrupt::Term
                    };
                    if interrupted {
                        // A child gets SIGTERM from the kernel once for
                        // every thread of its dying parent (the parent-death
                        // signal follows each re-parenting): in a child,
                        // more SIGTERMs are that, not impatience. Its parent,
                        // if alive, escalates to SIGKILL after the grace.
                        if interrupt == Interrupt::Term && super::child::is_child_process() {
                            continue;
                        }
                        std::process::exit(interrupt.exit_code());
                    }
                    interrupted = true;
                    std::thread::spawn(move || shut_down(interrupt));
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(target: "rystematic", "cannot handle SIGINT/SIGTERM: {e}");
        }
    });
}

fn shut_down(interrupt: Interrupt) -> ! {
    let cleanups: Vec<Cleanup> = CLEANUPS
        .lock_unpoisoned()
        .iter()
        .rev()
        .map(|(_, c)| c.clone())
        .collect();
    for cleanup in cleanups {
        cleanup(interrupt);
    }
    stop_all(GRACE);
    std::process::exit(interrupt.exit_code())
}
