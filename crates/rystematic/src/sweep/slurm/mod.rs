//! [`SlurmLauncher`]: a sweep as a SLURM job array (or, past the
//! cluster's `MaxArraySize`, several).
//!
//! The sweep's runs go to SLURM with one `sbatch --array=<runs>%<jobs>`;
//! the array task id is the run's index in the sweep, so a resume can
//! submit just the runs that did not complete. (Task ids must be below the
//! cluster's `MaxArraySize`: a larger sweep goes as several arrays whose
//! task ids count from an offset, see [`arrays`].) Each run's spec is a
//! file in `<sweep>/slurm/`, keyed by its index; the batch script `exec`s
//! this program with it (no `srun`: a step costs seconds per task), and the
//! task's console goes to `<sweep>/run-<index>.out` as for local runs.
//!
//! A task records its own start and end (its run directory, its report
//! file, `run.json`); the sweep polls those and `squeue`, which tells it of
//! tasks that ended without writing (cancelled, timed out, node failure).
//! The array's job ids are kept in `<sweep>/slurm/jobs.json`, so a later
//! command can follow, resume or cancel the sweep.

mod arrays;
mod commands;
mod follow;
mod jobs;
mod outcome;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use arrays::Array;
pub(crate) use commands::shell_quote;
pub(crate) use follow::settle;
pub use follow::status;
use jobs::{ArrayRecord, JobsRecord};
use outcome::outcome;

use super::launcher::{Job, JobEvent, LaunchError, Launcher, SchedulerTask, task_spec_path};
use super::previous::report_path;
use crate::clock;
use crate::fs::write_atomic;
use crate::process::spec::{self, SPEC_PREFIX, SPEC_SUFFIX};
use crate::rundir::info::{RunInfo, RunStatus, timestamp};
use commands::TaskState;

/// The directory in a sweep directory that holds what SLURM needs.
const SLURM_DIR: &str = "slurm";
/// The record of the arrays submitted for a sweep.
const JOBS_FILE: &str = "jobs.json";
/// How often the tasks' files are looked at.
const INTERVAL: Duration = Duration::from_millis(100);
/// How often `squeue` is asked: each call is a request to the cluster's
/// controller, which a busy cluster's admins want rare. A run that ends by
/// itself is seen in its files sooner; `squeue` is for tasks that could not
/// write (cancelled, killed, a node lost) and for requeues.
const SQUEUE_INTERVAL: Duration = Duration::from_secs(1);
/// How long `squeue` may fail (a controller restarting) before the sweep
/// gives up following its tasks.
const SQUEUE_PATIENCE: Duration = Duration::from_secs(60);
/// How long a cancel waits for SLURM to end the tasks (past its `KillWait`).
const CANCEL_PATIENCE: Duration = Duration::from_secs(90);

/// Resources and options for the job array, as `sbatch` flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct SlurmOptions {
    partition: Option<String>,
    time: Option<String>,
    cpus_per_task: Option<u32>,
    mem: Option<String>,
    gpus_per_task: Option<String>,
    account: Option<String>,
    qos: Option<String>,
    extra: Vec<String>,
}

impl SlurmOptions {
    fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        let mut add = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                flags.push(format!("--{name}={value}"));
            }
        };
        add("partition", &self.partition);
        add("time", &self.time);
        add("cpus-per-task", &self.cpus_per_task.map(|n| n.to_string()));
        add("mem", &self.mem);
        add("gpus-per-task", &self.gpus_per_task);
        add("account", &self.account);
        add("qos", &self.qos);
        flags.extend(self.extra.iter().cloned());
        flags
    }
}

