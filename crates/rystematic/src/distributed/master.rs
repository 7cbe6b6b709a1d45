//! The master agent's server (node rank 0): the rendezvous of the agents,
//! the store behind `barrier` and `broadcast_from_master`, and the one place
//! that decides how the run ends for everyone.
//!
//! One thread per connection; all of them share one state under a mutex and
//! wait on one condition variable. The first failure anyone reports wins:
//! it is the reason every agent is told to stop, and what the log names.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::protocol::{Conn, FromMaster, JoinInfo, ToMaster, WorldPlan, send};
use crate::sync::{LockUnpoisoned as _, unpoisoned};

/// The master agent's shared state.
pub(crate) struct Master {
    nnodes: u32,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    joined: BTreeMap<u32, JoinInfo>,
    /// Set once every node has joined.
    plan: Option<WorldPlan>,
    /// Write handles to the other agents, for `abort` and `finish`.
    agents: Vec<TcpStream>,
    /// Arrivals per barrier.
    barriers: HashMap<u64, u32>,
    /// Published values per broadcast.
    values: HashMap<u64, serde_json::Value>,
    /// Nodes whose workers all completed.
    done: BTreeSet<u32>,
    /// The first failure: once set, the run is over for everyone.
    failure: Option<String>,
    finished: bool,
}

impl Master {
    /// Starts listening on `listener`, with this node's own join already in.
    pub(crate) fn start(listener: TcpListener, own: JoinInfo) -> io::Result<Arc<Master>> {
        let master = Arc::new(Master {
            nnodes: own.nnodes,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        master.lock().joined.insert(own.node_rank, own);
        let accepting = master.clone();
        std::thread::Builder::new()
            .name("rystematic-rendezvous".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let master = accepting.clone();
                    let _ = std::thread::Builder::new()
                        .name("rystematic-rendezvous-conn".into())
                        .spawn(move || {
                            if let Ok(conn) = Conn::new(stream) {
                                master.serve(conn);
                            }
                        });
                }
            })?;
        Ok(master)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock_unpoisoned()
    }

