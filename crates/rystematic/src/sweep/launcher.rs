//! Where sweep runs execute. The sweep only asks a [`Launcher`] to start
//! jobs and tell it when they end; the local process pool is one launcher,
//! and a cluster scheduler (job arrays) plugs in behind the same interface.

use std::collections::HashMap;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};

use crate::process::spec::ChildSpec;
use crate::process::{self, ChildProcess, Console};

/// One run of a sweep, ready to start.
pub(crate) struct Job {
    pub(crate) index: usize,
    pub(crate) spec: ChildSpec,
    /// Extra environment (e.g. `CUDA_VISIBLE_DEVICES`).
    pub(crate) env: Vec<(String, String)>,
    /// Where the run's stdout and stderr go.
    pub(crate) console: PathBuf,
    /// Where the job's spec file is written.
    pub(crate) spec_dir: PathBuf,
}

/// How a job ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobExit {
    pub(crate) index: usize,
    pub(crate) code: Option<i32>,
    pub(crate) signal: Option<i32>,
}

/// Starts jobs and reports their ends.
pub(crate) trait Launcher: Send {
    /// How many jobs may run at once.
    fn capacity(&self) -> usize;
    /// How many jobs run now.
    fn running(&self) -> usize;
    /// Starts a job; returns its process id.
    fn launch(&mut self, job: Job) -> io::Result<u32>;
    /// Blocks until a running job ends (`None` if none runs).
    fn wait_any(&mut self) -> Option<JobExit>;
}

/// Runs jobs as child processes of this process, at most `max` at once.
pub(crate) struct LocalLauncher {
    max: usize,
    running: HashMap<usize, ChildProcess>,
    exits: Receiver<JobExit>,
    notify: Sender<JobExit>,
}

impl LocalLauncher {
    pub(crate) fn new(max: usize) -> LocalLauncher {
        let (notify, exits) = mpsc::channel();
        LocalLauncher {
            max: max.max(1),
            running: HashMap::new(),
            exits,
            notify,
        }
    }
}

impl Launcher for LocalLauncher {
    fn capacity(&self) -> usize {
        self.max
    }

    fn running(&self) -> usize {
        self.running.len()
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
                let _ = notify.send(JobExit {
                    index,
                    code: status.code(),
                    signal: status.signal(),
                });
            })?;
        self.running.insert(index, child);
        Ok(pid)
    }

    fn wait_any(&mut self) -> Option<JobExit> {
        if self.running.is_empty() {
            return None;
        }
        let exit = self.exits.recv().ok()?;
        self.running.remove(&exit.index);
        Some(exit)
    }
}
