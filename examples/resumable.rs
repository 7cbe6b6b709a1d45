//! A run that can be resumed in place. It works in numbered steps and keeps
//! its progress in its run directory, so when it is stopped (preempted,
//! Ctrl-C, a crash) `--resume-run` goes on from the last finished step, in
//! the same directory, with the same parameters and the seed stream going
//! on where it stopped. It opts in to `resume_on_requeue`, so a SLURM
//! sweep task that is preempted and requeued resumes its run the same way.
//!
//! ```text
//! cargo run --bin resumable -- --steps 100 --step-ms 100   # Ctrl-C after a while
//! cargo run --bin resumable -- --resume-run output/resumable/<the run>
//! ```

use std::fs::OpenOptions;
use std::io::Write as _;
use std::time::Duration;

use rystematic::{Params, Run, tracing};

#[derive(Params)]
struct Resumable {
    /// Steps in all.
    #[param(default = 5)]
    steps: u32,
    /// How long a step takes, in milliseconds.
    #[param(default = 0)]
    step_ms: u64,
}

#[rystematic::experiment(resume_on_requeue)]
fn resumable(params: Resumable, run: &Run) -> anyhow::Result<()> {
    // The progress so far: one line per finished step, `step seed`.
    let progress = run.output_dir().join("progress.txt");
    let done = std::fs::read_to_string(&progress).map_or(0, |text| text.lines().count() as u32);
    if run.attempt() > 1 {
        tracing::info!("attempt {}: {done} steps were done", run.attempt());
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&progress)?;
    for step in done + 1..=params.steps {
        let seed = run.new_seed();
        std::thread::sleep(Duration::from_millis(params.step_ms));
        writeln!(file, "{step} {seed}")?;
        file.sync_data()?;
    }
    println!("done: {} steps", params.steps);
    Ok(())
}

rystematic::main!();
