//! `Sweep::launcher(SlurmLauncher)` from code, on a real SLURM
//! (scripts/slurm-start): each array task re-enters this test binary at this
//! test and runs its point. Without a cluster this says how to get one and
//! passes, unless RYSTEMATIC_REQUIRE_SLURM is set.

use rystematic::{
    Experiment, Param, Params, Run, SlurmLauncher, Sweep, SweepStatus, Value, param_matrix,
};

fn slurm_is_up() -> bool {
    let up = std::process::Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|out| {
            out.status.success()
                && String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .any(|s| matches!(s.trim(), "idle" | "mixed" | "allocated"))
        });
    if !up {
        assert!(
            std::env::var_os("RYSTEMATIC_REQUIRE_SLURM").is_none(),
            "RYSTEMATIC_REQUIRE_SLURM is set but no SLURM node is up"
        );
        eprintln!("skipped: no SLURM cluster here; start one with scripts/slurm-start");
    }
    up
}

fn work(params: &Params, run: &Run) -> anyhow::Result<()> {
    let n: i64 = params.get("n")?;
    anyhow::ensure!(n != 2, "n is 2");
    std::fs::write(run.output_dir().join("n.txt"), n.to_string())?;
    Ok(())
}

#[test]
fn a_programmatic_sweep_runs_as_one_job_array() {
    // An array task re-enters here; the sweep serves it before this check.
    let exp = Experiment::new("work", work).param(Param::int("n").required());
    let task = std::env::var_os(rystematic::CHILD_SPEC_ENV).is_some();
    if !task && !slurm_is_up() {
        return;
    }
    // A task never gets past `run` below: it needs no directory of its own.
    let tmp = (!task).then(|| tempfile::tempdir().unwrap());
    let out = tmp
        .as_ref()
        .map_or_else(|| "unused".into(), |t| t.path().to_owned());
    let points = param_matrix([
        ("n", Value::from(vec![1, 2, 3])),
        ("output_dir", Value::from(out.clone())),
    ]);
    let report = Sweep::new(&exp, points)
        .max_processes(2)
        .dir(out.join("sweep"))
        .launcher(SlurmLauncher::new().time("5"))
        .run()
        .unwrap();
    let statuses: Vec<SweepStatus> = report.runs.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            SweepStatus::Completed,
            SweepStatus::Failed,
            SweepStatus::Completed
        ]
    );
    for (run, n) in report.runs.iter().zip([1, 2, 3]) {
        let dir = run.run_dir.as_ref().unwrap();
        let info = rystematic::RunInfo::read(dir).unwrap();
        let slurm = info.slurm.expect("SLURM ids in run.json");
        assert_eq!(slurm.array_task_id, Some(run.index as u64));
        if n != 2 {
            assert_eq!(
                std::fs::read_to_string(dir.join("n.txt")).unwrap(),
                n.to_string()
            );
        }
    }
}
