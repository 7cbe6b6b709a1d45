//! Recording metrics: scalars every step, an image, a figure, text and
//! hyperparameters, as TensorBoard event files and plain files, then a
//! checkpoint — which a later run can start from, and a stopped run goes on
//! from (`--resume-run`: the recorder appends after the steps it has).
//!
//! ```text
//! cargo run --bin recorder -- --steps 1000
//! tensorboard --logdir output/recorder
//! cargo run --bin recorder -- --steps 1500 --checkpoint output/recorder/<run>/checkpoint-1000.cbor
//! cargo run --bin recorder -- --steps 1000 --checkpoint-every 100 --step-ms 10   # Ctrl-C mid-way
//! cargo run --bin recorder -- --resume-run output/recorder/<that run>
//! ```

use rystematic::{Params, Run};
use rystematic_recorder::{Image, LineChart, RecorderState, RunRecorder};
use serde::{Deserialize, Serialize};

#[derive(Params)]
struct Training {
    /// The step to stop before (a run started from a checkpoint goes on
    /// from the checkpoint's step).
    #[param(default = 1000)]
    steps: u64,
    /// Also save a checkpoint every this many steps (0: only at the end).
    #[param(default = 0)]
    checkpoint_every: u64,
    /// How long a step takes, in milliseconds.
    #[param(default = 0)]
    step_ms: u64,
}

/// What the checkpoint holds.
#[derive(Serialize, Deserialize)]
struct Checkpoint {
    step: u64,
    loss: f64,
    recorder: RecorderState,
}

/// A 64×64 RGB gradient that changes with the step.
fn sample_image(step: u64) -> Vec<u8> {
    (0..64u32 * 64)
        .flat_map(|i| {
            let (x, y) = (i % 64, i / 64);
            [(x * 4) as u8, (y * 4) as u8, (step % 256) as u8]
        })
        .collect()
}

#[rystematic::experiment]
fn recorder(params: Training, run: &Run) -> anyhow::Result<()> {
    let recorder = run.recorder();
    let steps = params.steps;
    let first = match run.start_checkpoint::<Checkpoint>()? {
        Some(checkpoint) => {
            recorder.restore(&checkpoint.recorder);
            checkpoint.step
        }
        None => 0,
    };
    let todo = steps.saturating_sub(first);
    recorder.text("notes", &format!("Training for {todo} steps."))?;
    let mut curve = Vec::with_capacity(todo as usize);
    let mut loss = f64::NAN;
    for step in first..steps {
        loss = 1.0 / (1.0 + step as f64);
        let acc = step as f64 / steps as f64;
        recorder.scalars([("train/loss", loss), ("train/acc", acc)]);
        curve.push((step as f64, loss));
        if step + 1 == steps {
            recorder.image("samples/last", &Image::rgb(64, 64, &sample_image(step))?)?;
        }
        if params.step_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(params.step_ms));
        }
        recorder.step()?;
        let done = step + 1;
        if params.checkpoint_every > 0
            && done.is_multiple_of(params.checkpoint_every)
            && done < steps
        {
            let state = Checkpoint {
                step: done,
                loss,
                recorder: recorder.state(),
            };
            run.save_checkpoint(&state, done)?;
        }
    }
    let chart = LineChart::new("Training loss")
        .x_label("step")
        .y_label("loss")
        .series("train/loss", curve);
    recorder.figure("curves/loss", &chart)?;
    let hparams = run
        .params()
        .iter()
        .filter(|(name, _)| ["steps", "random_seed"].contains(name));
    recorder.hparams(hparams, &[("final/loss", loss), ("final/acc", 1.0)])?;
    let state = Checkpoint {
        step: steps,
        loss,
        recorder: recorder.state(),
    };
    if let Some(path) = run.save_checkpoint(&state, steps)? {
        tracing::info!("saved {}", path.display());
    }
    Ok(())
}

rystematic::main!();
