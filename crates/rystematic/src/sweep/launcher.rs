//! Where sweep runs execute. A sweep hands [`Job`]s to a [`Launcher`],
//! polls it for [`JobEvent`]s and cancels it on Ctrl-C; the local process
//! pool ([`LocalLauncher`]) is one launcher, SLURM job arrays
//! ([`SlurmLauncher`](super::SlurmLauncher)) another, and any batch
//! scheduler can plug in behind the same interface.

use std::collections::HashMap;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use super::manifest::SweepStatus;
pub use crate::error::LaunchError;
use crate::process::child::{GRACE, stop_all};
use crate::process::spec::{ChildSpec, SPEC_PREFIX, SPEC_SUFFIX, TaskBinding};
use crate::process::{self, ChildProcess, Console};
use crate::value::Values;

/// One run of a sweep, ready to start: which program, experiment and values,
/// where its console output goes.
#[derive(Debug)]
pub struct Job {
    pub(crate) index: usize,
    pub(crate) spec: ChildSpec,
    /// Extra environment (e.g. `CUDA_VISIBLE_DEVICES`).
    pub(crate) env: Vec<(String, String)>,
    /// Where the run's stdout and stderr go.
    pub(crate) console: PathBuf,
    /// The sweep directory (spec files go there).
    pub(crate) spec_dir: PathBuf,
}

impl Job {
    /// The run's position in the sweep.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The values this run gets on top of the sweep's common options.
    pub fn values(&self) -> &Values {
        &self.spec.values
    }

    /// The program that runs it (this program: a run re-executes it).
    pub fn executable(&self) -> &Path {
        &self.spec.exe
    }

    /// Environment variables the run needs on top of the launcher's own.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// The file its console output (stdout and stderr) belongs in.
    pub fn console(&self) -> &Path {
        &self.console
    }

    /// The sweep directory.
    pub fn sweep_dir(&self) -> &Path {
        &self.spec_dir
    }

    /// The arguments to start [`Job::executable`] with (empty for a program
    /// whose `main` calls `cli()`; a test binary needs its test's name).
    pub fn args(&self) -> Vec<std::ffi::OsString> {
        crate::process::reentry::args()
    }

    /// Writes the job's spec for a batch scheduler's task, as
    /// `<dir>/.rystematic-child-task-<key>.json`, and returns the path.
    /// Start the task's process with [`CHILD_SPEC_ENV`](crate::CHILD_SPEC_ENV)
    /// naming that file and [`Job::env`] set, by `exec`ing
    /// [`Job::executable`] with [`Job::args`] from the batch script: only a
    /// process `task` recognises takes the spec. It is kept after, so a
    /// requeued task takes it again; a sweep that submits the job again
    /// overwrites it.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_task_spec(
        &self,
        dir: &Path,
        key: &str,
        task: &SchedulerTask,
    ) -> io::Result<PathBuf> {
        let path = task_spec_path(dir, key);
        self.spec.write_for_task(&path, &task.binding)?;
        Ok(path)
    }
}

/// Where [`Job::write_task_spec`] writes the spec for `key`.
pub(crate) fn task_spec_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{SPEC_PREFIX}task-{key}{SPEC_SUFFIX}"))
}

/// How a batch scheduler's task is recognised, so that it — and no other
/// process that inherits its environment — takes a job's spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerTask {
    binding: TaskBinding,
}

impl SchedulerTask {
    /// The task whose environment variable `env` is `value`, `exec`ed by a
    /// process named `parent` (its name in `/proc/<pid>/comm`): for a SLURM
    /// array task, `SLURM_ARRAY_TASK_ID`, the task id and `slurmstepd`.
    pub fn new(
        env: impl Into<String>,
        value: impl Into<String>,
        parent: impl Into<String>,
    ) -> SchedulerTask {
        SchedulerTask {
            binding: TaskBinding {
                env: env.into(),
                value: value.into(),
                parent: parent.into(),
            },
        }
    }
}

/// What a launcher saw happen to a job since the last poll.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum JobEvent {
    /// The job's process started (for a batch scheduler: the task left the
    /// queue and its program began the run).
    Started {
        /// The job's index in the sweep.
        index: usize,
        /// Its process, if known.
        pid: Option<u32>,
        /// The host it runs on, if known.
        host: Option<String>,
    },
    /// The scheduler requeued the job (preempted, `scontrol requeue`) and
    /// it started again: a new attempt, in a new run directory.
    Restarted {
        /// The job's index in the sweep.
        index: usize,
        /// Its new process, if known.
        pid: Option<u32>,
        /// The host it runs on now, if known.
        host: Option<String>,
    },
    /// The job ended.
    Ended(JobExit),
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JobExit {
    /// The job's index in the sweep.
    pub index: usize,
    /// The process's exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// The status to record, when the exit code alone does not tell (a
    /// scheduler that cancelled the job: `Interrupted`); `None`: completed
    /// on exit code 0, else failed.
    pub status: Option<SweepStatus>,
    /// Why, when the scheduler ended the job (e.g. `TIMEOUT`, `NODE_FAIL`).
    pub reason: Option<String>,
}

impl JobExit {
    /// A job whose process ended with `code` or `signal`.
    pub fn new(index: usize, code: Option<i32>, signal: Option<i32>) -> JobExit {
        JobExit {
            index,
            code,
            signal,
            status: None,
            reason: None,
        }
    }

    /// Records `status` instead of the one the exit code implies.
    pub fn with_status(mut self, status: SweepStatus) -> JobExit {
        self.status = Some(status);
        self
    }

    /// Says why the scheduler ended the job.
    pub fn with_reason(mut self, reason: impl Into<String>) -> JobExit {
        self.reason = Some(reason.into());
        self
    }
}

