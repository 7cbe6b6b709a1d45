//! Against a real SLURM (scripts/slurm-start): distributed runs under
//! `srun`. Without a cluster these tests say how to get one and pass, unless
//! RYSTEMATIC_REQUIRE_SLURM is set (as CI does), when they fail.

mod support;

use std::net::TcpListener;
use std::process::Command;

use serde_json::Value;
use support::{Sandbox, read, run_json, slurm_is_up};

const DISTRIBUTED: &str = env!("CARGO_BIN_EXE_distributed");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

#[test]
fn srun_starts_one_agent_per_task_and_they_make_one_world() {
    if !slurm_is_up() {
        return;
    }
    let sb = Sandbox::new();
    let port = free_port().to_string();
    // Two tasks on the one node: node rank, node count and master from SLURM.
    let out = Command::new("srun")
        .args([
            "-n",
            "2",
            "-N",
            "1",
            "--cpus-per-task",
            "1",
            "--kill-on-bad-exit=1",
        ])
        .arg(DISTRIBUTED)
        .args([
            "--distributed",
            "--nproc-per-node",
            "2",
            "--master-port",
            &port,
        ])
        .current_dir(sb.path())
        .output()
        .expect("run srun");
    assert!(
        out.status.success(),
        "srun failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = sb.only_run_dir("ranks");
    let ranks: Vec<Value> = (0..4)
        .map(|r| serde_json::from_str(&read(&dir.join(format!("rank-{r}.json")))).unwrap())
        .collect();
    for (r, me) in ranks.iter().enumerate() {
        assert_eq!(me["rank"], r as u64, "{me}");
        assert_eq!(me["world_size"], 4, "{me}");
        assert_eq!(me["node_rank"], (r / 2) as u64, "{me}");
        assert_eq!(me["token"], ranks[0]["token"], "{me}");
    }
    let info = run_json(&dir);
    assert_eq!(info["status"], "completed");
    assert_eq!(info["world"]["nnodes"], 2, "from SLURM_NTASKS");
    let params = read(&dir.join("parameters.yaml"));
    assert!(
        params.contains("nnodes: 2\n"),
        "SLURM's values are recorded: {params}"
    );
}
