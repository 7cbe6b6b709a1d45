//! Parameter values end to end through `all_params`: every type, every
//! source and their precedence, and every kind of bad input.

mod support;

use serde_json::{Value, json};
use support::{Sandbox, read};

const ALL: &str = env!("CARGO_BIN_EXE_all_params");
const PARAM_GROUPS: &str = env!("CARGO_BIN_EXE_param_groups");

fn values(sb: &Sandbox, args: &[&str]) -> Value {
    sb.run(ALL, args).ok().json()
}

#[test]
fn defaults_and_built_ins() {
    let sb = Sandbox::new();
    let mut v = values(&sb, &[]);
    assert!(v["random_seed"].as_i64().unwrap() >= 0);
    assert!(v["random_seed"].as_i64().unwrap() < 1 << 32);
    v.as_object_mut().unwrap().remove("random_seed");
    assert_eq!(
        v,
        json!({
            "choice": "sgd", "debug": false, "env_param": null, "flag": false,
            "float_param": 0.5, "hidden_param": "secret", "int_param": 0,
            "local_rank": 0, "output_dir": "./output", "params_file": null,
            "path_param": null, "str_param": "hello", "subprocess": null, "tags": [],
            "distributed": false, "nproc_per_node": 1, "nnodes": 1, "node_rank": 0,
            "master_addr": "127.0.0.1", "master_port": 29500
        })
    );
}

#[test]
fn every_type_from_the_command_line() {
    let sb = Sandbox::new();
    let v = values(
        &sb,
        &[
            "--int-param=-7",
            "--float-param",
            "-1e-3",
            "--str-param",
            "a b",
            "--flag",
            "--choice",
            "ADAM",
            "--tags",
            "x",
            "y",
            "z",
            "--path-param",
            "data/in.csv",
            "--hidden-param",
            "seen",
            "--random-seed",
            "9",
        ],
    );
    assert_eq!(v["int_param"], -7);
    assert_eq!(v["float_param"], -0.001);
    assert_eq!(v["str_param"], "a b");
    assert_eq!(v["flag"], true);
    assert_eq!(v["choice"], "adam", "case-insensitive, canonical spelling");
    assert_eq!(v["tags"], json!(["x", "y", "z"]));
    assert_eq!(v["path_param"], "data/in.csv");
    assert_eq!(v["hidden_param"], "seen", "hidden but accepted");
    assert_eq!(v["random_seed"], 9);
}

#[test]
fn flags_and_repeated_options_last_one_wins() {
    let sb = Sandbox::new();
    assert_eq!(values(&sb, &["--flag", "--no-flag"])["flag"], false);
    assert_eq!(values(&sb, &["--no-flag", "--flag"])["flag"], true);
    assert_eq!(values(&sb, &["--flag", "--flag"])["flag"], true);
    assert_eq!(
        values(&sb, &["--int-param", "1", "--int-param", "2"])["int_param"],
        2
    );
    assert_eq!(
        values(&sb, &["--tags", "a", "b", "--tags", "c"])["tags"],
        json!(["c"])
    );
    assert_eq!(values(&sb, &["--tags"])["tags"], json!([]));
}

#[test]
fn environment_is_read_only_when_declared_and_loses_to_the_command_line() {
    let sb = Sandbox::new();
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = sb.cmd(ALL);
        cmd.args(args);
        if let Some(value) = env {
            cmd.env("ALL_PARAMS_ENV_PARAM", value);
        }
        // A parameter without `.env(...)` never reads the environment,
        // even a variable named after it.
        cmd.env("STR_PARAM", "from-env").env("INT_PARAM", "5");
        support::Run::of(cmd.output().unwrap()).ok().json()
    };
    let v = run(&[], Some("from-env"));
    assert_eq!(v["env_param"], "from-env");
    assert_eq!(v["str_param"], "hello");
    assert_eq!(v["int_param"], 0);
    assert_eq!(
        run(&["--env-param", "cli"], Some("from-env"))["env_param"],
        "cli"
    );
    assert_eq!(run(&[], None)["env_param"], Value::Null);
}

