//! `hello_world` and `tutorial` end to end: output, run directory, files,
//! help, completions, concurrency.

mod support;

use std::process::Stdio;

use support::{Sandbox, read, run_json};

const HELLO: &str = env!("CARGO_BIN_EXE_hello_world");
const TUTORIAL: &str = env!("CARGO_BIN_EXE_tutorial");

#[test]
fn greets_and_records_the_run() {
    let sb = Sandbox::new();
    let run = sb.run(HELLO, &["--name", "World"]);
    run.ok();
    assert_eq!(run.stdout, "Hello World!\n");

    let dir = sb.only_run_dir("hello-world");
    assert_eq!(read(&dir.join("hello.txt")), "Hello World!\n");

    let params = read(&dir.join("parameters.yaml"));
    let keys: Vec<&str> = params
        .lines()
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "debug",
            "distributed",
            "local_rank",
            "master_addr",
            "master_port",
            "name",
            "nnodes",
            "node_rank",
            "nproc_per_node",
            "output_dir",
            "params_file",
            "random_seed",
            "subprocess"
        ]
    );
    assert!(params.contains("name: World\n"), "{params}");
    assert!(params.contains("output_dir: ./output\n"), "{params}");
    assert!(params.contains("params_file: null\n"), "{params}");

    let info = run_json(&dir);
    assert_eq!(info["experiment"], "hello-world");
    assert_eq!(info["status"], "completed");
    assert_eq!(info["error"], serde_json::Value::Null);
    assert_eq!(info["argv"][1], "--name");
    assert!(info["duration_s"].as_f64().unwrap() >= 0.0);
    assert!(info["pid"].as_u64().unwrap() > 0);
    assert!(!info["host"].as_str().unwrap().is_empty());
    assert_eq!(info["rystematic_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        info["random_seed"].as_i64().unwrap().to_string(),
        params
            .lines()
            .find_map(|l| l.strip_prefix("random_seed: "))
            .unwrap()
    );
    assert_eq!(info["output_dir"].as_str().unwrap(), dir.to_str().unwrap());
}

#[test]
fn run_directories_are_named_by_time_and_suffix() {
    let sb = Sandbox::new();
    sb.run(HELLO, &["--name", "x"]).ok();
    let dir = sb.only_run_dir("hello-world");
    let name = dir.file_name().unwrap().to_str().unwrap();
    // YYYY-MM-DD_HH-MM-SS_xxxxxx
    let bytes = name.as_bytes();
    assert_eq!(bytes.len(), 26, "{name}");
    for (i, b) in bytes.iter().enumerate() {
        let ok = match i {
            4 | 7 | 13 | 16 => *b == b'-',
            10 | 19 => *b == b'_',
            20.. => b.is_ascii_digit() || b.is_ascii_lowercase(),
            _ => b.is_ascii_digit(),
        };
        assert!(ok, "{name} at {i}");
    }
}

#[test]
fn log_file_has_timestamped_lines() {
    let sb = Sandbox::new();
    let run = sb.run(HELLO, &["--name", "x", "--debug"]);
    run.ok();
    let log = read(&sb.only_run_dir("hello-world").join("log.txt"));
    assert!(log.lines().count() >= 2, "{log}");
    for line in log.lines() {
        // [YYYY-MM-DD HH:MM:SS] [LEVEL] [target] message
        let (time, rest) = line.split_at(21);
        assert!(time.starts_with('[') && time.ends_with(']'), "{line}");
        assert_eq!(time.len(), 21, "{line}");
        let rest = rest.strip_prefix(' ').unwrap();
        let (level, rest) = rest.split_once(' ').unwrap();
        assert!(["[INFO]", "[DEBUG]"].contains(&level), "{line}");
        assert!(rest.starts_with("[rystematic] "), "{line}");
    }
    assert!(
        log.contains("[DEBUG] [rystematic] wrote "),
        "--debug shows debug lines:\n{log}"
    );
    // The console gets the same records.
    for line in log.lines() {
        assert!(
            run.stderr.contains(line),
            "{line} not on the console:\n{}",
            run.stderr
        );
    }
    let quiet = Sandbox::new();
    quiet.run(HELLO, &["--name", "x"]).ok();
    let log = read(&quiet.only_run_dir("hello-world").join("log.txt"));
    assert!(!log.contains("[DEBUG]"), "{log}");
}

