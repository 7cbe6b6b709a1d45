//! Reproducible randomness: every seed comes from the master generator,
//! which `--random-seed` (or the run's parameters.yaml) pins.
//!
//! ```text
//! cargo run --bin reproducible -- --random-seed 42
//! ```

use rystematic::{Experiment, Params, Run};

fn reproducible_experiment(params: &Params, run: &Run) -> anyhow::Result<()> {
    println!("random_seed={}", params.get::<i64>("random_seed")?);
    // Seed each of your own generators (rand, numpy, torch, ...) with one of these.
    for _ in 0..5 {
        println!("{}", run.new_seed());
    }
    Ok(())
}

fn main() {
    Experiment::new("reproducible_experiment", reproducible_experiment).cli();
}