/// Runs a sweep as one SLURM job array: one `sbatch`, one array task per
/// run, at most [`Sweep::max_processes`](super::Sweep::max_processes) tasks
/// at once (`--array=…%N`). A sweep larger than the cluster's
/// `MaxArraySize` goes as several arrays, one after another.
///
/// ```no_run
/// # use rystematic::{Experiment, Sweep, SlurmLauncher, param_matrix, Value};
/// # let work = Experiment::new("work", |_, _| Ok::<_, anyhow::Error>(()));
/// let slurm = SlurmLauncher::new().partition("gpu").time("1:00:00").gpus_per_task("1");
/// let report = Sweep::new(&work, param_matrix([("lr", Value::from(vec![0.1, 0.01]))]))
///     .max_processes(8)
///     .launcher(slurm)
///     .run()?;
/// # Ok::<_, rystematic::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct SlurmLauncher {
    options: SlurmOptions,
    /// The sweep directory, once jobs were submitted.
    dir: Option<PathBuf>,
    /// The arrays this launcher submitted or follows.
    jobs: Vec<String>,
    /// Tasks submitted and not ended, by run index.
    tasks: BTreeMap<usize, Task>,
    /// Since when `squeue` fails, if it does.
    squeue_failing: Option<Instant>,
    /// When `squeue` last answered.
    squeue_asked: Option<Instant>,
}

/// A task in flight.
#[derive(Debug, Clone)]
struct Task {
    /// Its array's job id.
    job: String,
    /// Its task id in that array.
    task_id: u64,
    /// The run directory its latest attempt reported (a requeued task
    /// reports a new one).
    run_dir: Option<PathBuf>,
}

impl SlurmLauncher {
    /// A launcher with SLURM's defaults for every resource.
    pub fn new() -> SlurmLauncher {
        SlurmLauncher::default()
    }

    /// The partition (`--partition`).
    pub fn partition(mut self, partition: impl Into<String>) -> SlurmLauncher {
        self.options.partition = Some(partition.into());
        self
    }

    /// Each task's time limit, in any form `sbatch --time` takes
    /// (`30`, `1:00:00`, `2-00:00:00`).
    pub fn time(mut self, time: impl Into<String>) -> SlurmLauncher {
        self.options.time = Some(time.into());
        self
    }

    /// CPUs for each task (`--cpus-per-task`).
    pub fn cpus_per_task(mut self, cpus: u32) -> SlurmLauncher {
        self.options.cpus_per_task = Some(cpus);
        self
    }

    /// Memory for each task (`--mem`, e.g. `4G`).
    pub fn mem(mut self, mem: impl Into<String>) -> SlurmLauncher {
        self.options.mem = Some(mem.into());
        self
    }

    /// GPUs for each task (`--gpus-per-task`, e.g. `1` or `a100:2`).
    pub fn gpus_per_task(mut self, gpus: impl Into<String>) -> SlurmLauncher {
        self.options.gpus_per_task = Some(gpus.into());
        self
    }

    /// The account to charge (`--account`).
    pub fn account(mut self, account: impl Into<String>) -> SlurmLauncher {
        self.options.account = Some(account.into());
        self
    }

    /// The quality of service (`--qos`).
    pub fn qos(mut self, qos: impl Into<String>) -> SlurmLauncher {
        self.options.qos = Some(qos.into());
        self
    }

    /// Any other `sbatch` flag, passed as is (e.g. `--constraint=a100`).
    pub fn sbatch_arg(mut self, arg: impl Into<String>) -> SlurmLauncher {
        self.options.extra.push(arg.into());
        self
    }

    /// Asks SLURM whether it would take the sweep's tasks with these
    /// options, without submitting anything (`sbatch --test-only`): a bad
    /// partition or time, or no SLURM at all, is found before a sweep
    /// creates its directory. (A sweep of any size is taken: one larger
    /// than the cluster's arrays goes as several.)
    ///
    /// # Errors
    /// `sbatch` is missing or refuses the options.
    pub fn check(&self, _runs: usize) -> Result<(), LaunchError> {
        let mut command = Command::new("sbatch");
        command
            .arg("--test-only")
            .args(self.options.flags())
            .args(["--output=/dev/null", "--wrap=true"]);
        commands::run(command)?;
        Ok(())
    }

