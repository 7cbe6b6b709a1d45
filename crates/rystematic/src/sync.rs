//! Locks that keep working after a panic elsewhere.
//!
//! An experiment's panic is caught and reported as a failed run, and the
//! run's bookkeeping (its log, `run.json`, children, the signal thread)
//! must still finish afterwards. Every critical section in this crate is
//! a plain read, assignment or push that leaves the data consistent even
//! if a panic interrupts the thread holding the lock, so a poisoned lock
//! is taken over rather than turned into a second panic.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// [`Mutex::lock`] that takes over a poisoned lock (see the module docs).
pub(crate) trait LockUnpoisoned<T: ?Sized> {
    /// Locks, ignoring poison.
    fn lock_unpoisoned(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> LockUnpoisoned<T> for Mutex<T> {
    fn lock_unpoisoned(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
