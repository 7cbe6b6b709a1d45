//! Distributed runs: one experiment across many processes and nodes, with
//! pystematic-torch's parameters and torchrun's worker environment.
//!
//! With `--distributed`, the process started on each node is an *agent*.
//! The agents rendezvous at `master_addr:master_port` (node 0's agent hosts
//! it, and owns the run: its directory, `parameters.yaml`, `run.json` and
//! `log.txt`), then each starts `nproc_per_node` *workers* — the same
//! program, re-executed — with `RANK`, `LOCAL_RANK`, `WORLD_SIZE`,
//! `LOCAL_WORLD_SIZE`, `GROUP_RANK`/`NODE_RANK`, `MASTER_ADDR` and a
//! `MASTER_PORT` for the framework's own process group. Workers run the
//! experiment's main function in the agent's run directory (rank N logs to
//! `log.rank-N.txt`), and reach each other through [`Run::barrier`] and
//! [`Run::broadcast_from_master`], served by node 0's agent.
//!
//! The run ends together: when every worker completed, or — the moment any
//! worker on any node fails or dies, or any agent is stopped — every worker
//! everywhere is stopped and every agent exits non-zero, the log naming the
//! first failure.
//!
//! [`Run::barrier`]: crate::Run::barrier
//! [`Run::broadcast_from_master`]: crate::Run::broadcast_from_master

mod agent;
mod master;
mod protocol;
mod slurm;
mod world;

use std::path::PathBuf;
use std::sync::Arc;

pub(crate) use agent::{Agent, AgentRun};
pub(crate) use world::World;

use crate::error::{Error, UsageError};
use crate::param::names as builtin;
use crate::rundir::PARAMETERS_FILE;
use crate::value::{Params, Value};
use agent::NodeLink;
use slurm::SlurmTask;
use world::WorkerInfo;

/// Names of the distributed parameters (pystematic-torch's).
pub(crate) mod names {
    pub(crate) const DISTRIBUTED: &str = "distributed";
    pub(crate) const NPROC_PER_NODE: &str = "nproc_per_node";
    pub(crate) const NNODES: &str = "nnodes";
    pub(crate) const NODE_RANK: &str = "node_rank";
    pub(crate) const MASTER_ADDR: &str = "master_addr";
    pub(crate) const MASTER_PORT: &str = "master_port";
}

/// The environment variable through which an agent describes a worker to
/// the worker it starts.
pub(crate) const WORKER_ENV: &str = "RYSTEMATIC_WORKER";

/// Why a barrier or a broadcast did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DistributedError {
    /// The run was stopped for everyone (another rank failed, an agent was
    /// interrupted).
    #[error("the distributed run was stopped: {reason}")]
    Aborted {
        /// Why, as the master agent put it.
        reason: String,
    },
    /// The master agent could not be reached, or went away.
    #[error("lost the master agent at {addr}")]
    Connection {
        /// `host:port` of the master agent.
        addr: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The value to broadcast could not be (de)serialised.
    #[error("cannot broadcast the value")]
    Value(#[source] serde_json::Error),
    /// The master agent said something this worker does not understand.
    #[error("{0}")]
    Protocol(String),
}

/// How an agent runs: the distributed parameters, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Config {
    pub(crate) nproc: u32,
    pub(crate) nnodes: u32,
    pub(crate) node_rank: u32,
    pub(crate) master_addr: String,
    pub(crate) master_port: u16,
}

