//! Subprocesses: the main process (rank 0) launches three copies of the
//! experiment that share its run directory, each with its own rank and log.
//!
//! ```text
//! cargo run --bin subprocesses
//! cargo run --bin subprocesses -- --linger   # children still running at the end are stopped
//! cargo run --bin subprocesses -- --hold     # children sleep a minute; the main process waits
//! ```

use std::time::Duration;

use rystematic::{Experiment, Param, Params, Run};

fn subprocesses(params: &Params, run: &Run) -> anyhow::Result<()> {
    let rank = run.local_rank();
    let linger: bool = params.get("linger")?;
    let hold: bool = params.get("hold")?;
    if run.is_subprocess()
        && let Some(script) = params.get::<Option<String>>("shell")?
    {
        // A program a subprocess starts inherits its environment, a
        // rystematic program included: it must run normally.
        let status = std::process::Command::new("sh")
            .args(["-c", &script])
            .status()?;
        anyhow::ensure!(status.success(), "`{script}` failed: {status}");
    }
    if !run.is_subprocess() {
        let children = (0..3)
            .map(|_| run.launch_subprocess())
            .collect::<Result<Vec<_>, _>>()?;
        if linger {
            // Return once they are all busy, without waiting for them.
            let started = |r: u32| run.output_dir().join(format!("rank-{r}.txt")).exists();
            while !(1..=3).all(started) {
                std::thread::sleep(Duration::from_millis(10));
            }
        } else {
            for child in children {
                let status = child.wait();
                anyhow::ensure!(status.success(), "a subprocess failed: {status}");
            }
        }
    }
    tracing::info!("rank {rank}");
    std::fs::write(
        run.output_dir().join(format!("rank-{rank}.txt")),
        format!("{rank}\n"),
    )?;
    if (linger || hold) && run.is_subprocess() {
        std::thread::sleep(Duration::from_secs(60));
    }
    Ok(())
}

fn main() {
    Experiment::new("subprocesses", subprocesses)
        .param(Param::flag("linger").help(
            "Subprocesses sleep a minute and the main process does not wait: \
             they are stopped when it ends.",
        ))
        .param(Param::flag("hold").help("Subprocesses sleep a minute; the main process waits."))
        .param(Param::string("shell").help("A shell command each subprocess runs first."))
        .cli();
}
