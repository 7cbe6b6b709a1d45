//! A distributed run: every rank waits at a barrier, receives one random
//! token from the master, and writes what it is into the run directory.
//!
//! ```text
//! cargo run --bin distributed -- --distributed --nproc-per-node 4
//! # two nodes on one host:
//! distributed --distributed --nnodes 2 --node-rank 0 --nproc-per-node 2 &
//! distributed --distributed --nnodes 2 --node-rank 1 --nproc-per-node 2
//! ```

use std::time::Duration;

use anyhow::bail;
use rystematic::{Params, Run};

#[derive(Params)]
struct Ranks {
    /// Seconds every rank sleeps before the barrier.
    #[param(default = 0.0)]
    sleep_s: f64,
    /// The rank that fails on purpose, after writing its file.
    fail_rank: Option<u32>,
}

#[rystematic::experiment]
fn ranks(params: Ranks, run: &Run) -> anyhow::Result<()> {
    std::thread::sleep(Duration::from_secs_f64(params.sleep_s));
    run.barrier()?;
    // Every rank proposes its own number; all of them keep the master's.
    let proposal = run.new_seed_bits(64).wrapping_add(u64::from(run.rank()));
    let token: u64 = run.broadcast_from_master(proposal)?;
    let env = |name: &str| std::env::var(name).ok();
    let env_int = |name: &str| env(name).and_then(|v| v.parse::<u64>().ok());
    let me = serde_json::json!({
        "rank": run.rank(),
        "local_rank": run.local_rank(),
        "world_size": run.world_size(),
        "local_world_size": env_int("LOCAL_WORLD_SIZE"),
        "node_rank": env_int("NODE_RANK"),
        "master_addr": env("MASTER_ADDR"),
        "master_port": env_int("MASTER_PORT"),
        "token": token,
        "pid": std::process::id(),
    });
    let file = run.output_dir().join(format!("rank-{}.json", run.rank()));
    std::fs::write(file, me.to_string())?;
    if params.fail_rank == Some(run.rank()) {
        bail!("rank {} failed on purpose", run.rank());
    }
    Ok(())
}

rystematic::main!();