impl Config {
    fn from_params(params: &Params) -> Result<Config, UsageError> {
        let int = |name: &str, min: i64, max: i64| -> Result<i64, UsageError> {
            let value: i64 = params
                .get(name)
                .map_err(|e| invalid(name, "?", e.to_string()))?;
            if value < min || value > max {
                return Err(invalid(
                    name,
                    &value.to_string(),
                    format!("expected {min} to {max}"),
                ));
            }
            Ok(value)
        };
        let nnodes = int(names::NNODES, 1, 65_536)? as u32;
        let config = Config {
            nproc: int(names::NPROC_PER_NODE, 1, 4096)? as u32,
            nnodes,
            node_rank: int(names::NODE_RANK, 0, i64::from(nnodes) - 1)? as u32,
            master_addr: params
                .get(names::MASTER_ADDR)
                .map_err(|e| invalid(names::MASTER_ADDR, "?", e.to_string()))?,
            master_port: int(names::MASTER_PORT, 1, 65_535)? as u16,
        };
        if config.master_addr.is_empty() {
            return Err(invalid(
                names::MASTER_ADDR,
                "",
                "expected a host name or address".into(),
            ));
        }
        Ok(config)
    }
}

fn invalid(name: &str, value: &str, reason: String) -> UsageError {
    UsageError::Unconvertible {
        param: format!("--{}", name.replace('_', "-")),
        value: value.to_owned(),
        reason,
    }
}

/// What this process is in a (possibly) distributed run.
#[derive(Clone, Default)]
pub(crate) enum Role {
    /// An ordinary run.
    #[default]
    Single,
    /// The agent of one node.
    Agent(Arc<Agent>),
    /// A worker started by an agent.
    Worker(Arc<World>),
}

impl Role {
    /// Decides the role before the run is set up. For an agent under SLURM
    /// the node rank, node count and master come from SLURM (and `params`
    /// records them); an agent on a node other than 0 joins the rendezvous
    /// here, because the run directory it shares is named by the master.
    pub(crate) fn prepare(experiment: &str, params: &mut Params) -> Result<Role, Error> {
        if let Some(info) = std::env::var(WORKER_ENV)
            .ok()
            .and_then(|text| WorkerInfo::for_this_process(&text))
        {
            return Ok(Role::Worker(Arc::new(World::new(info))));
        }
        if !params.get::<bool>(names::DISTRIBUTED).unwrap_or(false) {
            return Ok(Role::Single);
        }
        if let Some(task) = SlurmTask::from_env(|name| std::env::var(name).ok()) {
            params.insert(names::NODE_RANK, Value::Int(i64::from(task.node_rank)));
            params.insert(names::NNODES, Value::Int(i64::from(task.nnodes)));
            params.insert(names::MASTER_ADDR, Value::from(task.master_addr));
        }
        let config = Config::from_params(params)?;
        if config.node_rank == 0 {
            return Ok(Role::Agent(Arc::new(Agent::new(config, None))));
        }
        let link = NodeLink::join(&config).map_err(|reason| Error::Setup {
            experiment: experiment.to_owned(),
            source: anyhow::anyhow!(reason),
        })?;
        // Share the master's run directory: the same name under this node's
        // output directory (the very same directory on a shared file system).
        let root: PathBuf = params
            .get(builtin::OUTPUT_DIR)
            .map_err(|e| invalid(builtin::OUTPUT_DIR, "?", e.to_string()))?;
        let run_dir = std::path::absolute(root.join(&link.plan.run_dir))
            .unwrap_or_else(|_| root.join(&link.plan.run_dir));
        std::fs::create_dir_all(&run_dir).map_err(|e| Error::Setup {
            experiment: experiment.to_owned(),
            source: anyhow::Error::new(e).context(format!(
                "cannot create the run directory '{}'",
                run_dir.display()
            )),
        })?;
        params.insert(
            builtin::SUBPROCESS,
            Value::Path(run_dir.join(PARAMETERS_FILE)),
        );
        Ok(Role::Agent(Arc::new(Agent::new(config, Some(link)))))
    }

    /// The node rank of an agent.
    pub(crate) fn agent_node(&self) -> Option<u32> {
        match self {
            Role::Agent(agent) => Some(agent.config.node_rank),
            _ => None,
        }
    }

    /// The world of a worker.
    pub(crate) fn world(&self) -> Option<&World> {
        match self {
            Role::Worker(world) => Some(world),
            _ => None,
        }
    }
}
