//! Another scheduler plugs in through the public `Launcher` trait: a toy
//! batch scheduler that takes the whole sweep at once, starts each job's
//! task as a process of its own with the job's spec (`Job::write_task_spec`)
//! and reports starts and ends when polled.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rystematic::{
    CHILD_SPEC_ENV, Experiment, Job, JobEvent, JobExit, LaunchError, Launcher, Param, Params, Run,
    SchedulerTask, Sweep, SweepStatus, Value, param_matrix,
};

/// Starts every job at once; each task knows its id from `TOY_TASK_ID`.
#[derive(Default)]
struct ToyScheduler {
    tasks: HashMap<usize, Child>,
    started: Vec<usize>,
}

impl Launcher for ToyScheduler {
    fn name(&self) -> &str {
        "toy"
    }

    fn capacity(&self) -> Option<usize> {
        None
    }

    fn submit(&mut self, jobs: Vec<Job>, _max: usize) -> Result<Vec<JobEvent>, LaunchError> {
        // The task's parent is this process (the toy "daemon").
        let me = std::fs::read_to_string("/proc/self/comm").unwrap();
        for job in jobs {
            let key = job.index().to_string();
            let task = SchedulerTask::new("TOY_TASK_ID", key.clone(), me.trim());
            let io = |source| LaunchError::Io {
                path: job.sweep_dir().to_owned(),
                source,
            };
            let spec = job
                .write_task_spec(job.sweep_dir(), &key, &task)
                .map_err(io)?;
            let console = std::fs::File::create(job.console()).map_err(io)?;
            let child = Command::new(job.executable())
                .args(job.args())
                .env(CHILD_SPEC_ENV, &spec)
                .env("TOY_TASK_ID", &key)
                .envs(job.env().iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(console.try_clone().map_err(io)?)
                .stderr(console)
                .spawn()
                .map_err(io)?;
            self.tasks.insert(job.index(), child);
        }
        Ok(Vec::new())
    }

    fn poll(&mut self, timeout: Duration) -> Result<Vec<JobEvent>, LaunchError> {
        let mut events = Vec::new();
        for (&index, child) in &mut self.tasks {
            if !self.started.contains(&index) {
                self.started.push(index);
                events.push(JobEvent::Started {
                    index,
                    pid: Some(child.id()),
                    host: None,
                });
            }
        }
        let ended: Vec<(usize, std::process::ExitStatus)> = self
            .tasks
            .iter_mut()
            .filter_map(|(&i, c)| Some((i, c.try_wait().ok()??)))
            .collect();
        for (index, status) in ended {
            self.tasks.remove(&index);
            events.push(JobEvent::Ended(JobExit::new(index, status.code(), None)));
        }
        if events.is_empty() {
            std::thread::sleep(timeout.min(Duration::from_millis(20)));
        }
        Ok(events)
    }

    fn in_flight(&self) -> usize {
        self.tasks.len()
    }

    fn cancel(&mut self) -> Result<(), LaunchError> {
        for child in self.tasks.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        Ok(())
    }
}

fn work(params: &Params, run: &Run) -> anyhow::Result<()> {
    let n: i64 = params.get("n")?;
    anyhow::ensure!(n != 2, "n is 2");
    let task = std::env::var("TOY_TASK_ID")?;
    std::fs::write(run.output_dir().join("task.txt"), task)?;
    Ok(())
}

#[test]
fn a_launcher_from_outside_the_crate_runs_a_sweep() {
    let exp = Experiment::new("work", work).param(Param::int("n").required());
    let tmp = tempfile::tempdir().unwrap();
    let points = param_matrix([
        ("n", Value::from(vec![1, 2, 3])),
        ("output_dir", Value::from(tmp.path().to_owned())),
    ]);
    let report = Sweep::new(&exp, points)
        .dir(tmp.path().join("sweep"))
        .launcher(ToyScheduler::default())
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
    for run in report
        .runs
        .iter()
        .filter(|r| r.status == SweepStatus::Completed)
    {
        let dir = run
            .run_dir
            .as_ref()
            .expect("the run reported its directory");
        let task = std::fs::read_to_string(dir.join("task.txt")).unwrap();
        assert_eq!(task, run.index.to_string());
    }
}
