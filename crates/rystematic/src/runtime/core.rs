//! What every run owns, set up by the runtime before any extension's hook:
//! its directory (appearing with `parameters.yaml` and `run.json` in it),
//! its log, its seed stream and its rank. Closed after the last `after`
//! hook, so the log and `run.json` see every extension's work.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;

use anyhow::Context as _;

use super::record::{Identity, Record};
use super::seed::SeedStream;
use super::{Launch, Outcome};
use crate::clock;
use crate::distributed::Role;
use crate::fs::write_unpublished;
use crate::logging;
use crate::param::names;
use crate::resolve::yaml;
use crate::rundir::info::{RunInfo, RunStatus, WorldInfo};
use crate::rundir::{self, PARAMETERS_FILE};

/// The run's own data, which [`Run`](super::Run) hands out.
pub(crate) struct Core {
    pub(super) output_dir: PathBuf,
    pub(super) seeds: SeedStream,
    pub(super) local_rank: u32,
    /// 1, or 2, 3, ... for a run resumed in its own directory.
    pub(super) attempt: u32,
    /// Subprocesses launched so far (the next one gets rank + 1).
    pub(super) subprocesses: AtomicU32,
    started: jiff::ZonedDateTime,
    /// `None` in a subprocess or a distributed worker, which leave
    /// `run.json` to the process that owns the run.
    record: Option<Record>,
}

impl Core {
    /// Creates the run's directory (or joins the parent's, in a
    /// subprocess) and opens its log.
    pub(super) fn open(launch: &Launch<'_>, role: &Role) -> anyhow::Result<Core> {
        let params = &launch.params;
        let seed: i64 = params.get(names::RANDOM_SEED)?;
        let debug: bool = params.get(names::DEBUG)?;
        let local_rank: u32 = params.get(names::LOCAL_RANK)?;
        let subprocess: Option<PathBuf> = params.get(names::SUBPROCESS)?;
        let started = clock::now();

        // A subprocess shares its parent's run: same directory, its own log,
        // and the parent's parameters.yaml and run.json.
        let identity = || Identity {
            experiment: launch.experiment,
            path: &launch.path,
            argv: launch.argv.as_deref(),
            seed,
            started: &started,
        };
        let mut seeds = SeedStream::new(seed);
        let (output_dir, record) = match (&subprocess, &launch.resume) {
            (None, Some(resume)) => {
                let record = Record::resume(&identity(), &resume.dir, resume.previous.clone())?;
                seeds = SeedStream::resume(seed, resume.previous.seeds_drawn.unwrap_or(0));
                (resume.dir.clone(), Some(record))
            }
            (Some(parent_params), _) => (
                parent_params
                    .parent()
                    .map(Path::to_owned)
                    .with_context(|| {
                        format!("bad subprocess path '{}'", parent_params.display())
                    })?,
                None,
            ),
            (None, None) => {
                let parent: PathBuf = params.get(names::OUTPUT_DIR)?;
                let rendered = yaml::render_params(params);
                let record = Record::new(&identity());
                // The directory appears with parameters.yaml and run.json
                // in it, or not at all (a kill or full disk at start-up).
                let dir = rundir::dir::create_with(
                    &parent,
                    launch.experiment,
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
                record.published(&dir);
                (dir, Some(record))
            }
        };
        // Workers of a distributed run log by global rank; agents of nodes
        // other than 0 beside the master's `log.txt`.
        let (log_name, log_rank) = match (role.world(), role.agent_node()) {
            (Some(world), _) => (format!("log.rank-{}.txt", world.info.rank), world.info.rank),
            (None, Some(node)) if node > 0 => (format!("log.node-{node}.txt"), 0),
            _ => (rundir::log_file_name(local_rank), local_rank),
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
        match &launch.resume {
            Some(resume) => tracing::info!(
                target: "rystematic",
                "Resuming experiment {} in {} (attempt {}; its seed stream goes on after {} \
                 numbers)",
                launch.experiment,
                output_dir.display(),
                resume.previous.attempt + 1,
                seeds.drawn()
            ),
            None => tracing::info!(
                target: "rystematic",
                "Running experiment {} in {}",
                launch.experiment,
                output_dir.display()
            ),
        }
        let attempt = match (&launch.resume, &subprocess) {
            (Some(resume), _) => resume.previous.attempt + 1,
            // A subprocess or worker shares its run's attempt, which its
            // parent wrote into run.json before starting it.
            (None, Some(_)) => RunInfo::read(&output_dir).map_or(1, |info| info.attempt),
            (None, None) => 1,
        };
        Ok(Core {
            output_dir,
            seeds,
            attempt,
            local_rank,
            subprocesses: AtomicU32::new(0),
            started,
            record,
        })
    }

    /// Records the world of a distributed run in `run.json` (the master
    /// agent's run only; elsewhere a no-op).
    pub(super) fn record_world(&self, world: WorldInfo) -> anyhow::Result<()> {
        match &self.record {
            Some(record) => record.world(world),
            None => Ok(()),
        }
    }

    /// Logs how the run ended, writes the final `run.json` and closes the
    /// log.
    pub(super) fn close(&self, outcome: &Outcome<'_>) -> anyhow::Result<()> {
        let ended = clock::now();
        let duration = ended
            .timestamp()
            .duration_since(self.started.timestamp())
            .as_secs_f64();
        let (status, error) = match outcome {
            Outcome::Completed => {
                tracing::info!(target: "rystematic", "Experiment completed in {duration:.3}s");
                (RunStatus::Completed, None)
            }
            Outcome::Failed(error) => {
                log_error_chain(error);
                (RunStatus::Failed, Some(format!("{error:#}")))
            }
            Outcome::Interrupted(signal) => {
                tracing::warn!(
                    target: "rystematic",
                    "Experiment interrupted by {} after {duration:.3}s",
                    signal.name()
                );
                (
                    RunStatus::Interrupted,
                    Some(format!("interrupted by {}", signal.name())),
                )
            }
        };
        let written = match &self.record {
            Some(record) => record.end(status, error, &ended, duration, self.seeds.drawn()),
            None => Ok(()),
        };
        logging::end_run();
        written
    }
}

/// Logs an error and each of its causes on its own line.
fn log_error_chain(error: &anyhow::Error) {
    tracing::error!(target: "rystematic", "Experiment failed: {error}");
    for cause in error.chain().skip(1) {
        tracing::error!(target: "rystematic", "  caused by: {cause}");
    }
}
