//! The recorder as an extension, through rystematic's own run lifecycle.

use std::path::Path;
use std::sync::Mutex;

use rystematic::{Experiment, Params, Run, Value};
use rystematic_recorder::RunRecorder;

static TURN: Mutex<()> = Mutex::new(());

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[cfg(feature = "tensorboard")] // checks the event file / the default backends
#[test]
fn a_failing_run_still_flushes_what_it_recorded() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let exp = Experiment::new("fails", |_: &Params, run: &Run| {
        for i in 0..10 {
            // No step(): nothing is flushed until the run ends.
            run.recorder().scalar("x", f64::from(i));
        }
        anyhow::bail!("diverged")
    });
    let err = exp
        .run([("output_dir", Value::from(tmp.path().to_owned()))])
        .unwrap_err();
    let rystematic::Error::Failed { output_dir, .. } = err else {
        panic!("{err}")
    };
    let csv = std::fs::read_to_string(output_dir.join("scalars.csv")).unwrap();
    assert_eq!(csv.lines().count(), 11, "{csv}");
    let events = files(&output_dir)
        .into_iter()
        .find(|n| n.starts_with("events.out.tfevents."))
        .unwrap();
    let size = std::fs::metadata(output_dir.join(events)).unwrap().len();
    assert!(
        size > 10 * 20,
        "ten scalar records after the header ({size} bytes)"
    );
}

#[test]
fn subprocesses_of_rank_above_zero_record_nothing() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let exp = Experiment::new("ranked", |_: &Params, run: &Run| {
        let recorder = run.recorder();
        assert!(recorder.is_silent());
        recorder.scalar("x", 1.0);
        recorder.step()?;
        assert_eq!(run.save_checkpoint(&1u8, "a")?, None);
        Ok::<_, anyhow::Error>(())
    });
    // What launch_subprocess gives rank 1.
    exp.run([
        (
            "subprocess",
            Value::from(tmp.path().join("parameters.yaml")),
        ),
        ("local_rank", Value::from(1)),
    ])
    .unwrap();
    assert_eq!(files(tmp.path()), ["log.rank-1.txt"]);
}

#[cfg(feature = "tensorboard")] // checks the event file / the default backends
#[test]
fn the_recorder_parameter_is_on_every_experiment() {
    let exp = Experiment::new("any", |_: &Params, _: &Run| Ok::<_, anyhow::Error>(()));
    let help = exp
        .try_cli_from(["prog", "--help"])
        .unwrap_err()
        .to_string();
    assert!(
        help.contains("--recorder-backends [<tensorboard|files|console>...]"),
        "{help}"
    );
    assert!(help.contains("Default: tensorboard files"), "{help}");
}
