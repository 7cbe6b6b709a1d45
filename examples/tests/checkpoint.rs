//! The recorder's `checkpoint` parameter: a run starts where an earlier
//! run's checkpoint left off, with one call.

mod support;

use support::{Sandbox, read, run_json};

const RECORDER: &str = env!("CARGO_BIN_EXE_recorder");

/// The steps of `train/loss` in a run's `scalars.csv`.
fn steps(dir: &std::path::Path) -> Vec<u64> {
    read(&dir.join("scalars.csv"))
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(',');
            let step = fields.next()?;
            (fields.next()? == "train/loss").then(|| step.parse().unwrap())
        })
        .collect()
}

#[test]
fn a_run_starts_from_the_checkpoint_it_is_given() {
    let sb = Sandbox::new();
    sb.run(RECORDER, &["--steps", "5", "--recorder-backends", "files"])
        .ok();
    let first = sb.only_run_dir("recorder");
    let checkpoint = first.join("checkpoint-5.cbor");
    assert_eq!(steps(&first), [0, 1, 2, 3, 4]);

    let path = checkpoint.to_str().unwrap();
    sb.run(
        RECORDER,
        &[
            "--steps",
            "8",
            "--recorder-backends",
            "files",
            "--checkpoint",
            path,
        ],
    )
    .ok();
    let second = sb
        .run_dirs("recorder")
        .into_iter()
        .find(|dir| *dir != first)
        .expect("a second run");
    assert_eq!(
        steps(&second),
        [5, 6, 7],
        "the recorder goes on from the checkpoint"
    );
    let params = read(&second.join("parameters.yaml"));
    assert!(
        params.contains(&format!("checkpoint: {path}\n")),
        "{params}"
    );
    assert!(second.join("checkpoint-8.cbor").is_file());
}

#[test]
fn a_checkpoint_that_cannot_be_read_fails_the_run_naming_the_file() {
    let sb = Sandbox::new();
    let bogus = sb.write("bogus.cbor", "not cbor");
    let run = sb.run(
        RECORDER,
        &["--steps", "2", "--checkpoint", bogus.to_str().unwrap()],
    );
    run.expect_code(1);
    let dir = sb.only_run_dir("recorder");
    let info = run_json(&dir);
    assert_eq!(info["status"], "failed");
    assert!(
        info["error"].as_str().unwrap().contains("bogus.cbor"),
        "{info}"
    );
}
