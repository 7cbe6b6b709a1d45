//! The sweep benchmark's experiment: `sweep` runs `work` over 20 values on
//! 2 processes with `run_parameter_sweep`, exactly as bench/py/sweep_bench.py
//! does with pystematic. `work` only writes one small file.

use rystematic::{Experiment, Group, Param, Params, Run, Value, param_matrix};

fn work(params: &Params, run: &Run) -> anyhow::Result<()> {
    let n: i64 = params.get("int_param")?;
    std::fs::write(run.output_dir().join("result.txt"), n.to_string())?;
    Ok(())
}

fn main() {
    let work = Experiment::new("work", work).param(Param::int("int_param").required());
    let runs: i64 = std::env::var("SWEEP_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let sweep_work = work.clone();
    let sweep = Experiment::new("sweep", move |_: &Params, run: &Run| {
        let grid = param_matrix([("int_param", Value::from((0..runs).collect::<Vec<_>>()))]);
        let report = run.run_parameter_sweep(&sweep_work, grid, 2)?;
        anyhow::ensure!(report.all_completed(), "{report}");
        Ok(())
    });
    Group::new("sweep_bench")
        .experiment(work)
        .experiment(sweep)
        .cli();
}
