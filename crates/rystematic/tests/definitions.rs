//! Definitions the way pystematic's own test suite exercises them: parameter
//! groups, inheritance diamonds, flags that default to on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use rystematic::{Experiment, HasParams, Param, ParamGroup, Params, Run};

fn noop(_: &Params, _: &Run) -> anyhow::Result<()> {
    Ok(())
}

/// The panic message of a definition mistake.
fn definition_error(define: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(define)).expect_err("the definition is refused");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn a_second_param_group_with_a_used_title_is_refused() {
    let message = definition_error(|| {
        let _ = Experiment::new("e", noop)
            .param_group(ParamGroup::new("Optimiser").param(Param::float("lr")))
            .param_group(ParamGroup::new("Optimiser").param(Param::float("momentum")));
    });
    assert!(
        message.contains("a parameter group titled \"Optimiser\" already exists"),
        "{message}"
    );
    // Adding to an existing section is what `param_in` is for.
    let exp = Experiment::new("e", noop)
        .param_group(ParamGroup::new("Optimiser").param(Param::float("lr")))
        .param_in("Optimiser", Param::float("momentum"));
    assert!(exp.param_set().iter().any(|p| p.name() == "momentum"));
}

#[test]
fn a_param_group_holding_one_name_twice_is_refused_where_it_is_added() {
    let message = definition_error(|| {
        let _ = ParamGroup::new("Data")
            .param(Param::string("path"))
            .param(Param::int("path"));
    });
    assert!(message.contains("parameter group \"Data\""), "{message}");
    assert!(message.contains("`path`"), "{message}");
}

#[test]
fn the_same_definition_inherited_twice_is_kept_once() {
    // One definition declared on two experiments, both inherited by a third:
    // a diamond, as pystematic's shared parameter decorators make.
    let shared = Param::int("batch_size").default(32).help("Batch size.");
    let a = Experiment::new("a", noop).param(shared.clone());
    let b = Experiment::new("b", noop).param(shared);
    let c = Experiment::new("c", noop)
        .inherit_params(&a)
        .inherit_params(&b);
    let count = c
        .param_set()
        .iter()
        .filter(|p| p.name() == "batch_size")
        .count();
    assert_eq!(count, 1);

    // Two different definitions under one name stay a clash.
    let other = Experiment::new("d", noop).param(Param::int("batch_size").default(64));
    let message = definition_error(|| {
        let _ = Experiment::new("c", noop)
            .inherit_params(&a)
            .inherit_params(&other);
    });
    assert!(message.contains("batch_size"), "{message}");
}

#[test]
fn a_flag_may_default_to_on_and_no_flag_turns_it_off() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let tmp = tempfile::tempdir().unwrap();
    let exp = Experiment::new("train", move |params: &Params, _: &Run| {
        record.lock().unwrap().push(params.get::<bool>("cuda")?);
        Ok::<_, anyhow::Error>(())
    })
    .param(Param::flag("cuda").default(true).help("Use CUDA."));
    let output = tmp.path().to_str().unwrap();
    for args in [&[][..], &["--no-cuda"], &["--no-cuda", "--cuda"]] {
        let mut argv = vec!["prog", "--output-dir", output];
        argv.extend(args.iter());
        exp.try_cli_from(argv).unwrap();
    }
    assert_eq!(*seen.lock().unwrap(), [true, false, true]);
}