    /// Waits until every node has joined, then fixes the world. `run_dir`
    /// is the master's run directory relative to `output_dir`.
    pub(crate) fn wait_for_world(
        &self,
        run_dir: String,
        framework_port: u16,
        timeout: Duration,
    ) -> Result<WorldPlan, String> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while state.joined.len() < self.nnodes as usize && state.failure.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let missing: Vec<String> = (0..self.nnodes)
                    .filter(|n| !state.joined.contains_key(n))
                    .map(|n| n.to_string())
                    .collect();
                let reason = format!(
                    "the rendezvous timed out after {}s: node rank(s) {} never joined",
                    timeout.as_secs(),
                    missing.join(", ")
                );
                drop(state);
                self.fail(reason.clone());
                return Err(reason);
            }
            state = self.wait(state, left);
        }
        if let Some(failure) = &state.failure {
            return Err(failure.clone());
        }
        let plan = WorldPlan {
            run_dir,
            world_size: state.joined.values().map(|j| j.nproc).sum(),
            hosts: state.joined.values().map(|j| j.host.clone()).collect(),
            nprocs: state.joined.values().map(|j| j.nproc).collect(),
            framework_port,
        };
        state.plan = Some(plan.clone());
        self.changed.notify_all();
        Ok(plan)
    }

    /// Records a failure; the first one ends the run for every node.
    pub(crate) fn fail(&self, reason: String) {
        let mut state = self.lock();
        if state.failure.is_some() || state.finished {
            return;
        }
        tracing::error!(target: "rystematic", "{reason}; stopping every node");
        let abort = FromMaster::Abort {
            reason: reason.clone(),
        };
        for agent in &mut state.agents {
            let _ = send(agent, &abort);
        }
        state.failure = Some(reason);
        self.changed.notify_all();
    }

    /// Records that every worker of `node_rank` completed.
    pub(crate) fn node_done(&self, node_rank: u32) {
        let mut state = self.lock();
        state.done.insert(node_rank);
        if state.done.len() == self.nnodes as usize && state.failure.is_none() {
            state.finished = true;
            for agent in &mut state.agents {
                let _ = send(agent, &FromMaster::Finish);
            }
            self.changed.notify_all();
        }
    }

    /// Whether every node completed.
    pub(crate) fn finished(&self) -> bool {
        self.lock().finished
    }

    /// The first failure so far, if any.
    pub(crate) fn failure(&self) -> Option<String> {
        self.lock().failure.clone()
    }

    fn wait<'a>(&self, state: MutexGuard<'a, State>, timeout: Duration) -> MutexGuard<'a, State> {
        unpoisoned(self.changed.wait_timeout(state, timeout)).0
    }

    /// One connection: an agent's or a worker's, told apart by its first
    /// message.
    fn serve(&self, mut conn: Conn) {
        match conn.receive::<ToMaster>() {
            Ok(Some(ToMaster::Join(info))) => self.serve_agent(conn, info),
            Ok(Some(ToMaster::Worker { rank })) => self.serve_worker(conn, rank),
            _ => {}
        }
    }

    fn serve_agent(&self, mut conn: Conn, info: JoinInfo) {
        let node_rank = info.node_rank;
        if let Err(reason) = self.admit(info) {
            let _ = conn.send(&FromMaster::Refused { reason });
            return;
        }
        // Wait for the world, and register for the end in the same critical
        // section, so an abort or finish cannot slip in between.
        {
            let mut state = self.lock();
            while state.plan.is_none() && state.failure.is_none() {
                state = self.wait(state, Duration::from_secs(3600));
            }
            let reply = match (&state.failure, &state.plan) {
                (Some(reason), _) => FromMaster::Abort {
                    reason: reason.clone(),
                },
                (None, Some(plan)) => FromMaster::World(plan.clone()),
                (None, None) => unreachable!("the loop waits for one of them"),
            };
            if conn.send(&reply).is_err() || matches!(reply, FromMaster::Abort { .. }) {
                return;
            }
            if let Ok(writer) = conn.writer() {
                state.agents.push(writer);
            }
        }
        loop {
            match conn.receive::<ToMaster>() {
                Ok(Some(ToMaster::Failed { rank, reason })) => {
                    self.fail(format!("rank {rank} failed: {reason}"));
                }
                Ok(Some(ToMaster::Done)) => self.node_done(node_rank),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    let state = self.lock();
                    let over = state.finished || state.failure.is_some();
                    drop(state);
                    if !over {
                        self.fail(format!(
                            "the agent of node {node_rank} disconnected before its workers ended"
                        ));
                    }
                    return;
                }
            }
        }
    }

    /// Checks and records an agent's join.
    fn admit(&self, info: JoinInfo) -> Result<(), String> {
        let mut state = self.lock();
        if info.nnodes != self.nnodes {
            return Err(format!(
                "node {} was started with --nnodes {}, the master with --nnodes {}",
                info.node_rank, info.nnodes, self.nnodes
            ));
        }
        if info.node_rank >= self.nnodes {
            return Err(format!(
                "node rank {} is out of range for {} nodes",
                info.node_rank, self.nnodes
            ));
        }
        if state.plan.is_some() || state.joined.contains_key(&info.node_rank) {
            return Err(format!("node rank {} has already joined", info.node_rank));
        }
        state.joined.insert(info.node_rank, info);
        self.changed.notify_all();
        Ok(())
    }

    fn serve_worker(&self, mut conn: Conn, rank: u32) {
        loop {
            let reply = match conn.receive::<ToMaster>() {
                Ok(Some(ToMaster::Barrier { seq })) => self.barrier(seq),
                Ok(Some(ToMaster::Publish { seq, value })) => {
                    let mut state = self.lock();
                    state.values.insert(seq, value);
                    self.changed.notify_all();
                    FromMaster::Released
                }
                Ok(Some(ToMaster::Fetch { seq })) => self.fetch(seq),
                Ok(Some(ToMaster::Failed { reason, .. })) => {
                    self.fail(format!("rank {rank} failed: {reason}"));
                    continue;
                }
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return,
            };
            if conn.send(&reply).is_err() {
                return;
            }
        }
    }

    fn barrier(&self, seq: u64) -> FromMaster {
        let mut state = self.lock();
        *state.barriers.entry(seq).or_insert(0) += 1;
        self.changed.notify_all();
        loop {
            if let Some(reason) = &state.failure {
                return FromMaster::Abort {
                    reason: reason.clone(),
                };
            }
            let world = state.plan.as_ref().map_or(u32::MAX, |p| p.world_size);
            if state.barriers.get(&seq).copied().unwrap_or(0) >= world {
                return FromMaster::Released;
            }
            state = self.wait(state, Duration::from_secs(3600));
        }
    }

    fn fetch(&self, seq: u64) -> FromMaster {
        let mut state = self.lock();
        loop {
            if let Some(reason) = &state.failure {
                return FromMaster::Abort {
                    reason: reason.clone(),
                };
            }
            if let Some(value) = state.values.get(&seq) {
                return FromMaster::Value {
                    value: value.clone(),
                };
            }
            state = self.wait(state, Duration::from_secs(3600));
        }
    }
}
