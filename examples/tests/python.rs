//! Cross-checks with the real Python peers: PyYAML reads our
//! `parameters.yaml`, pystematic 1.7.0 runs from it, and we run from
//! pystematic's.

mod support;

use std::path::Path;

use serde_json::Value;
use support::python::{python, scripts};
use support::{Run, Sandbox};

const ALL: &str = env!("CARGO_BIN_EXE_all_params");
const HELLO: &str = env!("CARGO_BIN_EXE_hello_world");

/// Values that tempt a YAML writer into ambiguity.
const TRICKY: &[&str] = &[
    "--str-param",
    "yes",
    "--tags",
    "1.0",
    "null",
    "~",
    "on",
    "1:20",
    "2021-01-01",
    "a #b",
    " lead",
    "",
    "--path-param",
    "data/in put.csv",
    "--float-param",
    "1e20",
    "--int-param",
    "-3",
    "--choice",
    "ADAM",
    "--flag",
];

fn py(sb: &Sandbox, script: &str, args: &[&str]) -> Run {
    let out = std::process::Command::new(python())
        .arg(scripts().join(script))
        .args(args)
        .current_dir(sb.path())
        .env_remove("ALL_PARAMS_ENV_PARAM")
        .output()
        .expect("run python");
    Run::of(out)
}

/// `v` without `key`, and without the distributed parameters, which every
/// rystematic experiment has and a plain pystematic one does not (they are
/// pystematic-torch's).
fn without(mut v: Value, key: &str) -> Value {
    let map = v.as_object_mut().unwrap();
    map.remove(key);
    for torch in [
        "distributed",
        "nproc_per_node",
        "nnodes",
        "node_rank",
        "master_addr",
        "master_port",
    ] {
        map.remove(torch);
    }
    v
}

fn params_yaml(dir: &Path) -> String {
    dir.join("parameters.yaml").to_str().unwrap().to_owned()
}

#[test]
fn pyyaml_reads_back_exactly_what_we_wrote() {
    let sb = Sandbox::new();
    let ours = sb.run(ALL, TRICKY).ok().json();
    let file = params_yaml(&sb.only_run_dir("all-params"));
    let out = std::process::Command::new(python())
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            &file,
        ])
        .output()
        .unwrap();
    let theirs = Run::of(out).ok().json();
    assert_eq!(theirs, ours);
}

#[test]
fn pystematic_runs_from_our_parameters_yaml() {
    let sb = Sandbox::new();
    let ours = sb.run(ALL, TRICKY).ok().json();
    let file = params_yaml(&sb.only_run_dir("all-params"));
    let theirs = py(&sb, "all_params.py", &["--params-file", &file])
        .ok()
        .json();
    assert_eq!(without(theirs, "params_file"), without(ours, "params_file"));

    sb.run(HELLO, &["--name", "World"]).ok();
    let file = params_yaml(&sb.only_run_dir("hello-world"));
    let run = py(&sb, "hello_world.py", &["--params-file", &file]);
    assert_eq!(run.ok().stdout.lines().next(), Some("Hello World!"));
}

#[test]
fn we_run_from_pystematics_parameters_yaml() {
    let sb = Sandbox::new();
    let args = [
        "--int-param",
        "3",
        "--str-param",
        "yes",
        "--tags",
        "a",
        "1.5",
        "--path-param",
        "data/x",
        "--flag",
        "--choice",
        "adam",
        "--float-param",
        "2",
    ];
    let theirs = py(&sb, "all_params.py", &args).ok().json();
    let file = params_yaml(&sb.only_run_dir("all-params"));
    let ours = sb.run(ALL, &["--params-file", &file]).ok().json();
    assert_eq!(
        without(ours, "params_file"),
        without(theirs.clone(), "params_file")
    );
    assert!(theirs["random_seed"].as_i64().is_some());

    let sb = Sandbox::new();
    py(&sb, "hello_world.py", &["--name", "Py"]).ok();
    let file = params_yaml(&sb.only_run_dir("hello-world"));
    assert_eq!(
        sb.run(HELLO, &["--params-file", &file]).ok().stdout,
        "Hello Py!\n"
    );
}