#[test]
fn params_file_sits_between_earlier_and_later_options() {
    let sb = Sandbox::new();
    let file = sb.write(
        "p.yaml",
        "int_param: 7\nstr_param: from-file\ntags: [f1, f2]\n",
    );
    let file = file.to_str().unwrap();
    let v = values(&sb, &["--int-param", "1", "--params-file", file]);
    assert_eq!(v["int_param"], 7, "the file overrides options before it");
    let v = values(&sb, &["--params-file", file, "--int-param", "1"]);
    assert_eq!(v["int_param"], 1, "options after the file override it");
    assert_eq!(v["str_param"], "from-file");
    assert_eq!(v["tags"], json!(["f1", "f2"]));
    assert_eq!(v["params_file"], file);
    let v = values(&sb, &["--tags", "--params-file", file]);
    assert_eq!(v["tags"], json!(["f1", "f2"]));
    let v = values(&sb, &["--params-file", file, "--tags"]);
    assert_eq!(v["tags"], json!([]));
}

#[test]
fn params_file_beats_the_environment() {
    let sb = Sandbox::new();
    let file = sb.write("p.yaml", "env_param: from-file\n");
    let out = sb
        .cmd(ALL)
        .args(["--params-file", file.to_str().unwrap()])
        .env("ALL_PARAMS_ENV_PARAM", "from-env")
        .output()
        .unwrap();
    assert_eq!(support::Run::of(out).ok().json()["env_param"], "from-file");
}

#[test]
fn params_file_unknown_keys_are_reported_and_internal_keys_ignored() {
    let sb = Sandbox::new();
    let file = sb.write(
        "p.yaml",
        "int_param: 3\nno_such_param: 1\nlocal_rank: 5\nsubprocess: x\n",
    );
    let run = sb.run(ALL, &["--params-file", file.to_str().unwrap()]);
    let v = run.ok().json();
    assert_eq!(v["int_param"], 3);
    assert!(v.get("no_such_param").is_none(), "never silently added");
    assert_eq!(v["local_rank"], 0, "local_rank may not come from a file");
    assert_eq!(v["subprocess"], Value::Null);
    let warning = "[WARN] [rystematic] params file";
    assert!(
        run.stderr.contains(warning) && run.stderr.contains("`no_such_param`"),
        "{}",
        run.stderr
    );
    let log = read(&sb.only_run_dir("all-params").join("log.txt"));
    assert!(
        log.contains("`no_such_param`, which is not a parameter"),
        "{log}"
    );
}

/// Runs with bad input: exit code 2, one error line naming the culprit,
/// and no run directory.
fn rejected(sb: &Sandbox, bin: &str, args: &[&str]) -> String {
    let run = sb.run(bin, args);
    run.expect_code(2);
    assert!(!sb.has_output(), "a rejected run created output: {args:?}");
    assert!(
        run.stderr.contains("For more information, try '--help'."),
        "{}",
        run.stderr
    );
    run.error_line().to_owned()
}

#[test]
fn bad_command_line_input_is_rejected_before_anything_runs() {
    let sb = Sandbox::new();
    assert_eq!(
        rejected(&sb, ALL, &["--int-param", "abc"]),
        "error: invalid value 'abc' for '--int-param' on the command line: expected an integer"
    );
    assert_eq!(
        rejected(&sb, ALL, &["--float-param", "1.2.3"]),
        "error: invalid value '1.2.3' for '--float-param' on the command line: expected a number"
    );
    assert_eq!(
        rejected(&sb, ALL, &["--choice", "rmsprop"]),
        "error: invalid value 'rmsprop' for '--choice' on the command line: not one of sgd, adam"
    );
    assert_eq!(
        rejected(&sb, ALL, &["--random-seed", "x"]),
        "error: invalid value 'x' for '--random-seed' on the command line: expected an integer"
    );
    assert_eq!(
        rejected(&sb, ALL, &["--no-such-option", "1"]),
        "error: unexpected argument '--no-such-option' found"
    );
    assert!(rejected(&sb, ALL, &["--str-param"]).contains("'--str-param <TEXT>'"));
    assert_eq!(
        rejected(&sb, ALL, &["--int-param", "--flag"]),
        "error: invalid value '--flag' for '--int-param' on the command line: expected an integer"
    );
    assert!(rejected(&sb, ALL, &["stray"]).contains("'stray'"));
    // `--` ends options: what follows is not an option.
    assert!(rejected(&sb, ALL, &["--", "--flag"]).contains("'--flag'"));
    assert_eq!(
        rejected(&sb, PARAM_GROUPS, &["--param-a-1", "x"]),
        "error: missing required value for '--ungrouped-param'"
    );
}

