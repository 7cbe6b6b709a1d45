//! The standard extension: the built-in parameters, the run directory,
//! `parameters.yaml`, `run.json`, the run log and the seed stream.
//!
//! It goes through the same [`Extension`] interface as any plug-in, first in
//! line (priority 0): its `before` runs before everyone else's, and its
//! `after` runs last, so the log and `run.json` see every other extension's
//! work.

pub(crate) mod clock;
pub(crate) mod git;
pub(crate) mod logging;
pub(crate) mod provenance;
pub(crate) mod run_dir;
pub(crate) mod run_info;
pub(crate) mod seed;
pub(crate) mod slurm_ids;
pub(crate) mod subprocess;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicU32;
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;

use crate::extension::{Extension, Outcome};
use crate::fs::write_unpublished;
use crate::param::Param;
use crate::runtime::Run;
use crate::yaml;
use run_info::{GitInfo, RunInfo, RunStatus};
use seed::SeedStream;

/// Names of the built-in parameters.
pub(crate) mod names {
    pub(crate) const OUTPUT_DIR: &str = "output_dir";
    pub(crate) const DEBUG: &str = "debug";
    pub(crate) const PARAMS_FILE: &str = "params_file";
    pub(crate) const RANDOM_SEED: &str = "random_seed";
    pub(crate) const SUBPROCESS: &str = "subprocess";
    pub(crate) const LOCAL_RANK: &str = "local_rank";
}

/// File name of the resolved parameters inside a run directory.
pub const PARAMETERS_FILE: &str = "parameters.yaml";

/// How long the final `run.json` waits for `git status`.
const GIT_STATUS_WAIT: Duration = Duration::from_secs(2);

pub(crate) struct Standard;

/// What the standard extension keeps for the running experiment.
pub(crate) struct State {
    pub(crate) output_dir: PathBuf,
    pub(crate) seeds: SeedStream,
    pub(crate) local_rank: u32,
    /// Subprocesses launched so far (the next one gets rank + 1).
    pub(crate) subprocesses: AtomicU32,
    started: jiff::ZonedDateTime,
    /// `None` in a subprocess, which leaves run.json to its parent.
    record: Option<Record>,
}

impl Extension for Standard {
    fn name(&self) -> &str {
        "standard"
    }

    fn priority(&self) -> i32 {
        0
    }

    fn params(&self) -> Vec<Param> {
        use names::*;
        vec![
            Param::path(OUTPUT_DIR)
                .default("./output")
                .help("Parent directory of all run directories. Created if it does not exist."),
            Param::flag(DEBUG).help("Log DEBUG messages too."),
            Param::path(PARAMS_FILE).allow_from_file(false).help(
                "Read parameter values from a YAML file, such as the parameters.yaml of an earlier \
                 run. Options given after it on the command line override the file; options \
                 given before it are overridden by it.",
            ),
            Param::int(RANDOM_SEED)
                .default_with(|| {
                    // A 32-bit seed, like pystematic's; only fails if the OS
                    // has no randomness at all.
                    i64::from(getrandom::u32().expect("the OS random number generator failed"))
                })
                .default_help("<randomly generated>")
                .help("The value to seed the master random number generator with."),
            Param::path(SUBPROCESS)
                .allow_from_file(false)
                .hidden()
                .help("Internal: set in processes started by launch_subprocess. Do not use."),
            Param::int(LOCAL_RANK)
                .default(0)
                .allow_from_file(false)
                .hidden()
                .help("Internal: 0 in the main process, 1, 2, ... in its subprocesses."),
        ]
    }

