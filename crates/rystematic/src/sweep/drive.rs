//! The sweep's loop: hands runs to its [`Launcher`] as it has room, and
//! records what the launcher reports (starts, restarts, ends) in the
//! shared state until every run has ended.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::launcher::{JobEvent, Launcher};
use super::state::{SweepState, state_lock};
use crate::error::Error;
use crate::error::SweepError;
use crate::sync::LockUnpoisoned as _;
use crate::value::ExperimentPath;

/// What a run's process is started with (all but its values).
pub(super) struct RunSpec<'a> {
    pub(super) exe: &'a Path,
    pub(super) path: &'a ExperimentPath,
    pub(super) args: &'a [String],
}

/// How often the sweep asks its launcher for news.
const POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// Hands the runs of `queue` to the launcher as it has room, records what
/// it reports, until every run has ended (or, with `detach`, once all are
/// submitted: then returns how to find them).
///
/// # Errors
/// The launcher refused a submission (nothing of it runs; the runs stay
/// pending) or could not be polled.
pub(super) fn drive(
    state: &Arc<Mutex<SweepState>>,
    launcher: &Mutex<Box<dyn Launcher>>,
    mut queue: VecDeque<usize>,
    spec: &RunSpec<'_>,
    max_running: usize,
    detach: bool,
) -> Result<Option<String>, Error> {
    let lock_launcher = || launcher.lock_unpoisoned();
    let (capacity, batch) = {
        let launcher = lock_launcher();
        (launcher.capacity(), launcher.capacity().is_none())
    };
    loop {
        let room = match capacity {
            Some(capacity) => capacity.saturating_sub(lock_launcher().in_flight()),
            None => usize::MAX,
        };
        let mut jobs = Vec::new();
        {
            let mut guard = state_lock(state);
            if guard.interrupted {
                break;
            }
            while jobs.len() < room {
                let Some(&index) = queue.front() else { break };
                let Some(devices) = guard.acquire_devices() else {
                    break;
                };
                queue.pop_front();
                jobs.push(guard.job(index, spec.exe, spec.path, spec.args, &devices));
                if batch {
                    guard.queue(index);
                } else {
                    guard.start(index, devices);
                }
            }
        }
        if !jobs.is_empty() {
            let indices: Vec<usize> = jobs.iter().map(|j| j.index).collect();
            let submitted = lock_launcher().submit(jobs, max_running);
            let mut guard = state_lock(state);
            match submitted {
                Ok(events) => {
                    apply(&mut guard, events);
                    // One manifest write for every run submitted in this round.
                    guard.save();
                }
                Err(e) => {
                    guard.unsubmit(&indices);
                    guard.save_with(true);
                    return Err(SweepError::Launch(e).into());
                }
            }
        }
        if detach && queue.is_empty() {
            let how = lock_launcher().detach().map_err(SweepError::Launch)?;
            return Ok(Some(how));
        }
        if lock_launcher().in_flight() == 0 {
            // All ended, or nothing runs and nothing could start (no
            // devices free with none in use: cannot happen, but never spin).
            break;
        }
        let events = lock_launcher().poll(POLL).map_err(SweepError::Launch)?;
        if events.is_empty() {
            continue;
        }
        let mut guard = state_lock(state);
        if guard.interrupted {
            // The signal thread owns the ending now.
            drop(guard);
            loop {
                std::thread::park();
            }
        }
        apply(&mut guard, events);
        guard.save();
    }
    if state_lock(state).interrupted {
        loop {
            std::thread::park();
        }
    }
    Ok(None)
}

fn apply(state: &mut SweepState, events: Vec<JobEvent>) {
    for event in events {
        match event {
            JobEvent::Started { index, pid, host } => state.launched(index, pid, host),
            JobEvent::Restarted { index, pid, host } => state.restarted(index, pid, host),
            JobEvent::Ended(exit) => state.finish(exit),
        }
    }
}
