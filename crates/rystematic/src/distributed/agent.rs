//! The per-node agent, like torchrun's: it joins the rendezvous (node 0
//! hosts it), starts this node's workers with the environment a framework
//! expects, and ends them all together — when every worker completed, or
//! as soon as any worker on any node failed or died.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};

use super::master::Master;
use super::protocol::{Conn, FromMaster, JoinInfo, ToMaster, WorldPlan};
use super::world::WorkerInfo;
use super::{Config, WORKER_ENV};
use crate::param::names;
use crate::process::child::{GRACE, describe_exit, stop_all};
use crate::process::spec::ChildSpec;
use crate::process::{self, ChildProcess, Console};
use crate::rundir::info::WorldInfo;
use crate::rundir::{self, PARAMETERS_FILE};
use crate::sync::LockUnpoisoned as _;
use crate::value::{ExperimentPath, Params, Value, Values};

/// How long agents wait for each other at the rendezvous (torchrun's
/// default join timeout is 600 s; a batch scheduler starts tasks within
/// seconds of each other).
const RENDEZVOUS_TIMEOUT: Duration = Duration::from_secs(300);
/// How often the agent looks at its workers.
const POLL: Duration = Duration::from_millis(10);

/// What an agent's run gives it: the agent runs in place of the
/// experiment's main function, inside a run the runtime set up.
pub(crate) struct AgentRun<'a> {
    pub(crate) params: &'a Params,
    /// The run's directory, shared with every worker.
    pub(crate) output_dir: &'a Path,
    /// The experiment the workers run.
    pub(crate) path: &'a ExperimentPath,
    /// Writes the world into the run's `run.json`, once it is known.
    pub(crate) record_world: &'a dyn Fn(WorldInfo) -> anyhow::Result<()>,
}

/// An agent, before and during its run.
pub(crate) struct Agent {
    pub(crate) config: Config,
    /// On nodes other than 0: the link to the master, joined before the run
    /// started (the run directory's name comes through it).
    link: Mutex<Option<NodeLink>>,
}

/// A joined agent's connection to the master agent.
pub(crate) struct NodeLink {
    conn: Conn,
    pub(crate) plan: WorldPlan,
}

impl Agent {
    pub(crate) fn new(config: Config, link: Option<NodeLink>) -> Agent {
        Agent {
            config,
            link: Mutex::new(link),
        }
    }

    /// The agent's main function: rendezvous, workers, supervision.
    pub(crate) fn run(&self, run: AgentRun<'_>) -> anyhow::Result<()> {
        let config = &self.config;
        let (plan, mut coordinator, port) = if config.node_rank == 0 {
            self.host_rendezvous(&run)?
        } else {
            let link = self
                .link
                .lock_unpoisoned()
                .take()
                .context("the agent's link to the master was already used")?;
            let plan = link.plan.clone();
            (plan, Coordinator::link(link.conn)?, config.master_port)
        };
        let first = plan.first_rank(config.node_rank);
        tracing::info!(
            target: "rystematic",
            "Distributed run: node {} of {}, ranks {}..{} of {}, rendezvous at {}:{}",
            config.node_rank,
            config.nnodes,
            first,
            first + config.nproc - 1,
            plan.world_size,
            config.master_addr,
            port
        );
        let workers = self
            .start_workers(&run, &plan, port)
            .inspect_err(|e| coordinator.report_failure(first, format!("{e:#}")))?;
        let result = supervise(&workers, first, &mut coordinator);
        if result.is_err() {
            stop_all(GRACE);
        }
        result
    }

    /// Node 0: listens for the other agents, waits for all of them, and
    /// fixes the world; also gives the port it listens on.
    fn host_rendezvous(&self, run: &AgentRun<'_>) -> anyhow::Result<(WorldPlan, Coordinator, u16)> {
        let config = &self.config;
        let listener = self.listen()?;
        let port = listener
            .local_addr()
            .context("cannot tell the rendezvous' port")?
            .port();
        let own = JoinInfo {
            node_rank: 0,
            nnodes: config.nnodes,
            nproc: config.nproc,
            host: rundir::hostname(),
        };
        let master = Master::start(listener, own).context("cannot start the rendezvous")?;
        let run_dir = relative_run_dir(run.output_dir);
        // A port for the framework's own process group, distinct from ours.
        let framework_port = TcpListener::bind((config.master_addr.as_str(), 0))
            .and_then(|l| l.local_addr())
            .context("cannot find a free port for the framework's process group")?
            .port();
        let plan = master
            .wait_for_world(run_dir, framework_port, RENDEZVOUS_TIMEOUT)
            .map_err(|reason| anyhow!(reason))?;
        (run.record_world)(WorldInfo {
            nnodes: config.nnodes,
            nproc_per_node: plan.nprocs.clone(),
            world_size: plan.world_size,
            hosts: plan.hosts.clone(),
            master_addr: config.master_addr.clone(),
            master_port: port,
        })?;
        Ok((plan, Coordinator::Master(master), port))
    }

