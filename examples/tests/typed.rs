//! The typed examples behave exactly like their builder twins.

mod support;

use support::{Sandbox, read};

const HELLO: &str = env!("CARGO_BIN_EXE_hello_world");
const TYPED_HELLO: &str = env!("CARGO_BIN_EXE_typed_hello");
const NESTED: &str = env!("CARGO_BIN_EXE_nested_groups");
const TYPED_GROUPS: &str = env!("CARGO_BIN_EXE_typed_groups");

/// Output with the program's name made neutral.
fn neutral(text: &str, program: &str) -> String {
    text.replace(program, "PROGRAM")
}

fn param_keys(sb: &Sandbox) -> Vec<String> {
    read(&sb.only_run_dir("hello-world").join("parameters.yaml"))
        .lines()
        .map(|l| l.split(':').next().unwrap().to_owned())
        .collect()
}

#[test]
fn typed_hello_is_hello_world() {
    let (builder, typed) = (Sandbox::new(), Sandbox::new());
    let a = builder.run(HELLO, &["--name", "World"]);
    let b = typed.run(TYPED_HELLO, &["--name", "World"]);
    assert_eq!(a.ok().stdout, b.ok().stdout);
    assert_eq!(b.stdout, "Hello World!\n");
    let hello = |sb: &Sandbox| read(&sb.only_run_dir("hello-world").join("hello.txt"));
    assert_eq!(hello(&builder), hello(&typed));
    assert_eq!(param_keys(&builder), param_keys(&typed));

    let help_a = builder.run(HELLO, &["--help"]).ok().stdout.clone();
    let help_b = typed.run(TYPED_HELLO, &["--help"]).ok().stdout.clone();
    assert_eq!(
        neutral(&help_a, "hello_world"),
        neutral(&help_b, "typed_hello")
    );

    let err_a = builder.run(HELLO, &["--nme", "x"]);
    let err_b = typed.run(TYPED_HELLO, &["--nme", "x"]);
    assert_eq!(
        err_a.expect_code(2).error_line(),
        err_b.expect_code(2).error_line()
    );
}

#[test]
fn typed_groups_is_nested_groups() {
    let sb = Sandbox::new();
    let paths: [&[&str]; 6] = [
        &["my-experiment"],
        &["my-group2", "my-experiment2"],
        &["my-group2", "my-experiment3"],
        &["my-group2", "my-group3", "my-experiment4"],
        &["my-group2", "my-group3", "my-experiment5"],
        &["my-group2", "my-group3", "my-experiment6"],
    ];
    for path in paths {
        for extra in [&["--group-param", "x"][..], &[]] {
            let mut args = path.to_vec();
            args.extend(extra);
            let a = sb.run(NESTED, &args);
            let b = sb.run(TYPED_GROUPS, &args);
            assert_eq!(a.ok().stdout, b.ok().stdout, "{args:?}");
        }
    }
    for args in [
        &["--help"][..],
        &["my-group2", "--help"],
        &["my-group2", "my-group3", "my-experiment5", "--help"],
    ] {
        let a = sb.run(NESTED, args).ok().stdout.clone();
        let b = sb.run(TYPED_GROUPS, args).ok().stdout.clone();
        assert_eq!(
            neutral(&a, "nested_groups"),
            neutral(&b, "typed_groups"),
            "{args:?}"
        );
    }
}
