//! How failures are reported: an error (with its cause chain) or a panic is
//! logged to the console and log.txt, run.json says "failed", exit code 1.
//!
//! ```text
//! cargo run --bin failing -- --mode panic
//! ```

use anyhow::{Context, bail};
use rystematic::{Experiment, Param, Params, Run};

fn failing(params: &Params, _run: &Run) -> anyhow::Result<()> {
    match params.get::<String>("mode")?.as_str() {
        "ok" => Ok(()),
        "error" => {
            let root: anyhow::Result<()> = Err(anyhow::anyhow!("the root cause"));
            root.context("deliberate failure")
        }
        "panic" => panic!("deliberate panic"),
        other => bail!("unreachable mode {other}"),
    }
}

fn main() {
    Experiment::new("failing", failing)
        .param(
            Param::string("mode")
                .allowed_values(["ok", "error", "panic"])
                .default("error")
                .help("How the run ends."),
        )
        .cli();
}