    /// The rendezvous' listener on `master_addr:master_port`. A world of
    /// one node takes another free port when that one is taken, as by
    /// another run on this machine (a sweep's runs at the same time):
    /// no other agent looks for it, and its workers are told the port it
    /// got. Other nodes do look for it, so for them a taken port is an
    /// error.
    fn listen(&self) -> anyhow::Result<TcpListener> {
        let config = &self.config;
        let addr = config.master_addr.as_str();
        let cannot = |port: u16| format!("cannot listen for the other agents on {addr}:{port}");
        match TcpListener::bind((addr, config.master_port)) {
            Err(e) if config.nnodes == 1 && e.kind() == std::io::ErrorKind::AddrInUse => {
                let listener = TcpListener::bind((addr, 0)).with_context(|| cannot(0))?;
                if let Ok(own) = listener.local_addr() {
                    tracing::info!(
                        target: "rystematic",
                        "Port {} is taken; this single-node run meets its workers on port {} instead",
                        config.master_port,
                        own.port()
                    );
                }
                Ok(listener)
            }
            bound => bound.with_context(|| cannot(config.master_port)),
        }
    }

    /// Starts this node's workers; `port` is the rendezvous'.
    fn start_workers(
        &self,
        run: &AgentRun<'_>,
        plan: &WorldPlan,
        port: u16,
    ) -> anyhow::Result<Vec<ChildProcess>> {
        let config = &self.config;
        let first = plan.first_rank(config.node_rank);
        let exe = process::current_exe().context("cannot find this program's executable")?;
        let store = format!("{}:{port}", config.master_addr);
        (0..config.nproc)
            .map(|local_rank| {
                let rank = first + local_rank;
                let info = WorkerInfo {
                    agent_pid: std::process::id(),
                    store: store.clone(),
                    rank,
                    local_rank,
                    world_size: plan.world_size,
                    local_world_size: config.nproc,
                    node_rank: config.node_rank,
                    nnodes: config.nnodes,
                };
                let env = worker_env(&info, &config.master_addr, plan.framework_port);
                // The agent's values (not its params file: the values hold
                // it), sharing the agent's run directory.
                let mut values: Values = run
                    .params
                    .iter()
                    .filter(|(name, _)| *name != names::PARAMS_FILE)
                    .map(|(name, value)| (name.to_owned(), value.clone()))
                    .collect();
                values.insert(
                    names::SUBPROCESS.to_owned(),
                    Value::Path(run.output_dir.join(PARAMETERS_FILE)),
                );
                values.insert(
                    names::LOCAL_RANK.to_owned(),
                    Value::Int(i64::from(local_rank)),
                );
                let spec = ChildSpec {
                    exe: exe.clone(),
                    experiment: run.path.clone(),
                    args: Vec::new(),
                    values,
                    report: None,
                };
                process::spawn(&spec, Some(run.output_dir), Console::Inherit, &env)
                    .with_context(|| format!("cannot start worker rank {rank}"))
            })
            .collect()
    }
}

impl NodeLink {
    /// Joins the master agent's rendezvous, retrying while the master is
    /// not listening yet, and waits for the world.
    pub(crate) fn join(config: &Config) -> Result<NodeLink, String> {
        let deadline = Instant::now() + RENDEZVOUS_TIMEOUT;
        let address = format!("{}:{}", config.master_addr, config.master_port);
        let stream = loop {
            match TcpStream::connect(&address) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!(
                        "cannot reach the master agent at {address} within {}s: {e}",
                        RENDEZVOUS_TIMEOUT.as_secs()
                    ));
                }
                // Agents start in any order: the master may not listen yet.
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let lost = |e: std::io::Error| format!("rendezvous with {address} failed: {e}");
        let mut conn = Conn::new(stream).map_err(lost)?;
        conn.send(&ToMaster::Join(JoinInfo {
            node_rank: config.node_rank,
            nnodes: config.nnodes,
            nproc: config.nproc,
            host: rundir::hostname(),
        }))
        .map_err(lost)?;
        match conn.receive::<FromMaster>().map_err(lost)? {
            Some(FromMaster::World(plan)) => Ok(NodeLink { conn, plan }),
            Some(FromMaster::Refused { reason } | FromMaster::Abort { reason }) => {
                Err(format!("the master agent at {address} refused: {reason}"))
            }
            Some(other) => Err(format!("unexpected answer from {address}: {other:?}")),
            None => Err(format!(
                "the master agent at {address} closed the connection"
            )),
        }
    }
}