    /// A launcher following the tasks of `record` that SLURM still runs
    /// (`live`: their run indices, of `tasks`).
    fn attach(
        dir: &Path,
        record: &JobsRecord,
        tasks: &BTreeMap<usize, commands::TaskId>,
        live: &BTreeMap<usize, String>,
    ) -> SlurmLauncher {
        SlurmLauncher {
            dir: Some(dir.to_owned()),
            jobs: record.job_ids(),
            tasks: live
                .keys()
                .filter_map(|index| {
                    let (job, task_id) = tasks.get(index)?.clone();
                    let task = Task {
                        job,
                        task_id,
                        run_dir: None,
                    };
                    Some((*index, task))
                })
                .collect(),
            ..SlurmLauncher::default()
        }
    }

    /// Writes each job's spec (bound to its task id in the array of
    /// `arrays` that holds it) and the batch script; returns the script.
    fn prepare(&self, dir: &Path, jobs: &[Job], arrays: &[Array]) -> Result<PathBuf, LaunchError> {
        let slurm_dir = dir.join(SLURM_DIR);
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| LaunchError::Io { path, source }
        };
        std::fs::create_dir_all(&slurm_dir).map_err(io(&slurm_dir))?;
        let offsets: BTreeMap<usize, usize> = arrays
            .iter()
            .flat_map(|array| array.indices.iter().map(|&index| (index, array.offset)))
            .collect();
        for job in jobs {
            let offset = offsets.get(&job.index).copied().unwrap_or(0);
            let task_id = (job.index - offset).to_string();
            let task = SchedulerTask::new("SLURM_ARRAY_TASK_ID", task_id.clone(), "slurmstepd");
            job.write_task_spec(&slurm_dir, &job.index.to_string(), &task)
                .map_err(io(&spec_path(dir, job.index)))?;
            if offset > 0 {
                // SLURM names a task's console by its task id alone: this
                // name of it leads to the run's own `run-<index>.out`
                // (relatively: the sweep directory may move). The name
                // says the index, so one already there leads there too.
                let link = slurm_dir.join(arrays::console_name(offset, &task_id));
                let target = PathBuf::from(format!("../run-{}.out", job.index));
                match std::os::unix::fs::symlink(&target, &link) {
                    Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                        return Err(io(&link)(e));
                    }
                    _ => {}
                }
            }
        }
        let Some(first) = jobs.first() else {
            return Err(LaunchError::Io {
                path: slurm_dir,
                source: std::io::Error::other("no jobs to submit"),
            });
        };
        let mut exec = vec![shell_quote(&first.executable().to_string_lossy())];
        exec.extend(
            first
                .args()
                .iter()
                .map(|a| shell_quote(&a.to_string_lossy())),
        );
        let env: String = first
            .env
            .iter()
            .map(|(k, v)| format!("export {k}={}\n", shell_quote(v)))
            .collect();
        let script = format!(
            "#!/bin/sh\n\
             # Written by rystematic: one array task per sweep run. The task id plus\n\
             # the array's offset ($1, 0 if none) is the run's index; its spec names\n\
             # the experiment and values. exec, not srun: the program is the task,\n\
             # and records its own start and end.\n\
             {env}\
             RYSTEMATIC_CHILD_SPEC={}\"$((SLURM_ARRAY_TASK_ID + ${{1:-0}}))\"{}\n\
             export RYSTEMATIC_CHILD_SPEC\n\
             exec {}\n",
            shell_quote(&format!("{}/{SPEC_PREFIX}task-", slurm_dir.display())),
            SPEC_SUFFIX,
            exec.join(" ")
        );
        let path = slurm_dir.join("array.sh");
        write_atomic(&path, script.as_bytes()).map_err(io(&path))?;
        Ok(path)
    }

    /// What SLURM says of this launcher's tasks, or `None` while `squeue`
    /// fails (for a while).
    fn queue(&mut self) -> Result<Option<BTreeMap<commands::TaskId, TaskState>>, LaunchError> {
        match commands::tasks(&self.jobs) {
            Ok(tasks) => {
                self.squeue_failing = None;
                Ok(Some(tasks))
            }
            Err(e @ LaunchError::Missing { .. }) => Err(e),
            Err(e) => {
                let since = *self.squeue_failing.get_or_insert_with(Instant::now);
                if since.elapsed() > SQUEUE_PATIENCE {
                    return Err(e);
                }
                if since.elapsed() < INTERVAL * 2 {
                    tracing::warn!(
                        target: "rystematic",
                        "{}; trying again for up to {}s",
                        super::state::chain(&e),
                        SQUEUE_PATIENCE.as_secs()
                    );
                }
                Ok(None)
            }
        }
    }

    /// One look at the queue and the tasks' files.
    fn look(&mut self) -> Result<Vec<JobEvent>, LaunchError> {
        let Some(dir) = self.dir.clone() else {
            return Ok(Vec::new());
        };
        let queue = if self
            .squeue_asked
            .is_none_or(|asked| asked.elapsed() >= SQUEUE_INTERVAL)
        {
            let queue = self.queue()?;
            if queue.is_some() {
                self.squeue_asked = Some(Instant::now());
            }
            queue
        } else {
            None
        };
        let mut events = Vec::new();
        let mut ended = Vec::new();
        for (&index, task) in &mut self.tasks {
            // Read after squeue: a task that left the queue wrote its files
            // before it exited.
            let report = spec::read_report(&report_path(&dir, index));
            if let Some(report) = report
                && task.run_dir.as_ref() != Some(&report.run_dir)
            {
                let host = RunInfo::read(&report.run_dir).ok().map(|info| info.host);
                let restarted = task.run_dir.replace(report.run_dir).is_some();
                let pid = Some(report.pid);
                events.push(if restarted {
                    JobEvent::Restarted { index, pid, host }
                } else {
                    JobEvent::Started { index, pid, host }
                });
            }
            // A run that completed or failed is over, whatever the queue
            // says of its exiting task (an interrupted one may be requeued).
            let finished = task
                .run_dir
                .as_deref()
                .and_then(|d| RunInfo::read(d).ok())
                .is_some_and(|info| {
                    matches!(info.status, RunStatus::Completed | RunStatus::Failed)
                });
            let mut state = match &queue {
                Some(queue) => queue.get(&(task.job.clone(), task.task_id)),
                None if finished => None,
                None => continue,
            };
            if state.is_some_and(TaskState::is_live) {
                if !finished {
                    continue;
                }
                // Still exiting: what its run recorded is the whole story.
                state = None;
            }
            ended.push(index);
            events.push(JobEvent::Ended(outcome(
                &dir,
                index,
                task.run_dir.as_deref(),
                state,
            )));
        }
        for index in ended {
            self.tasks.remove(&index);
        }
        Ok(events)
    }
}