#[test]
fn bad_params_files_are_rejected_with_the_file_named() {
    let sb = Sandbox::new();
    let check = |name: &str, contents: &[u8], expected: &str| {
        let path = sb.path().join(name);
        std::fs::write(&path, contents).unwrap();
        let line = rejected(&sb, ALL, &["--params-file", path.to_str().unwrap()]);
        assert!(line.contains(&path.display().to_string()), "{line}");
        assert!(line.contains(expected), "{name}: {line}");
    };
    check(
        "type.yaml",
        b"int_param: abc\n",
        "invalid value 'abc' for 'int_param' in params file",
    );
    check("choice.yaml", b"choice: rms\n", "not one of sgd, adam");
    check(
        "syntax.yaml",
        b"int_param: [1, 2\n",
        "cannot use params file",
    );
    check("nested.yaml", b"int_param:\n  a: 1\n", "nested mapping");
    check(
        "list.yaml",
        b"- 1\n- 2\n",
        "expected a mapping of parameter names to values",
    );
    check(
        "tag.yaml",
        b"str_param: !!python/object/apply:os.system [ls]\n",
        "cannot use params file",
    );
    let deep = format!("tags: {}x{}\n", "[".repeat(80), "]".repeat(80));
    check("deep.yaml", deep.as_bytes(), "cannot use params file");
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (i, prev) in ["b", "c", "d", "e", "f", "g"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f"])
    {
        bomb.push_str(&format!(
            "{i}: &{i} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
    }
    check("bomb.yaml", bomb.as_bytes(), "cannot use params file");
    let big = format!("str_param: \"{}\"\n", "x".repeat(1024 * 1024));
    check("big.yaml", big.as_bytes(), "larger than 1048576 bytes");
    let missing = sb.path().join("missing.yaml");
    let line = rejected(&sb, ALL, &["--params-file", missing.to_str().unwrap()]);
    assert!(
        line.contains("missing.yaml") && line.contains("No such file"),
        "{line}"
    );
}

#[test]
fn output_dir_is_a_parameter_too() {
    let sb = Sandbox::new();
    let v = values(&sb, &["--output-dir", "results"]);
    assert_eq!(v["output_dir"], "results");
    assert_eq!(
        support::run_dirs(&sb.path().join("results/all-params")).len(),
        1
    );
    assert!(!sb.has_output());
}

#[test]
fn param_groups_print_their_values_and_help_sections_in_order() {
    let sb = Sandbox::new();
    let run = sb.run(
        PARAM_GROUPS,
        &["--ungrouped-param", "u", "--param-b-2", "b2"],
    );
    assert_eq!(
        run.ok().stdout,
        "ungrouped_param=u\nparam_a_1=null\nparam_a_2=null\nparam_b_1=null\nparam_b_2=b2\n"
    );
    let help = sb.run(PARAM_GROUPS, &["--help"]).ok().stdout.clone();
    let at = |needle: &str| {
        help.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {help}"))
    };
    assert!(at("Options:") < at("--ungrouped-param"));
    assert!(at("--ungrouped-param") < at("--output-dir"));
    assert!(at("--output-dir") < at("A param group:"));
    assert!(at("A param group:") < at("--param-a-1"));
    assert!(at("--param-a-2") < at("Another param group:"));
    assert!(at("Another param group:") < at("--param-b-1"));
}

/// NaN and the infinities cannot be written to `parameters.yaml` and read
/// back the same through every format a run uses, so they are refused as
/// usage errors wherever a float enters; every float the command line does
/// accept reproduces exactly through `--params-file`.
#[test]
fn non_finite_floats_are_refused_and_accepted_floats_round_trip() {
    let sb = Sandbox::new();
    for text in ["nan", "NaN", "inf", "-inf", "infinity", "1e999", "-1e999"] {
        let line = rejected(&sb, ALL, &["--float-param", text]);
        assert!(
            line.contains(&format!("invalid value '{text}' for '--float-param'"))
                && line.contains("not a finite number"),
            "{text}: {line}"
        );
        let line = rejected(&sb, ALL, &[&format!("--float-param={text}")]);
        assert!(line.contains("not a finite number"), "{text}: {line}");
    }
    for (i, text) in [".nan", ".inf", "-.inf", ".NaN", "+.inf"]
        .iter()
        .enumerate()
    {
        let path = sb.write(
            &format!("nonfinite{i}.yaml"),
            &format!("float_param: {text}\n"),
        );
        let line = rejected(&sb, ALL, &["--params-file", path.to_str().unwrap()]);
        assert!(
            line.contains("for 'float_param' in params file")
                && line.contains("not a finite number"),
            "{text}: {line}"
        );
    }

    // Accepted floats, and strings that spell YAML's special floats.
    let cases = [
        ("0.1", "nan"),
        ("-0.0", ".nan"),
        ("1e308", ".inf"),
        ("-1.7976931348623157e308", "-.inf"),
        ("5e-324", "1e999"),
        ("1e-7", "inf"),
        ("123456789012345678", ".NaN"),
        ("-3", "-1"),
    ];
    for (i, (float, string)) in cases.into_iter().enumerate() {
        let str_arg = format!("--str-param={string}");
        let out = format!("case{i}");
        let first = sb.run(
            ALL,
            &["--float-param", float, &str_arg, "--output-dir", &out],
        );
        let mut first = first.ok().json();
        let dir = support::run_dirs(&sb.path().join(&out).join("all-params")).remove(0);
        let file = dir.join("parameters.yaml");
        let mut again = values(&sb, &["--params-file", file.to_str().unwrap()]);
        assert_eq!(first["float_param"].as_f64(), float.parse::<f64>().ok());
        assert_eq!(first["str_param"], string);
        again.as_object_mut().unwrap().remove("params_file");
        first.as_object_mut().unwrap().remove("params_file");
        assert_eq!(again, first, "{float} / {string}:\n{}", read(&file));
    }
}

/// SPEC §4: negative numbers are values, not options, for every kind of
/// parameter, one value or many; an option after a value is still an option.
#[test]
fn negative_numbers_are_values_for_every_kind() {
    let sb = Sandbox::new();
    for n in ["-1", "-2.5", "-1e-3", "-.5", "-1E+4"] {
        let v = values(
            &sb,
            &[
                "--str-param",
                n,
                "--path-param",
                n,
                "--tags",
                n,
                "x",
                n,
                "--flag",
                "--float-param",
                n,
                "--env-param",
                n,
            ],
        );
        assert_eq!(v["str_param"], n);
        assert_eq!(v["path_param"], n);
        assert_eq!(v["env_param"], n);
        assert_eq!(v["tags"], json!([n, "x", n]));
        assert_eq!(v["flag"], true, "--flag after a list of negatives: {n}");
        assert_eq!(v["float_param"].as_f64(), n.parse::<f64>().ok());
    }
    let v = values(&sb, &["--tags", "-1", "--int-param", "-2"]);
    assert_eq!(v["tags"], json!(["-1"]));
    assert_eq!(v["int_param"], -2);
    // A text option does not swallow the option after it.
    let sb = Sandbox::new();
    let line = rejected(&sb, ALL, &["--str-param", "--flag"]);
    assert!(
        line.contains("a value is required for '--str-param"),
        "{line}"
    );
    // What is neither a number nor an option is still refused.
    assert!(rejected(&sb, ALL, &["--str-param", "-x"]).contains("'-x'"));
}

/// A declared environment variable whose value is not UTF-8 is a usage
/// error naming the variable, not silently unset.
#[test]
fn non_utf8_environment_values_are_refused_naming_the_variable() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::new();
    let run = support::Run::of(
        sb.cmd(ALL)
            .env("ALL_PARAMS_ENV_PARAM", OsStr::from_bytes(b"caf\xe9"))
            .output()
            .unwrap(),
    );
    run.expect_code(2);
    assert_eq!(
        run.error_line(),
        "error: invalid value 'caf\u{FFFD}' for '--env-param' from environment variable \
         ALL_PARAMS_ENV_PARAM: not valid UTF-8"
    );
    assert!(!sb.has_output());
    // The command line still wins over the variable, bad bytes or not.
    let run = support::Run::of(
        sb.cmd(ALL)
            .env("ALL_PARAMS_ENV_PARAM", OsStr::from_bytes(b"caf\xe9"))
            .args(["--env-param", "given"])
            .output()
            .unwrap(),
    );
    assert_eq!(run.ok().json()["env_param"], "given");
}