/// `<experiment>/<stamp>`: the run directory as every node names it below
/// its own `output_dir` (run directories are always laid out so).
fn relative_run_dir(run_dir: &Path) -> String {
    let mut parts: Vec<_> = run_dir.iter().rev().take(2).collect();
    parts.reverse();
    parts
        .iter()
        .collect::<std::path::PathBuf>()
        .to_string_lossy()
        .into_owned()
}

/// torchrun's environment for one worker, plus the worker's own info.
fn worker_env(info: &WorkerInfo, master_addr: &str, framework_port: u16) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("RANK", info.rank.to_string()),
        ("LOCAL_RANK", info.local_rank.to_string()),
        ("WORLD_SIZE", info.world_size.to_string()),
        ("LOCAL_WORLD_SIZE", info.local_world_size.to_string()),
        ("GROUP_RANK", info.node_rank.to_string()),
        ("NODE_RANK", info.node_rank.to_string()),
        ("ROLE_RANK", info.rank.to_string()),
        ("ROLE_WORLD_SIZE", info.world_size.to_string()),
        ("MASTER_ADDR", master_addr.to_owned()),
        ("MASTER_PORT", framework_port.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.push((
        WORKER_ENV.to_owned(),
        serde_json::to_string(info).expect("worker info serialises"),
    ));
    env
}

/// Who decides how the run ends: the master itself (node 0), or a link to
/// it (other nodes) with a thread that listens for its verdict.
enum Coordinator {
    Master(Arc<Master>),
    Link {
        writer: TcpStream,
        verdicts: Receiver<Verdict>,
    },
}

/// What the master told a linked agent.
enum Verdict {
    Finish,
    Abort(String),
    Lost,
}

impl Coordinator {
    fn link(mut conn: Conn) -> anyhow::Result<Coordinator> {
        let writer = conn.writer().context("cannot use the link to the master")?;
        let (tx, verdicts) = mpsc::channel();
        std::thread::Builder::new()
            .name("rystematic-agent-link".into())
            .spawn(move || {
                let verdict = loop {
                    match conn.receive::<FromMaster>() {
                        Ok(Some(FromMaster::Finish)) => break Verdict::Finish,
                        Ok(Some(FromMaster::Abort { reason })) => break Verdict::Abort(reason),
                        Ok(Some(_)) => continue,
                        Ok(None) | Err(_) => break Verdict::Lost,
                    }
                };
                let _ = tx.send(verdict);
            })
            .context("cannot start the link thread")?;
        Ok(Coordinator::Link { writer, verdicts })
    }

    fn report_failure(&mut self, rank: u32, reason: String) {
        match self {
            Coordinator::Master(master) => master.fail(format!("rank {rank} failed: {reason}")),
            Coordinator::Link { writer, .. } => {
                let _ = super::protocol::send(writer, &ToMaster::Failed { rank, reason });
            }
        }
    }

    fn report_done(&mut self) {
        match self {
            Coordinator::Master(master) => master.node_done(0),
            Coordinator::Link { writer, .. } => {
                let _ = super::protocol::send(writer, &ToMaster::Done);
            }
        }
    }

    /// The run's end, once known: `Some(Ok)` when every node completed.
    fn verdict(&mut self, wait: Duration) -> Option<anyhow::Result<()>> {
        match self {
            Coordinator::Master(master) => {
                if let Some(failure) = master.failure() {
                    return Some(Err(anyhow!(failure)));
                }
                if master.finished() {
                    return Some(Ok(()));
                }
                std::thread::sleep(wait);
                None
            }
            Coordinator::Link { verdicts, .. } => match verdicts.recv_timeout(wait) {
                Ok(Verdict::Finish) => Some(Ok(())),
                Ok(Verdict::Abort(reason)) => Some(Err(anyhow!(reason))),
                Ok(Verdict::Lost) | Err(RecvTimeoutError::Disconnected) => Some(Err(anyhow!(
                    "lost the connection to the master agent; stopping this node"
                ))),
                Err(RecvTimeoutError::Timeout) => None,
            },
        }
    }
}

/// Watches this node's workers until the master says how the run ended.
fn supervise(
    workers: &[ChildProcess],
    first_rank: u32,
    coordinator: &mut Coordinator,
) -> anyhow::Result<()> {
    let mut ended = vec![false; workers.len()];
    let mut reported_done = false;
    loop {
        for (local, worker) in workers.iter().enumerate() {
            if ended[local] {
                continue;
            }
            let Some(status) = worker.try_wait() else {
                continue;
            };
            ended[local] = true;
            if !status.success() {
                use std::os::unix::process::ExitStatusExt;
                let how = describe_exit(status.code(), status.signal());
                coordinator.report_failure(
                    first_rank + local as u32,
                    format!("the worker ended with {how}"),
                );
            }
        }
        if !reported_done && ended.iter().all(|e| *e) {
            reported_done = true;
            coordinator.report_done();
        }
        if let Some(verdict) = coordinator.verdict(POLL) {
            return verdict;
        }
    }
}