/// Where task `index`'s spec lives.
fn spec_path(dir: &Path, index: usize) -> PathBuf {
    task_spec_path(&dir.join(SLURM_DIR), &index.to_string())
}

impl Launcher for SlurmLauncher {
    fn name(&self) -> &str {
        "slurm"
    }

    fn capacity(&self) -> Option<usize> {
        None
    }

    fn check(&self, runs: usize) -> Result<(), LaunchError> {
        SlurmLauncher::check(self, runs)
    }

    fn submit(&mut self, jobs: Vec<Job>, max_running: usize) -> Result<Vec<JobEvent>, LaunchError> {
        let Some(dir) = jobs.first().map(|j| j.spec_dir.clone()) else {
            return Ok(Vec::new());
        };
        let indices: Vec<usize> = jobs.iter().map(|j| j.index).collect();
        let arrays = arrays::split(&indices, commands::max_array_size_now());
        let script = self.prepare(&dir, &jobs, &arrays)?;
        let name = match jobs[0].spec.experiment.experiment() {
            "" => "rystematic".to_owned(),
            name => name.to_owned(),
        };
        let throttle = max_running.max(1);
        let record_path = dir.join(SLURM_DIR).join(JOBS_FILE);
        let io = |source| LaunchError::Io {
            path: record_path.clone(),
            source,
        };
        let mut record = JobsRecord::read(&dir).map_err(io)?.unwrap_or_default();
        let submitted_at = timestamp(&clock::now());
        let mut job_ids: Vec<String> = Vec::new();
        for (n, array) in arrays.iter().enumerate() {
            let submitted = arrays::sbatch(
                &self.options,
                &dir,
                &script,
                &name,
                array,
                throttle,
                job_ids.last(),
            );
            let job_id = match submitted {
                Ok(job_id) => job_id,
                Err(e) => {
                    // No array of a submission that failed is left to run
                    // (those already submitted stay in the record, for
                    // what their tasks may have started); the runs never
                    // submitted leave nothing behind.
                    let _ = commands::cancel(&job_ids);
                    for index in arrays[n..].iter().flat_map(|a| &a.indices) {
                        let _ = std::fs::remove_file(spec_path(&dir, *index));
                    }
                    return Err(e);
                }
            };
            record.arrays.push(ArrayRecord {
                job_id: job_id.clone(),
                tasks: array.indices.clone(),
                offset: array.offset,
                submitted: submitted_at.clone(),
            });
            job_ids.push(job_id);
            // Recorded before the next: without the record nobody could
            // follow or cancel an array.
            if let Err(source) = record.write(&dir) {
                let _ = commands::cancel(&job_ids);
                return Err(io(source));
            }
        }
        match job_ids.as_slice() {
            [job_id] => tracing::info!(
                target: "rystematic",
                "Submitted {} runs as SLURM job array {job_id} (at most {throttle} at once)",
                indices.len(),
            ),
            _ => tracing::info!(
                target: "rystematic",
                "Submitted {} runs as SLURM job arrays {}, each after the one before \
                 (the cluster's arrays are smaller; at most {throttle} at once)",
                indices.len(),
                job_ids.join(", "),
            ),
        }
        self.dir = Some(dir);
        for (array, job_id) in arrays.iter().zip(&job_ids) {
            for &index in &array.indices {
                let task = Task {
                    job: job_id.clone(),
                    task_id: (index - array.offset) as u64,
                    run_dir: None,
                };
                self.tasks.insert(index, task);
            }
        }
        self.jobs.extend(job_ids);
        Ok(Vec::new())
    }

