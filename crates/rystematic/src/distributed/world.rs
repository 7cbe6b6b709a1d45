//! A worker's view of the world: who it is, and its connection to the
//! master agent's store for `barrier` and `broadcast_from_master`.

use std::net::TcpStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::DistributedError;
use super::protocol::{Conn, FromMaster, ToMaster};
use crate::sync::LockUnpoisoned as _;

/// What an agent tells each worker it starts (in [`super::WORKER_ENV`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WorkerInfo {
    /// The agent's pid: the variable is honoured only by the agent's own
    /// children, never by a program a worker starts.
    pub(crate) agent_pid: u32,
    /// `host:port` of the master agent's store.
    pub(crate) store: String,
    pub(crate) rank: u32,
    pub(crate) local_rank: u32,
    pub(crate) world_size: u32,
    pub(crate) local_world_size: u32,
    pub(crate) node_rank: u32,
    pub(crate) nnodes: u32,
}

impl WorkerInfo {
    /// The info in `text` if it was made for this process (its parent is
    /// the agent that made it).
    pub(crate) fn for_this_process(text: &str) -> Option<WorkerInfo> {
        let info: WorkerInfo = serde_json::from_str(text).ok()?;
        let parent = nix::unistd::getppid().as_raw();
        (u32::try_from(parent) == Ok(info.agent_pid)).then_some(info)
    }
}

/// A worker of a distributed run.
pub(crate) struct World {
    pub(crate) info: WorkerInfo,
    /// Opened on first use: a run that never synchronises never connects.
    conn: Mutex<Option<Conn>>,
    barriers: AtomicU64,
    broadcasts: AtomicU64,
}

impl World {
    pub(crate) fn new(info: WorkerInfo) -> World {
        World {
            info,
            conn: Mutex::new(None),
            barriers: AtomicU64::new(0),
            broadcasts: AtomicU64::new(0),
        }
    }

    /// Waits until every rank has reached this barrier.
    pub(crate) fn barrier(&self) -> Result<(), DistributedError> {
        let seq = self.barriers.fetch_add(1, Ordering::SeqCst);
        match self.ask(&ToMaster::Barrier { seq })? {
            FromMaster::Released => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Rank 0's `value`, on every rank.
    pub(crate) fn broadcast(
        &self,
        value: serde_json::Value,
    ) -> Result<serde_json::Value, DistributedError> {
        let seq = self.broadcasts.fetch_add(1, Ordering::SeqCst);
        if self.info.rank == 0 {
            match self.ask(&ToMaster::Publish {
                seq,
                value: value.clone(),
            })? {
                FromMaster::Released => Ok(value),
                other => Err(unexpected(other)),
            }
        } else {
            match self.ask(&ToMaster::Fetch { seq })? {
                FromMaster::Value { value } => Ok(value),
                other => Err(unexpected(other)),
            }
        }
    }

    /// Tells the master why this rank failed, so that the whole world stops
    /// and the log names the first failure. Best effort: if the master is
    /// gone, the agent reports the exit instead.
    pub(crate) fn report_failure(&self, reason: String) {
        let message = ToMaster::Failed {
            rank: self.info.rank,
            reason,
        };
        if let Ok(mut guard) = self.connection()
            && let Some(conn) = guard.as_mut()
        {
            let _ = conn.send(&message);
        }
    }

    fn ask(&self, message: &ToMaster) -> Result<FromMaster, DistributedError> {
        let mut guard = self.connection()?;
        let conn = guard.as_mut().expect("connection() opens it");
        let lost = |source| DistributedError::Connection {
            addr: self.info.store.clone(),
            source,
        };
        conn.send(message).map_err(lost)?;
        match conn.receive::<FromMaster>().map_err(lost)? {
            Some(FromMaster::Abort { reason }) => Err(DistributedError::Aborted { reason }),
            Some(reply) => Ok(reply),
            None => Err(DistributedError::Connection {
                addr: self.info.store.clone(),
                source: std::io::ErrorKind::ConnectionAborted.into(),
            }),
        }
    }

    fn connection(&self) -> Result<std::sync::MutexGuard<'_, Option<Conn>>, DistributedError> {
        let mut guard = self.conn.lock_unpoisoned();
        if guard.is_none() {
            let failed = |source| DistributedError::Connection {
                addr: self.info.store.clone(),
                source,
            };
            let stream = TcpStream::connect(&self.info.store).map_err(failed)?;
            let mut conn = Conn::new(stream).map_err(failed)?;
            conn.send(&ToMaster::Worker {
                rank: self.info.rank,
            })
            .map_err(failed)?;
            *guard = Some(conn);
        }
        Ok(guard)
    }
}

fn unexpected(reply: FromMaster) -> DistributedError {
    DistributedError::Protocol(format!("unexpected reply from the master agent: {reply:?}"))
}
