//! What a newcomer meets first on the command line: versions, help text,
//! several params files, how a failure is reported.

mod support;

use support::{Sandbox, read};

const ALL_PARAMS: &str = env!("CARGO_BIN_EXE_all_params");

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
