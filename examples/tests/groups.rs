//! Groups end to end through `nested_groups`: dispatch at every depth,
//! inherited parameters, the help tree, errors and completions.

mod support;

use support::Sandbox;

const NESTED: &str = env!("CARGO_BIN_EXE_nested_groups");

#[test]
fn every_experiment_is_reachable_and_inherits_the_group_param() {
    let sb = Sandbox::new();
    let cases: [(&[&str], &str); 6] = [
        (&["my-experiment"], ""),
        (&["my-group2", "my-experiment2"], "2"),
        (&["my-group2", "my-experiment3"], "3"),
        (&["my-group2", "my-group3", "my-experiment4"], "4"),
        (&["my-group2", "my-group3", "my-experiment5"], "5"),
        (&["my-group2", "my-group3", "my-experiment6"], "6"),
    ];
    for (path, n) in cases {
        let mut args = path.to_vec();
        args.extend(["--group-param", "x"]);
        let run = sb.run(NESTED, &args);
        assert_eq!(
            run.ok().stdout,
            format!("Hello from my_experiment{n}\ngroup_param is x\n")
        );
        assert_eq!(sb.run_dirs(&format!("my-experiment{n}")).len(), 1);
    }
    let run = sb.run(NESTED, &["my_group2", "my_experiment2"]);
    assert_eq!(
        run.ok().stdout,
        "Hello from my_experiment2\ngroup_param is null\n"
    );
}

#[test]
fn group_help_lists_the_experiment_tree() {
    let sb = Sandbox::new();
    let run = sb.run(NESTED, &["--help"]);
    let expected_tree = "\
Experiments:
  my-experiment
  my-group2
    my-experiment2
    my-experiment3
    my-group3
      my-experiment4
      my-experiment5
      my-experiment6
";
    assert!(run.ok().stdout.contains(expected_tree), "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("Usage: nested_groups <EXPERIMENT> [OPTIONS]"),
        "{}",
        run.stdout
    );

    let run = sb.run(NESTED, &["my-group2", "my-group3", "--help"]);
    assert!(
        run.ok()
            .stdout
            .starts_with("Usage: nested_groups my-group2 my-group3 <EXPERIMENT>"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  my-experiment4\n  my-experiment5\n"),
        "{}",
        run.stdout
    );
    assert!(!sb.has_output());
}

#[test]
fn experiment_help_inside_a_group_shows_inherited_params() {
    let sb = Sandbox::new();
    let run = sb.run(NESTED, &["my-group2", "my-experiment3", "--help"]);
    assert!(
        run.ok()
            .stdout
            .starts_with("Usage: nested_groups my-group2 my-experiment3 [OPTIONS]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("--group-param <TEXT>"),
        "{}",
        run.stdout
    );
}

#[test]
fn missing_or_unknown_experiments_are_usage_errors() {
    let sb = Sandbox::new();
    let run = sb.run(NESTED, &[]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("Experiments:"),
        "help on stderr: {}",
        run.stderr
    );

    let run = sb.run(NESTED, &["my-group2", "nope"]);
    run.expect_code(2);
    assert_eq!(
        run.error_line(),
        "error: unknown experiment or group 'nope' (expected one of: my-experiment2, \
         my-experiment3, my-group3)"
    );
    let run = sb.run(NESTED, &["--group-param", "x"]);
    run.expect_code(2);
    assert!(
        run.error_line().contains("'--group-param'"),
        "{}",
        run.stderr
    );
    let run = sb.run(NESTED, &["my-experiment", "--nope"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("Usage: nested_groups my-experiment "),
        "{}",
        run.stderr
    );
    assert!(!sb.has_output());
}

#[test]
fn completions_cover_the_whole_tree() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = sb.run(NESTED, &["--completions", shell]);
        for word in ["my-group2", "my-group3", "my-experiment6", "group-param"] {
            assert!(run.ok().stdout.contains(word), "{shell} lacks {word}");
        }
    }
}
