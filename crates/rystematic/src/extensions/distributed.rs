//! The distributed launcher's parameters (pystematic-torch's names,
//! defaults and environment variables), on every experiment.

use crate::param::Param;
use crate::runtime::extension::Extension;

/// The distributed parameters, on every experiment, in their own help
/// section. Their hooks do nothing: the runtime acts on them before any
/// extension's, because they decide what this process is.
pub(crate) struct Distributed;

impl Extension for Distributed {
    fn name(&self) -> &str {
        "distributed"
    }

    fn priority(&self) -> i32 {
        1
    }

    fn help_section(&self) -> Option<&str> {
        Some("Distributed")
    }

    fn params(&self) -> Vec<Param> {
        use crate::distributed::names::*;
        vec![
            Param::flag(DISTRIBUTED).help(
                "Run distributed: this process becomes the node's agent, which starts \
                 --nproc-per-node workers and joins the other nodes' agents.",
            ),
            Param::int(NPROC_PER_NODE)
                .default(1)
                .env("NPROC_PER_NODE")
                .help("Worker processes on this node."),
            Param::int(NNODES)
                .default(1)
                .env("NNODES")
                .help("Nodes in the run (from SLURM when under it)."),
            Param::int(NODE_RANK)
                .default(0)
                .env("NODE_RANK")
                .help("This node's rank, 0 to nnodes - 1 (from SLURM when under it)."),
            Param::string(MASTER_ADDR)
                .default("127.0.0.1")
                .env("MASTER_ADDR")
                .help("Address of node 0, whose agent hosts the rendezvous (from SLURM when under it)."),
            Param::int(MASTER_PORT)
                .default(29500)
                .env("MASTER_PORT")
                .help("Port of the rendezvous on node 0."),
        ]
    }
}
