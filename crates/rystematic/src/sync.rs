//! Locks that keep working after a panic elsewhere.
//!
//! An experiment's panic is caught and reported as a failed run, and the
//! run's bookkeeping (its log, `run.json`, children, the signal thread)
//! must still finish afterwards. Every critical section in this crate is
//! a plain read, assignment or push that leaves the data consistent even
//! if a panic interrupts the thread holding the lock, so a poisoned lock
//! is taken over rather than turned into a second panic.

use std::sync::{
    LockResult, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

/// The guard of a lock (or condition-variable wait) result, poisoned or
/// not (see the module docs).
pub(crate) fn unpoisoned<G>(result: LockResult<G>) -> G {
    result.unwrap_or_else(PoisonError::into_inner)
}

/// [`Mutex::lock`] that takes over a poisoned lock.
pub(crate) trait LockUnpoisoned<T: ?Sized> {
    /// Locks, ignoring poison.
    fn lock_unpoisoned(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> LockUnpoisoned<T> for Mutex<T> {
    fn lock_unpoisoned(&self) -> MutexGuard<'_, T> {
        unpoisoned(self.lock())
    }
}

/// [`RwLock::read`] and [`RwLock::write`] that take over a poisoned lock.
pub(crate) trait RwLockUnpoisoned<T: ?Sized> {
    /// Locks for reading, ignoring poison.
    fn read_unpoisoned(&self) -> RwLockReadGuard<'_, T>;
    /// Locks for writing, ignoring poison.
    fn write_unpoisoned(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T: ?Sized> RwLockUnpoisoned<T> for RwLock<T> {
    fn read_unpoisoned(&self) -> RwLockReadGuard<'_, T> {
        unpoisoned(self.read())
    }

    fn write_unpoisoned(&self) -> RwLockWriteGuard<'_, T> {
        unpoisoned(self.write())
    }
}
