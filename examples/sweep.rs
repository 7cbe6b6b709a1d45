//! Parameter sweeps: `sweep` runs `work` over a 2×2 grid, two processes at
//! a time, and fails if any run failed. Each `work` run is a full run of
//! its own (run directory, parameters.yaml, log, run.json).
//!
//! ```text
//! cargo run --bin sweep -- sweep --sleep-s 0.5 --fail-on 2
//! cargo run --bin sweep -- work --sweep int_param=1..4 --sweep str_param=a,b --jobs 2
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use rystematic::{Experiment, Group, Param, Params, Run, Value, param_matrix};

fn work(params: &Params, run: &Run) -> anyhow::Result<()> {
    let int_param: i64 = params.get("int_param")?;
    // Tests use `sleep_from` and `sleep_until` to hold some runs while
    // others finish, so a signal arrives at a known point of the sweep.
    if params
        .get::<Option<i64>>("sleep_from")?
        .is_none_or(|from| int_param >= from)
    {
        sleep(
            Duration::from_secs_f64(params.get("sleep_s")?),
            params.get::<Option<PathBuf>>("sleep_until")?,
        );
    }
    let str_param: String = params.get("str_param")?;
    if let Ok(devices) = std::env::var("CUDA_VISIBLE_DEVICES") {
        tracing::info!("CUDA_VISIBLE_DEVICES={devices}");
    }
    if params.get::<Option<i64>>("fail_on")? == Some(int_param) {
        bail!("int_param is {int_param}, the value to fail on");
    }
    std::fs::write(
        run.output_dir().join("result.txt"),
        format!("{int_param}-{str_param}"),
    )?;
    Ok(())
}

/// Sleeps for `duration`, or until `until` exists.
fn sleep(duration: Duration, until: Option<PathBuf>) {
    let Some(until) = until else {
        return std::thread::sleep(duration);
    };
    let deadline = Instant::now() + duration;
    while !until.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn work_experiment() -> Experiment {
    Experiment::new("work", work)
        .param(Param::int("int_param").required())
        .param(Param::string("str_param").required())
        .param(
            Param::float("sleep_s")
                .default(0.0)
                .help("Seconds to sleep first."),
        )
        .param(Param::int("fail_on").help("Fail when int_param has this value."))
        .param(Param::int("sleep_from").help("Sleep only when int_param is at least this."))
        .param(Param::path("sleep_until").help("Stop sleeping once this file exists."))
}

fn sweep_experiment(work: Experiment) -> Experiment {
    Experiment::new("sweep", move |params: &Params, run: &Run| {
        let grid = param_matrix([
            ("int_param", Value::from(vec![1, 2])),
            ("str_param", Value::from(vec!["hello", "world"])),
            (
                "fail_on",
                params.value("fail_on").cloned().unwrap_or(Value::Null),
            ),
            (
                "sleep_s",
                params.value("sleep_s").cloned().unwrap_or(Value::Null),
            ),
        ]);
        let report = run.run_parameter_sweep(&work, grid, 2)?;
        println!("{report}");
        ensure!(
            report.all_completed(),
            "{} of {} runs failed",
            report.failed(),
            report.runs.len()
        );
        Ok(())
    })
    .param(Param::int("fail_on").help("Passed to every work run."))
    .param(
        Param::float("sleep_s")
            .default(0.0)
            .help("Passed to every work run."),
    )
}

fn main() {
    let work = work_experiment();
    Group::new("sweep")
        .experiment(work.clone())
        .experiment(sweep_experiment(work))
        .cli();
}