    fn poll(&mut self, timeout: Duration) -> Result<Vec<JobEvent>, LaunchError> {
        let deadline = Instant::now() + timeout;
        loop {
            let events = self.look()?;
            let now = Instant::now();
            if !events.is_empty() || self.tasks.is_empty() || now >= deadline {
                return Ok(events);
            }
            std::thread::sleep(INTERVAL.min(deadline - now));
        }
    }

    fn in_flight(&self) -> usize {
        self.tasks.len()
    }

    fn cancel(&mut self) -> Result<(), LaunchError> {
        if self.tasks.is_empty() {
            return Ok(());
        }
        commands::cancel(&self.jobs)?;
        // Return once SLURM has ended every task (each got SIGTERM and
        // recorded itself interrupted), so nothing is left queued or running.
        let deadline = Instant::now() + CANCEL_PATIENCE;
        while Instant::now() < deadline {
            let tasks = commands::tasks(&self.jobs)?;
            if !self.tasks.values().any(|t| {
                tasks
                    .get(&(t.job.clone(), t.task_id))
                    .is_some_and(TaskState::is_live)
            }) {
                break;
            }
            std::thread::sleep(INTERVAL);
        }
        Ok(())
    }

    fn detach(&mut self) -> Result<String, LaunchError> {
        Ok(format!("SLURM job {}", self.jobs.join(", ")))
    }
}