/// Starts a sweep's jobs and reports what happens to them, shaped for batch
/// schedulers: [`submit`](Launcher::submit) many at once,
/// [`poll`](Launcher::poll) for starts and ends, [`cancel`](Launcher::cancel)
/// all.
///
/// The sweep owns the manifest and the report; a launcher only runs jobs.
/// A job's run writes its own run directory, `run.json` and report file, so
/// a launcher needs only to say when a job's process started and ended.
pub trait Launcher: Send {
    /// A short name for logs and errors (`local`, `slurm`).
    fn name(&self) -> &str;

    /// How many jobs may be submitted and not yet ended at once; `None`
    /// for no limit (a batch scheduler takes the whole sweep and throttles
    /// it itself with the `max_running` given to [`Launcher::submit`]).
    fn capacity(&self) -> Option<usize>;

    /// Checks, before the sweep creates anything, that a sweep of `runs`
    /// runs can be submitted at all with this launcher's options (the
    /// scheduler is there, takes them, and takes that many).
    ///
    /// # Errors
    /// What is wrong, naming the command and the scheduler's message.
    fn check(&self, runs: usize) -> Result<(), LaunchError> {
        let _ = runs;
        Ok(())
    }

    /// Submits `jobs`; at most `max_running` of this launcher's jobs should
    /// run at once. Returns what already happened (a local process that
    /// started, or could not).
    ///
    /// # Errors
    /// The submission as a whole was refused: none of `jobs` will run.
    fn submit(&mut self, jobs: Vec<Job>, max_running: usize) -> Result<Vec<JobEvent>, LaunchError>;

    /// Waits up to `timeout` for news about submitted jobs; returns it
    /// (empty if none came).
    ///
    /// # Errors
    /// The scheduler cannot be asked (its controller is gone for good).
    fn poll(&mut self, timeout: Duration) -> Result<Vec<JobEvent>, LaunchError>;

    /// How many submitted jobs have not ended.
    fn in_flight(&self) -> usize;

    /// Stops every submitted job that has not ended, and returns once none
    /// runs any more.
    ///
    /// # Errors
    /// The scheduler refused or could not be asked.
    fn cancel(&mut self) -> Result<(), LaunchError>;

    /// Lets the submitted jobs go on without this process; returns how to
    /// find them (e.g. `SLURM job 123`). Local processes cannot.
    ///
    /// # Errors
    /// [`LaunchError::Unsupported`] unless the jobs live on without us.
    fn detach(&mut self) -> Result<String, LaunchError> {
        Err(LaunchError::Unsupported {
            launcher: self.name().to_owned(),
            what: "detach from its jobs".to_owned(),
        })
    }
}

/// Runs jobs as child processes of this process, at most `max` at once.
#[derive(Debug)]
pub struct LocalLauncher {
    max: usize,
    running: HashMap<usize, ChildProcess>,
    exits: Receiver<JobExit>,
    notify: Sender<JobExit>,
}

impl LocalLauncher {
    /// A pool of at most `max` processes at once (at least one).
    pub fn new(max: usize) -> LocalLauncher {
        let (notify, exits) = mpsc::channel();
        LocalLauncher {
            max: max.max(1),
            running: HashMap::new(),
            exits,
            notify,
        }
    }

    fn launch(&mut self, job: Job) -> io::Result<u32> {
        let child = process::spawn(
            &job.spec,
            Some(&job.spec_dir),
            Console::File(job.console),
            &job.env,
        )?;
        let pid = child.id();
        let (index, notify, waiter) = (job.index, self.notify.clone(), child.clone());
        std::thread::Builder::new()
            .name(format!("rystematic-sweep-{index}"))
            .spawn(move || {
                let status = waiter.wait();
                let _ = notify.send(JobExit::new(index, status.code(), status.signal()));
            })?;
        self.running.insert(index, child);
        Ok(pid)
    }

    fn ended(&mut self, exit: JobExit) -> JobEvent {
        self.running.remove(&exit.index);
        JobEvent::Ended(exit)
    }
}

impl Launcher for LocalLauncher {
    fn name(&self) -> &str {
        "local"
    }

    fn capacity(&self) -> Option<usize> {
        Some(self.max)
    }

    fn submit(
        &mut self,
        jobs: Vec<Job>,
        _max_running: usize,
    ) -> Result<Vec<JobEvent>, LaunchError> {
        let host = crate::rundir::hostname();
        Ok(jobs
            .into_iter()
            .map(|job| {
                let index = job.index;
                match self.launch(job) {
                    Ok(pid) => JobEvent::Started {
                        index,
                        pid: Some(pid),
                        host: Some(host.clone()),
                    },
                    Err(e) => {
                        tracing::error!(
                            target: "rystematic",
                            "sweep run {index} could not start: {e}"
                        );
                        JobEvent::Ended(
                            JobExit::new(index, None, None)
                                .with_status(SweepStatus::Failed)
                                .with_reason(format!("could not start: {e}")),
                        )
                    }
                }
            })
            .collect())
    }

    fn poll(&mut self, timeout: Duration) -> Result<Vec<JobEvent>, LaunchError> {
        if self.running.is_empty() {
            return Ok(Vec::new());
        }
        let first = match self.exits.recv_timeout(timeout) {
            Ok(exit) => exit,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                return Ok(Vec::new());
            }
        };
        let mut events = vec![self.ended(first)];
        while let Ok(exit) = self.exits.try_recv() {
            events.push(self.ended(exit));
        }
        Ok(events)
    }

    fn in_flight(&self) -> usize {
        self.running.len()
    }

    fn cancel(&mut self) -> Result<(), LaunchError> {
        // Every child of this process: the runs' process groups.
        stop_all(GRACE);
        Ok(())
    }
}
