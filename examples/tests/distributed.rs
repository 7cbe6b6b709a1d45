//! Distributed runs end to end: real agents and workers on this host, two
//! "nodes" as two agents on 127.0.0.1, real failures and signals.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::tool::tool;
use support::{Sandbox, read, run_json, signal};

const DISTRIBUTED: &str = env!("CARGO_BIN_EXE_distributed");

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// Starts one agent of a world of `nnodes` with `nproc` workers each.
fn agent(
    sb: &Sandbox,
    port: u16,
    nnodes: u32,
    node_rank: u32,
    nproc: u32,
    extra: &[&str],
) -> Child {
    let mut cmd = sb.cmd(DISTRIBUTED);
    cmd.args(["--distributed", "--master-port", &port.to_string()])
        .args([
            "--nnodes",
            &nnodes.to_string(),
            "--node-rank",
            &node_rank.to_string(),
        ])
        .args(["--nproc-per-node", &nproc.to_string()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().expect("start an agent")
}

fn wait_exit(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "process {} did not exit within {within:?}",
            child.id()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The workers an agent started (its live children, whichever of its
/// threads forked them).
fn children(pid: u32) -> Vec<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    tasks
        .flatten()
        .flat_map(|task| {
            std::fs::read_to_string(task.path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Waits until the agent has `n` workers, and returns their pids.
fn wait_for_workers(agent: u32, n: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pids = children(agent);
        if pids.len() >= n {
            return pids;
        }
        assert!(
            Instant::now() < deadline,
            "agent {agent} never had {n} workers"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a process is gone (or a zombie waiting for its parent).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn ranks(dir: &Path, world: u32) -> Vec<Value> {
    (0..world)
        .map(|r| serde_json::from_str(&read(&dir.join(format!("rank-{r}.json")))).unwrap())
        .collect()
}

fn only_run(sb: &Sandbox) -> PathBuf {
    sb.only_run_dir("ranks")
}

#[test]
fn four_workers_on_one_node_share_a_run_a_barrier_and_a_token() {
    let sb = Sandbox::new();
    let port = free_port();
    let mut agent = agent(&sb, port, 1, 0, 4, &[]);
    assert!(wait_exit(&mut agent, Duration::from_secs(30)).success());

    let dir = only_run(&sb);
    let ranks = ranks(&dir, 4);
    let framework_port = ranks[0]["master_port"].as_u64().unwrap();
    assert_ne!(
        framework_port,
        u64::from(port),
        "the framework gets its own port"
    );
    for (r, me) in ranks.iter().enumerate() {
        assert_eq!(me["rank"], r as u64, "{me}");
        assert_eq!(me["local_rank"], r as u64, "{me}");
        assert_eq!(me["world_size"], 4, "{me}");
        assert_eq!(me["local_world_size"], 4, "{me}");
        assert_eq!(me["node_rank"], 0, "{me}");
        assert_eq!(me["master_addr"], "127.0.0.1", "{me}");
        assert_eq!(me["master_port"], framework_port, "{me}");
        assert_eq!(
            me["token"], ranks[0]["token"],
            "one token from the master: {me}"
        );
        assert!(dir.join(format!("log.rank-{r}.txt")).is_file());
    }
    let info = run_json(&dir);
    assert_eq!(info["status"], "completed");
    assert_eq!(info["world"]["nnodes"], 1);
    assert_eq!(info["world"]["world_size"], 4);
    assert_eq!(info["world"]["nproc_per_node"], serde_json::json!([4]));
    let shown = tool(&["show", dir.to_str().unwrap()]).expect(0).stdout;
    let (host, port) = (&info["world"]["hosts"][0], &info["world"]["master_port"]);
    let world = format!(
        " 4 workers on 1 node ({}), master 127.0.0.1:{port}",
        host.as_str().unwrap()
    );
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("world ") && l.ends_with(&world)),
        "{shown}"
    );
    assert!(dir.join("parameters.yaml").is_file());
    let log = read(&dir.join("log.txt"));
    assert!(
        log.contains("Distributed run: node 0 of 1, ranks 0..3 of 4"),
        "{log}"
    );
    // Only the master agent writes the run's files; workers log apart.
    assert!(!read(&dir.join("log.rank-1.txt")).contains("[INFO] [rystematic] Distributed run"));
}

#[test]
fn two_agents_on_one_host_make_one_world_in_one_run_directory() {
    let sb = Sandbox::new();
    let port = free_port();
    // Either may start first: the second node waits for the master.
    let mut node1 = agent(&sb, port, 2, 1, 2, &[]);
    let mut node0 = agent(&sb, port, 2, 0, 2, &[]);
    assert!(wait_exit(&mut node0, Duration::from_secs(30)).success());
    assert!(wait_exit(&mut node1, Duration::from_secs(30)).success());

    let dir = only_run(&sb);
    let ranks = ranks(&dir, 4);
    for (r, me) in ranks.iter().enumerate() {
        assert_eq!(me["rank"], r as u64, "{me}");
        assert_eq!(me["local_rank"], (r % 2) as u64, "{me}");
        assert_eq!(me["node_rank"], (r / 2) as u64, "{me}");
        assert_eq!(me["world_size"], 4, "{me}");
        assert_eq!(me["local_world_size"], 2, "{me}");
        assert_eq!(me["token"], ranks[0]["token"], "{me}");
    }
    let info = run_json(&dir);
    assert_eq!(info["status"], "completed");
    assert_eq!(info["world"]["nnodes"], 2);
    assert_eq!(info["world"]["nproc_per_node"], serde_json::json!([2, 2]));
    assert!(
        dir.join("log.node-1.txt").is_file(),
        "node 1's agent logs beside the master's"
    );
}

#[test]
fn a_failing_rank_fails_every_agent_and_the_log_names_it() {
    let sb = Sandbox::new();
    let port = free_port();
    let fail = ["--fail-rank", "2"];
    let mut node0 = agent(&sb, port, 2, 0, 2, &fail);
    let mut node1 = agent(&sb, port, 2, 1, 2, &fail);
    assert_eq!(
        wait_exit(&mut node0, Duration::from_secs(30)).code(),
        Some(1)
    );
    assert_eq!(
        wait_exit(&mut node1, Duration::from_secs(30)).code(),
        Some(1)
    );

    let dir = only_run(&sb);
    let info = run_json(&dir);
    assert_eq!(info["status"], "failed");
    assert_eq!(info["error"], "rank 2 failed: rank 2 failed on purpose");
    let log = read(&dir.join("log.txt"));
    assert!(
        log.contains("rank 2 failed: rank 2 failed on purpose; stopping every node"),
        "{log}"
    );
}

#[test]
fn a_killed_worker_stops_every_worker_on_every_node() {
    let sb = Sandbox::new();
    let port = free_port();
    let sleep = ["--sleep-s", "60"];
    let mut node0 = agent(&sb, port, 2, 0, 2, &sleep);
    let mut node1 = agent(&sb, port, 2, 1, 2, &sleep);
    let mut workers = wait_for_workers(node0.id(), 2);
    let node1_workers = wait_for_workers(node1.id(), 2);
    workers.extend(&node1_workers);

    signal("KILL", node1_workers[0]);
    assert_ne!(
        wait_exit(&mut node0, Duration::from_secs(10)).code(),
        Some(0)
    );
    assert_ne!(
        wait_exit(&mut node1, Duration::from_secs(10)).code(),
        Some(0)
    );
    for pid in workers {
        assert!(gone(pid), "worker {pid} was left behind");
    }
    let info = run_json(&only_run(&sb));
    assert_eq!(info["status"], "failed");
    let error = info["error"].as_str().unwrap();
    assert!(
        error.starts_with("rank 2 failed") || error.starts_with("rank 3 failed"),
        "{error}"
    );
    assert!(error.contains("SIGKILL"), "{error}");
}

#[test]
fn sigterm_to_any_agent_stops_the_whole_world() {
    for target in [0, 1] {
        let sb = Sandbox::new();
        let port = free_port();
        let sleep = ["--sleep-s", "60"];
        let mut agents = [
            agent(&sb, port, 2, 0, 2, &sleep),
            agent(&sb, port, 2, 1, 2, &sleep),
        ];
        let workers: Vec<u32> = agents
            .iter()
            .flat_map(|a| wait_for_workers(a.id(), 2))
            .collect();

        signal("TERM", agents[target].id());
        for agent in &mut agents {
            assert_ne!(wait_exit(agent, Duration::from_secs(10)).code(), Some(0));
        }
        for pid in workers {
            assert!(
                gone(pid),
                "worker {pid} was left behind (SIGTERM to node {target})"
            );
        }
        let status = run_json(&only_run(&sb))["status"].clone();
        let expected = if target == 0 { "interrupted" } else { "failed" };
        assert_eq!(status, expected, "SIGTERM to node {target}");
    }
}

#[test]
fn single_node_runs_at_once_on_a_taken_port_each_find_their_own() {
    let sb = Sandbox::new();
    // The port every run is told, taken for the whole test, as one run of
    // a sweep with --jobs > 1 takes it from the others.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let status = sb
        .cmd(DISTRIBUTED)
        .args(["--sweep", "sleep_s=0.2,0.3", "--jobs", "2"])
        .args([
            "--distributed",
            "--nproc-per-node",
            "2",
            "--master-port",
            &port,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    let dirs = sb.run_dirs("ranks");
    assert_eq!(dirs.len(), 2);
    let mut ports = Vec::new();
    for dir in &dirs {
        let info = run_json(dir);
        assert_eq!(info["status"], "completed", "{info}");
        let own = info["world"]["master_port"].as_u64().unwrap();
        assert_ne!(own.to_string(), port, "{info}");
        ports.push(own);
        let log = read(&dir.join("log.txt"));
        assert!(
            log.contains(&format!(
                "Port {port} is taken; this single-node run meets its workers on port {own} instead"
            )),
            "{log}"
        );
        // The workers met there: one token from the master.
        let ranks = ranks(dir, 2);
        assert_eq!(ranks[0]["token"], ranks[1]["token"]);
    }
    assert_ne!(ports[0], ports[1]);

    // Another node would look for the taken port: a world of two fails,
    // naming it.
    let out = sb
        .cmd(DISTRIBUTED)
        .args(["--distributed", "--nnodes", "2", "--master-port", &port])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot listen for the other agents on 127.0.0.1:{port}"
        )),
        "{stderr}"
    );
    drop(taken);
}

#[test]
fn without_distributed_the_run_is_its_own_world_of_one() {
    let sb = Sandbox::new();
    sb.run(DISTRIBUTED, &[]).ok();
    let dir = only_run(&sb);
    let me: Value = serde_json::from_str(&read(&dir.join("rank-0.json"))).unwrap();
    assert_eq!(me["rank"], 0);
    assert_eq!(me["local_rank"], 0);
    assert_eq!(me["world_size"], 1);
    assert!(run_json(&dir).get("world").is_none());
    assert!(!dir.join("log.rank-0.txt").exists());
}

#[test]
fn bad_distributed_options_are_usage_errors() {
    let sb = Sandbox::new();
    for (args, named) in [
        (
            &["--distributed", "--nproc-per-node", "0"][..],
            "--nproc-per-node",
        ),
        (
            &["--distributed", "--nnodes", "2", "--node-rank", "2"],
            "--node-rank",
        ),
        (
            &["--distributed", "--master-port", "70000"],
            "--master-port",
        ),
    ] {
        let run = sb.run(DISTRIBUTED, args);
        run.expect_code(2);
        assert!(run.error_line().contains(named), "{}", run.error_line());
    }
    assert!(!sb.has_output(), "no run directory for bad input");
}

#[test]
fn the_distributed_parameters_have_their_own_help_section() {
    let sb = Sandbox::new();
    let help = sb.run(DISTRIBUTED, &["--help"]).ok().stdout.clone();
    let section = help.find("Distributed:").expect(&help);
    for option in [
        "--distributed",
        "--nproc-per-node <INT>",
        "--nnodes <INT>",
        "--node-rank <INT>",
        "--master-addr <TEXT>",
        "--master-port <INT>",
    ] {
        let at = help
            .find(option)
            .unwrap_or_else(|| panic!("{option} in {help}"));
        assert!(at > section, "{option} is in the section: {help}");
    }
    assert!(help.contains("[env: NPROC_PER_NODE]"), "{help}");
    assert!(help.contains("[env: MASTER_PORT] Default: 29500"), "{help}");
}
