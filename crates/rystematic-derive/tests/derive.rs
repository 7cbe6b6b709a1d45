//! What the derives and the attribute generate, checked through the real
//! API: help output, resolution, conversion back into the struct.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rystematic::{Experiment, ParamEnum, Params, Run, Value};

#[derive(ParamEnum, Debug, PartialEq, Clone, Copy)]
enum Optimiser {
    Sgd,
    AdamW,
    #[param(rename = "rms")]
    RmsProp,
}

#[derive(Params, Debug, PartialEq)]
struct Common {
    /// Print every step.
    #[param(group = "Common")]
    verbose: bool,
}

#[derive(Params, Debug, PartialEq)]
struct All {
    /// How many.
    count: u32,
    /// The rate.
    #[param(default = 0.5)]
    rate: f64,
    label: Option<String>,
    tags: Vec<String>,
    #[param(default = Optimiser::AdamW)]
    optimiser: Optimiser,
    #[param(env = "DERIVE_TEST_PATH")]
    path: Option<PathBuf>,
    #[param(hidden, default = 3)]
    secret: i64,
    #[param(rename = "renamed_field")]
    original: Option<i32>,
    #[param(default_help = "<auto>", default = 1)]
    auto: u8,
    #[param(allow_from_file = false, help = "Explicit help.")]
    local: Option<String>,
    #[param(group = "Extra")]
    extra: Option<f32>,
    choices: Vec<Optimiser>,
    #[param(flatten)]
    common: Common,
}

/// One experiment runs per process at a time: the tests take turns.
static TURN: Mutex<()> = Mutex::new(());

/// Runs an experiment over `All` with `values`, returning what main saw.
fn run_with(values: Vec<(&str, Value)>) -> Result<All, rystematic::Error> {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let seen = Arc::new(Mutex::new(None));
    let record = seen.clone();
    let exp = Experiment::typed("all", move |p: All, _run: &Run| {
        *record.lock().unwrap() = Some(p);
        Ok::<_, anyhow::Error>(())
    });
    let tmp = tempfile::tempdir().unwrap();
    let mut values = values;
    values.push(("output_dir", Value::from(tmp.path().to_owned())));
    exp.run(values)?;
    Ok(seen.lock().unwrap().take().unwrap())
}

fn help() -> String {
    let exp = Experiment::typed("all", |_: All, _: &Run| Ok::<_, anyhow::Error>(()));
    exp.try_cli_from(["prog", "--help"])
        .unwrap_err()
        .to_string()
}

#[test]
fn fields_become_parameters_with_their_docs_and_attributes() {
    let help = help();
    for line in [
        "--count <INT>",
        "How many. Required.",
        "--rate <FLOAT>",
        "The rate. Default: 0.5",
        "--label <TEXT>",
        "--tags [<TEXT>...]",
        "--optimiser <sgd|adam-w|rms>",
        "Default: adam-w",
        "--path <PATH>",
        "[env: DERIVE_TEST_PATH]",
        "--renamed-field <INT>",
        "Default: <auto>",
        "Explicit help.",
        "--choices [<sgd|adam-w|rms>...]",
        "Common:",
        "--verbose",
        "Print every step.",
        "Extra:",
        "--extra <FLOAT>",
    ] {
        assert!(help.contains(line), "{line:?} missing from:\n{help}");
    }
    assert!(!help.contains("--secret"), "hidden:\n{help}");
    assert!(!help.contains("--original"), "renamed:\n{help}");
    assert!(
        help.find("Common:").unwrap() < help.find("Extra:").unwrap() || help.contains("Extra:")
    );
}

#[test]
fn resolved_values_convert_into_the_struct() {
    let all = run_with(vec![
        ("count", Value::from(4)),
        ("tags", Value::from(vec!["a", "b"])),
        ("optimiser", Value::from("SGD")),
        ("renamed_field", Value::from(-2)),
        ("choices", Value::from(vec!["rms", "adam-w"])),
        ("verbose", Value::from(true)),
        ("secret", Value::from(9)),
    ])
    .unwrap();
    assert_eq!(
        all,
        All {
            count: 4,
            rate: 0.5,
            label: None,
            tags: vec!["a".into(), "b".into()],
            optimiser: Optimiser::Sgd,
            path: None,
            secret: 9,
            original: Some(-2),
            auto: 1,
            local: None,
            extra: None,
            choices: vec![Optimiser::RmsProp, Optimiser::AdamW],
            common: Common { verbose: true },
        }
    );
}

#[test]
fn a_plain_field_without_default_is_required() {
    let err = run_with(vec![]).unwrap_err();
    assert_eq!(err.to_string(), "missing required value for '--count'");
    // A value the field's type cannot hold is bad input, caught before the
    // run starts.
    let err = run_with(vec![("count", Value::from(-1))]).unwrap_err();
    assert!(matches!(err, rystematic::Error::Usage(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "invalid value '-1' for 'count': -1 is out of range for u32"
    );
}

#[test]
fn enum_values_are_checked_and_displayed() {
    let err = run_with(vec![
        ("count", Value::from(1)),
        ("optimiser", Value::from("adam")),
    ])
    .unwrap_err();
    assert!(
        err.to_string().contains("not one of sgd, adam-w, rms"),
        "{err}"
    );
    assert_eq!(Optimiser::RmsProp.to_string(), "rms");
    assert_eq!(Value::from(Optimiser::AdamW), Value::from("adam-w"));
    assert_eq!(Optimiser::NAMES, ["sgd", "adam-w", "rms"]);
}

/// Registers `registered_probe` for the lookup test below.
#[rystematic::experiment(name = "probe", group = "outer/inner", defaults(rate = 0.25))]
fn registered_probe(_params: All, _run: &Run) -> anyhow::Result<()> {
    Ok(())
}

/// An experiment without a `run` argument.
#[rystematic::experiment]
fn no_run_argument(_params: Common) -> anyhow::Result<()> {
    Ok(())
}

#[test]
fn the_attribute_registers_experiments_with_their_options() {
    let probe = rystematic::registered("outer/inner/probe").expect("registered");
    assert_eq!(probe.name(), "probe");
    assert_eq!(probe.group_path(), ["program", "outer", "inner"]);
    let help = probe
        .try_cli_from(["prog", "--help"])
        .unwrap_err()
        .to_string();
    assert!(help.contains("Default: 0.25"), "{help}");
    assert!(
        rystematic::registered("probe").is_some(),
        "a unique name finds it too"
    );
    let plain = rystematic::registered("no-run-argument").expect("registered");
    assert_eq!(plain.group_path(), ["program"]);
    assert!(rystematic::registered("nope").is_none());
}

#[derive(Params, Debug, PartialEq)]
struct Device {
    /// Use CUDA (pystematic-torch's flag, on unless `--no-cuda`).
    #[param(default = true)]
    cuda: bool,
}

#[test]
fn a_bool_field_may_default_to_true_and_no_flag_clears_it() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let exp = Experiment::typed("device", move |p: Device, _run: &Run| {
        record.lock().unwrap().push(p.cuda);
        Ok::<_, anyhow::Error>(())
    });
    let tmp = tempfile::tempdir().unwrap();
    let output = tmp.path().to_str().unwrap();
    exp.try_cli_from(["prog", "--output-dir", output]).unwrap();
    exp.try_cli_from(["prog", "--output-dir", output, "--no-cuda"])
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), [true, false]);
}
