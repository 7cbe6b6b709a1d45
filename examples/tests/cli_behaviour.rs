//! What a newcomer meets first on the command line: versions, several
//! params files, how a failure is reported.

mod support;

use support::{Sandbox, read};

const ALL_PARAMS: &str = env!("CARGO_BIN_EXE_all_params");
const HELLO_WORLD: &str = env!("CARGO_BIN_EXE_hello_world");
const TUTORIAL: &str = env!("CARGO_BIN_EXE_tutorial");
const TYPED_HELLO: &str = env!("CARGO_BIN_EXE_typed_hello");
const TYPED_GROUPS: &str = env!("CARGO_BIN_EXE_typed_groups");
const VERSION: &str = env!("CARGO_PKG_VERSION");

#[test]
fn every_program_prints_its_own_version() {
    let sb = Sandbox::new();
    let expect = |bin: &str, name: &str, args: &[&str]| {
        let run = sb.run(bin, args);
        assert_eq!(run.ok().stdout, format!("{name} {VERSION}\n"), "{args:?}");
    };
    // main!() picks the crate's version up by itself.
    expect(TYPED_HELLO, "typed_hello", &["--version"]);
    expect(TYPED_HELLO, "typed_hello", &["-V"]);
    // A group's program: on the group, a sub-group and an experiment.
    expect(TYPED_GROUPS, "typed_groups", &["--version"]);
    expect(TYPED_GROUPS, "typed_groups", &["my-group2", "-V"]);
    expect(
        TYPED_GROUPS,
        "typed_groups",
        &["my-group2", "my-experiment2", "--version"],
    );
    // The builder style says it with `.version(env!("CARGO_PKG_VERSION"))`...
    expect(HELLO_WORLD, "hello_world", &["--version"]);
    // ...and without it still answers, saying what it knows.
    let run = sb.run(TUTORIAL, &["--version"]);
    assert!(
        run.ok()
            .stdout
            .starts_with("tutorial (no version set; built with rystematic "),
        "{}",
        run.stdout
    );
    assert!(!sb.has_output(), "--version starts no run");
}

#[test]
fn params_files_layer_in_order_and_the_later_wins_per_key() {
    let sb = Sandbox::new();
    let base = sb.write("base.yaml", "int_param: 1\nstr_param: base\nchoice: adam\n");
    let tuned = sb.write("tuned.yaml", "int_param: 2\n");
    let base = base.to_str().unwrap();
    let tuned = tuned.to_str().unwrap();

    let values = sb
        .run(ALL_PARAMS, &["--params-file", base, "--params-file", tuned])
        .ok()
        .json();
    assert_eq!(values["int_param"], 2, "the later file wins");
    assert_eq!(values["str_param"], "base", "keys of the earlier file stay");
    assert_eq!(values["choice"], "adam");
    assert_eq!(values["params_file"], tuned, "the last file is recorded");

    // Options sit between the files in the order given.
    let values = sb
        .run(
            ALL_PARAMS,
            &[
                "--params-file",
                base,
                "--str-param",
                "between",
                "--int-param",
                "9",
                "--params-file",
                tuned,
            ],
        )
        .ok()
        .json();
    assert_eq!(values["str_param"], "between");
    assert_eq!(values["int_param"], 2);

    // The run records what it resolved (two runs may share a second, so
    // find it by content rather than by name).
    let recorded: Vec<String> = sb
        .run_dirs("all-params")
        .iter()
        .map(|dir| read(&dir.join("parameters.yaml")))
        .collect();
    assert!(
        recorded
            .iter()
            .any(|yaml| yaml.contains("int_param: 2\n") && yaml.contains("str_param: between\n")),
        "{recorded:?}"
    );
}
