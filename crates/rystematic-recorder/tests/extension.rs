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

/// Saves checkpoints 1..=steps (the step done), failing after
/// `fail_after` steps on the first attempt; records each step and
/// where it started from.
fn stepping(fail_after: u64) -> Experiment {
    Experiment::new("stepping", move |_: &Params, run: &Run| {
        let recorder = run.recorder();
        let first = run.start_checkpoint::<u64>()?.unwrap_or(0);
        std::fs::write(run.output_dir().join("started-from"), first.to_string())?;
        // Goes back one step before its checkpoint, as a run replaying
        // from an older checkpoint would.
        recorder.set_count(first.saturating_sub(1));
        for step in first.saturating_sub(1)..6 {
            recorder.scalar("x", step as f64);
            recorder.step()?;
            run.save_checkpoint(&(step + 1), step + 1)?;
            if run.attempt() == 1 && step + 1 == fail_after {
                anyhow::bail!("stopped after {fail_after}");
            }
        }
        Ok::<_, anyhow::Error>(())
    })
}

#[test]
fn a_resumed_run_starts_from_its_latest_checkpoint_and_records_each_step_once() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile::tempdir().unwrap();
    let output_dir = [("output_dir", out.path().to_owned())];
    stepping(4).run(output_dir.clone()).unwrap_err();
    let dir = std::fs::read_dir(out.path().join("stepping"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let summary = stepping(4)
        .resume_run(&dir, Vec::<(String, Value)>::new())
        .unwrap();
    assert_eq!(summary.output_dir, dir);
    let info = std::fs::read_to_string(dir.join("run.json")).unwrap();
    assert!(info.contains("\"attempt\": 2"), "{info}");
    assert_eq!(
        std::fs::read_to_string(dir.join("started-from")).unwrap(),
        "4",
        "the latest of checkpoint-1..4"
    );
    let csv = std::fs::read_to_string(dir.join("scalars.csv")).unwrap();
    let steps: Vec<&str> = csv.lines().filter_map(|l| l.split(',').next()).collect();
    assert_eq!(steps, ["step", "0", "1", "2", "3", "4", "5"], "{csv}");
}

/// A state whose serialisation asks the recorder (its step count).
struct Counted<'a>(&'a rystematic_recorder::Recorder);

impl serde::Serialize for Counted<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0.count())
    }
}

#[test]
fn a_state_may_use_the_recorder_while_it_is_saved() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile::tempdir().unwrap();
    let exp = Experiment::new("counted", |_: &Params, run: &Run| {
        run.recorder().set_count(7);
        let path = run.save_checkpoint(&Counted(run.recorder()), "c")?;
        let saved: u64 = rystematic_recorder::load_checkpoint(&path.unwrap())?;
        anyhow::ensure!(saved == 7, "saved {saved}");
        Ok(())
    });
    exp.run([("output_dir", out.path().to_owned())]).unwrap();
}