#[test]
fn missing_required_name_is_a_usage_error_with_no_run() {
    let sb = Sandbox::new();
    let run = sb.run(HELLO, &[]);
    run.expect_code(2);
    assert_eq!(
        run.error_line(),
        "error: missing required value for '--name'"
    );
    assert!(
        run.stderr.contains("Usage: hello_world [OPTIONS]"),
        "{}",
        run.stderr
    );
    assert!(!sb.has_output());
}

#[test]
fn help_lists_parameters_and_hides_internal_ones() {
    let sb = Sandbox::new();
    let run = sb.run(HELLO, &["--help"]);
    run.ok();
    let help = &run.stdout;
    assert!(help.starts_with("Usage: hello_world [OPTIONS]"), "{help}");
    assert!(help.contains("--name <TEXT>"), "{help}");
    assert!(help.contains("The name to greet. Required."), "{help}");
    for builtin in [
        "--output-dir <PATH>",
        "--debug",
        "--params-file <PATH>",
        "--random-seed <INT>",
    ] {
        assert!(help.contains(builtin), "{builtin} in {help}");
    }
    assert!(help.contains("Default: ./output"), "{help}");
    assert!(help.contains("Default: <randomly generated>"), "{help}");
    assert!(
        !help.contains("--subprocess") && !help.contains("--local-rank"),
        "{help}"
    );
    assert!(!sb.has_output());
    // -h too.
    assert_eq!(sb.run(HELLO, &["-h"]).ok().stdout, run.stdout);
}

#[test]
fn completion_scripts_for_bash_zsh_and_fish() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = sb.run(HELLO, &["--completions", shell]);
        run.ok();
        assert!(
            run.stdout.contains("hello_world"),
            "{shell}: {}",
            run.stdout
        );
        assert!(run.stdout.contains("name"), "{shell}: {}", run.stdout);
        assert!(
            run.stdout.contains("random-seed"),
            "{shell}: {}",
            run.stdout
        );
    }
    let run = sb.run(HELLO, &["--completions", "tcsh"]);
    run.expect_code(2);
    assert!(run.error_line().contains("'tcsh'"), "{}", run.stderr);
    assert!(!sb.has_output());
}

#[test]
fn twelve_runs_started_at_once_get_twelve_directories() {
    let sb = Sandbox::new();
    let children: Vec<_> = (0..12)
        .map(|i| {
            sb.cmd(HELLO)
                .args(["--name", &format!("n{i}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        assert!(child.wait_with_output().unwrap().status.success());
    }
    let dirs = sb.run_dirs("hello-world");
    assert_eq!(dirs.len(), 12, "{dirs:?}");
    let mut greetings: Vec<String> = dirs.iter().map(|d| read(&d.join("hello.txt"))).collect();
    greetings.sort();
    greetings.dedup();
    assert_eq!(greetings.len(), 12, "each run wrote its own directory");
}

#[test]
fn tutorial_prints_its_string_or_the_default() {
    let sb = Sandbox::new();
    let run = sb.run(TUTORIAL, &[]);
    assert_eq!(run.ok().stdout, "string_to_print is No string was given\n");
    let run = sb.run(TUTORIAL, &["--string-to-print", "Hello there"]);
    assert_eq!(run.ok().stdout, "string_to_print is Hello there\n");
    assert_eq!(sb.run_dirs("my-experiment").len(), 2);
    let help = sb.run(TUTORIAL, &["--help"]).ok().stdout.clone();
    assert!(
        help.contains(
            "This string will be printed when the experiment is run. Default: No string was given"
        ),
        "{help}"
    );
}

#[test]
fn console_lines_are_coloured_on_a_terminal_only() {
    let sb = Sandbox::new();
    // `script` runs the command on a pseudo-terminal.
    let out = std::process::Command::new("script")
        .args(["-qec", &format!("{HELLO} --name tty"), "/dev/null"])
        .current_dir(sb.path())
        .env_remove("NO_COLOR")
        .output()
        .expect("script(1) from util-linux");
    let console = String::from_utf8_lossy(&out.stdout);
    assert!(console.contains("\x1b[34m[INFO]\x1b[0m"), "{console:?}");
    assert!(
        console.contains("\x1b[32m[rystematic]\x1b[0m"),
        "{console:?}"
    );
    let log = read(&sb.only_run_dir("hello-world").join("log.txt"));
    assert!(!log.contains('\x1b'), "the log file stays plain: {log:?}");

    let piped = sb
        .cmd(HELLO)
        .args(["--name", "pipe"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&piped.stderr).contains('\x1b'));
}
