//! Whole-process wall time of the same command line in several
//! implementations, run interleaved (one of each per round, in rotating
//! order, so machine noise hits all alike), reported as medians.
//!
//! Usage: startup ROUNDS LABEL=CMD... [--] (each CMD is one shell-free
//! argv, words separated by `\x1f`, optionally led by `-C DIR` to run in
//! DIR and by `NAME=VALUE` words to set variables: as `env` would, without
//! timing another process). Prints a Markdown table row per scenario.
//! Driven by bench/startup.sh.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .and_then(|r| r.parse().ok())
        .expect("usage: startup ROUNDS LABEL=CMD...");
    let commands: Vec<(String, Vec<String>)> = args
        .map(|spec| {
            let (label, cmd) = spec.split_once('=').expect("LABEL=CMD");
            (
                label.to_owned(),
                cmd.split('\x1f').map(str::to_owned).collect(),
            )
        })
        .collect();
    let scratch = std::env::temp_dir().join(format!("rystematic-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("create a scratch directory");

    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); commands.len()];
    // One untimed warm-up run each: page cache, dynamic linker, .pyc files.
    for (_, argv) in &commands {
        run(argv, &scratch);
    }
    for round in 0..rounds {
        for k in 0..commands.len() {
            let i = (k + round) % commands.len();
            times[i].push(run(&commands[i].1, &scratch));
        }
    }
    for ((label, _), mut samples) in commands.iter().zip(times) {
        samples.sort();
        let median = samples[samples.len() / 2];
        println!("{label}\t{:.3}", median.as_secs_f64() * 1e3);
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

fn run(argv: &[String], scratch: &std::path::Path) -> Duration {
    let (dir, argv) = match argv {
        [flag, dir, rest @ ..] if flag == "-C" => (std::path::Path::new(dir), rest),
        _ => (scratch, argv),
    };
    let assignments = argv.iter().take_while(|word| word.contains('=')).count();
    let (vars, argv) = argv.split_at(assignments);
    let vars = vars.iter().filter_map(|var| var.split_once('='));
    let start = Instant::now();
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .envs(vars)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start the benchmarked command");
    let elapsed = start.elapsed();
    assert!(status.success(), "{argv:?} failed: {status}");
    elapsed
}