    fn before(&self, run: &mut Run) -> anyhow::Result<()> {
        let params = run.params();
        let seed: i64 = params.get(names::RANDOM_SEED)?;
        let debug: bool = params.get(names::DEBUG)?;
        let local_rank: u32 = params.get(names::LOCAL_RANK)?;
        let subprocess: Option<PathBuf> = params.get(names::SUBPROCESS)?;
        let started = clock::now();

        // A subprocess shares its parent's run: same directory, its own log,
        // and the parent's parameters.yaml and run.json.
        let (output_dir, record) = match &subprocess {
            Some(parent_params) => (
                parent_params
                    .parent()
                    .map(Path::to_owned)
                    .with_context(|| {
                        format!("bad subprocess path '{}'", parent_params.display())
                    })?,
                None,
            ),
            None => {
                let parent: PathBuf = params.get(names::OUTPUT_DIR)?;
                let rendered = yaml::render_params(params);
                let record = Record::new(run, &started, seed);
                // The directory appears with parameters.yaml and run.json
                // in it, or not at all (a kill or full disk at start-up).
                let dir = run_dir::create_with(
                    &parent,
                    run.experiment(),
                    &started,
                    |staging, dir| -> anyhow::Result<()> {
                        write_unpublished(&staging.join(PARAMETERS_FILE), rendered.as_bytes())
                            .with_context(|| {
                                format!("cannot write '{}'", dir.join(PARAMETERS_FILE).display())
                            })?;
                        record.write_first(staging, dir)
                    },
                )
                .with_context(|| {
                    format!("cannot create a run directory in '{}'", parent.display())
                })?;
                record.sync_name_in_background(&dir);
                (dir, Some(record))
            }
        };
        // Workers of a distributed run log by global rank; agents of nodes
        // other than 0 beside the master's `log.txt`.
        let (log_name, log_rank) = match (run.role().world(), run.role().agent_node()) {
            (Some(world), _) => (format!("log.rank-{}.txt", world.info.rank), world.info.rank),
            (None, Some(node)) if node > 0 => (format!("log.node-{node}.txt"), 0),
            _ => (log_file_name(local_rank), local_rank),
        };
        let log_path = output_dir.join(log_name);
        logging::begin_run(&log_path, debug, log_rank)
            .with_context(|| format!("cannot open '{}'", log_path.display()))?;
        if record.is_some() {
            tracing::debug!(
                target: "rystematic",
                "wrote {} parameters to {}",
                params.len(),
                output_dir.join(PARAMETERS_FILE).display()
            );
        }
        tracing::info!(
            target: "rystematic",
            "Running experiment {} in {}",
            run.experiment(),
            output_dir.display()
        );
        run.insert_ext(State {
            output_dir,
            seeds: SeedStream::new(seed),
            local_rank,
            subprocesses: AtomicU32::new(0),
            started,
            record,
        });
        Ok(())
    }

    fn after(&self, run: &Run, outcome: &Outcome<'_>) -> anyhow::Result<()> {
        let Some(state) = run.ext::<State>() else {
            return Ok(());
        };
        let ended = clock::now();
        let duration = ended
            .timestamp()
            .duration_since(state.started.timestamp())
            .as_secs_f64();
        let status = match outcome {
            Outcome::Completed => {
                tracing::info!(target: "rystematic", "Experiment completed in {duration:.3}s");
                RunStatus::Completed
            }
            Outcome::Failed(error) => {
                log_error_chain(error);
                RunStatus::Failed
            }
            Outcome::Interrupted(signal) => {
                tracing::warn!(
                    target: "rystematic",
                    "Experiment interrupted by {} after {duration:.3}s",
                    signal.name()
                );
                RunStatus::Interrupted
            }
        };
        let written = match &state.record {
            Some(record) => record.end(status, outcome, &ended, duration),
            None => Ok(()),
        };
        logging::end_run();
        written
    }
}

/// `run.json` of a main (rank 0) process, the pending `git diff`, the
/// pending hash of the executable and the pending sync of the run
/// directory's name.
struct Record {
    info: Mutex<RunInfo>,
    dirty: Mutex<Option<Receiver<Option<git::DiffCheck>>>>,
    exe_hash: Mutex<Option<JoinHandle<Option<String>>>>,
    name_synced: Mutex<Option<JoinHandle<std::io::Result<()>>>>,
}

impl Record {
    /// The record of a run starting now; nothing is written yet.
    fn new(run: &Run, started: &jiff::ZonedDateTime, seed: i64) -> Record {
        let cwd = std::env::current_dir().unwrap_or_default();
        let repo = git::Repo::discover(&cwd);
        let dirty = repo.as_ref().map(|repo| {
            let handle = repo.spawn_dirty_check();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(handle.join().ok().flatten());
            });
            rx
        });
        let info = RunInfo {
            experiment: run.experiment().to_owned(),
            status: RunStatus::Running,
            started: run_info::timestamp(started),
            ended: None,
            duration_s: None,
            error: None,
            argv: run.argv().map(<[String]>::to_vec),
            host: hostname(),
            pid: std::process::id(),
            pid_start_ticks: run_info::process_start_ticks(std::process::id()),
            boot_id: run_info::boot_id(),
            output_dir: PathBuf::new(),
            git: repo.map(|repo| GitInfo {
                commit: repo.head_commit(),
                dirty: None,
            }),
            rystematic_version: env!("CARGO_PKG_VERSION").to_owned(),
            random_seed: seed,
            world: None,
            slurm: slurm_ids::SlurmInfo::current(),
            executable: provenance::current_exe(),
            executable_sha256: None,
            experiment_path: Some(run.path().to_vec()),
            build: Some(provenance::BuildInfo::current()),
            cwd: std::env::current_dir().ok(),
        };
        // Hashed while the experiment runs; the final run.json waits for it.
        let exe_hash = info.executable.clone().map(provenance::spawn_exe_hash);
        Record {
            info: Mutex::new(info),
            dirty: Mutex::new(dirty),
            exe_hash: Mutex::new(exe_hash),
            name_synced: Mutex::new(None),
        }
    }

    /// Syncs the run directory's name (its parent directory) while the
    /// experiment starts: a disk flush the run need not wait for. The end
    /// of the run waits for it.
    fn sync_name_in_background(&self, dir: &Path) {
        let owned = dir.to_owned();
        let spawned = std::thread::Builder::new()
            .name("rystematic-sync".into())
            .spawn(move || run_dir::sync_name(&owned));
        match spawned {
            Ok(handle) => {
                *self.name_synced.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
            }
            // No thread: sync now.
            Err(_) => {
                if let Err(e) = run_dir::sync_name(dir) {
                    tracing::warn!(target: "rystematic", "cannot sync the run directory's name: {e}");
                }
            }
        }
    }

    /// Writes the first `run.json` into `staging`, which becomes `dir`.
    fn write_first(&self, staging: &Path, dir: &Path) -> anyhow::Result<()> {
        let mut info = self.info.lock().unwrap_or_else(|e| e.into_inner());
        info.output_dir = dir.to_owned();
        // Report first: once run.json exists, a parent can always find it
        // (and fix it, should this process die before ending the run).
        crate::process::spec::report_run_dir(dir)
            .context("cannot report the run directory to the parent process")?;
        info.write_staged(staging)
            .with_context(|| format!("cannot write run.json in '{}'", dir.display()))
    }

    fn end(
        &self,
        status: RunStatus,
        outcome: &Outcome<'_>,
        ended: &jiff::ZonedDateTime,
        duration: f64,
    ) -> anyhow::Result<()> {
        let mut info = self.info.lock().unwrap_or_else(|e| e.into_inner());
        info.status = status;
        info.error = match outcome {
            Outcome::Completed => None,
            Outcome::Failed(error) => Some(format!("{error:#}")),
            Outcome::Interrupted(signal) => Some(format!("interrupted by {}", signal.name())),
        };
        info.ended = Some(run_info::timestamp(ended));
        info.duration_s = Some(duration);
        let pending = self.dirty.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let (Some(git), Some(rx)) = (info.git.as_mut(), pending) {
            let check = rx.recv_timeout(GIT_STATUS_WAIT).ok().flatten();
            git.dirty = check.as_ref().map(|c| c.dirty);
            if let Some(diff) = check.filter(|c| c.dirty).map(|c| c.diff) {
                // Best effort: a diff that cannot be saved still leaves
                // `dirty: true` in run.json.
                let _ = crate::fs::write_atomic(&info.output_dir.join(git::DIFF_FILE), &diff);
            }
        }
        let hashing = self
            .exe_hash
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(handle) = hashing {
            info.executable_sha256 = handle.join().ok().flatten();
        }
        let written = info
            .write()
            .with_context(|| format!("cannot write run.json in '{}'", info.output_dir.display()));
        // After the final write, whose own flushes then overlap this one.
        let pending = self
            .name_synced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(Ok(Err(e))) = pending.map(JoinHandle::join) {
            tracing::warn!(target: "rystematic", "cannot sync the run directory's name: {e}");
        }
        written
    }
}

/// Records the world of a distributed run in `run.json` (the master
/// agent's run only; elsewhere a no-op).
pub(crate) fn record_world(run: &Run, world: run_info::WorldInfo) -> anyhow::Result<()> {
    let Some(record) = run.ext::<State>().and_then(|state| state.record.as_ref()) else {
        return Ok(());
    };
    let mut info = record.info.lock().unwrap_or_else(|e| e.into_inner());
    info.world = Some(world);
    info.write()
        .with_context(|| format!("cannot write run.json in '{}'", info.output_dir.display()))
}

/// Logs an error and each of its causes on its own line.
fn log_error_chain(error: &anyhow::Error) {
    tracing::error!(target: "rystematic", "Experiment failed: {error}");
    for cause in error.chain().skip(1) {
        tracing::error!(target: "rystematic", "  caused by: {cause}");
    }
}

/// `log.txt` for the main process, `log.rank-N.txt` for subprocess N.
pub(crate) fn log_file_name(local_rank: u32) -> String {
    if local_rank == 0 {
        "log.txt".to_owned()
    } else {
        format!("log.rank-{local_rank}.txt")
    }
}

pub(crate) fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
}
