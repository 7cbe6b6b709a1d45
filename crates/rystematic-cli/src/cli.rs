//! The command line of `rystematic`: parsing, and running one command.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::error::RunsError;
use crate::gc::{self, GcOptions};
use crate::ls::{self, LsOptions};
use crate::report::{self, ReportOptions};
use crate::rerun;
use crate::scan;
use crate::select::{self, Filter};
use crate::serve::Dashboard;
use crate::show;

/// Find, compare, rerun and verify the runs of rystematic programs, and see
/// them in a browser (report, ui). The run directories are the database: no
/// index, no service to keep running.
#[derive(Debug, Parser)]
#[command(name = "rystematic", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List runs: id, experiment, status, start, duration, the parameters
    /// that differ among them, and the last value of each metric.
    Ls {
        /// The output directory.
        #[arg(default_value = "./output")]
        dir: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
        /// Sort by a column (id, experiment, status, started, duration), a
        /// parameter or a metric.
        #[arg(long, value_name = "COL")]
        sort: Option<String>,
        /// Sort largest first.
        #[arg(long, short = 'r')]
        reverse: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one run: metadata, parameters, metrics, the log's tail, files.
    Show {
        /// A run directory, or a unique prefix of a run id.
        run: String,
        /// The output directory to look for RUN in.
        #[arg(long, default_value = "./output")]
        dir: PathBuf,
    },
    /// Show what differs between two runs.
    Diff {
        /// A run directory, or a unique prefix of a run id.
        a: String,
        /// A run directory, or a unique prefix of a run id.
        b: String,
        /// The output directory to look for the runs in.
        #[arg(long, default_value = "./output")]
        dir: PathBuf,
    },
    /// Run a run's program again with its parameters (plus overrides), as a
    /// new run beside it. Refuses when the recorded executable is gone or
    /// changed (unless --force).
    Rerun {
        /// A run directory, or a unique prefix of a run id.
        run: String,
        /// The output directory to look for RUN in.
        #[arg(long, default_value = "./output")]
        dir: PathBuf,
        /// Run the executable even if it changed since the run.
        #[arg(long)]
        force: bool,
        /// Options for the program, after `--` (e.g. `-- --lr 0.1`).
        #[arg(last = true, value_name = "OVERRIDES")]
        overrides: Vec<String>,
    },
    /// Rerun a run and compare the scalars both recorded, step by step:
    /// exit 0 when identical, 1 naming the first tag and step that differ.
    Verify {
        /// A run directory, or a unique prefix of a run id.
        run: String,
        /// The output directory to look for RUN in.
        #[arg(long, default_value = "./output")]
        dir: PathBuf,
        /// Run the executable even if it changed since the run.
        #[arg(long)]
        force: bool,
    },
    /// Write the dashboard as one self-contained HTML file: the runs as a
    /// sortable, filterable table, sweep progress, scalars charts and a
    /// parameter-against-metric view. Opens with no network.
    Report {
        /// The output directory.
        #[arg(default_value = "./output")]
        dir: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
        /// The file to write.
        #[arg(long, short = 'o', value_name = "FILE", default_value = "report.html")]
        output: PathBuf,
        /// At most this many points per tag and run (evenly spaced, the
        /// last one kept).
        #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u32).range(2..))]
        points: u32,
    },
    /// Serve the dashboard on this machine (read-only), live: the URL is
    /// printed first. Ctrl-C stops it.
    Ui {
        /// The output directory.
        #[arg(default_value = "./output")]
        dir: PathBuf,
        /// The port; 0 picks a free one.
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The address to listen on; only this machine can connect by default.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
    },
    /// Delete the runs matching filters (a dry run unless --yes).
    Gc {
        /// The output directory.
        #[arg(default_value = "./output")]
        dir: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
        /// Also delete damaged run directories (no or corrupt run.json).
        #[arg(long)]
        damaged: bool,
        /// Delete for real.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
struct FilterArgs {
    /// Only runs of this experiment.
    #[arg(long, value_name = "NAME")]
    experiment: Option<String>,
    /// Only runs with this status: completed, failed, interrupted, running, dead.
    #[arg(long)]
    status: Option<String>,
    /// Only runs whose parameter NAME has this value (repeatable).
    #[arg(long = "where", value_name = "NAME=VALUE")]
    wheres: Vec<String>,
    /// Only runs started at or after DATE (2026-11-28, 2026-11-28T09:30, or RFC 3339).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
}

impl FilterArgs {
    fn parse(&self) -> Result<Filter, RunsError> {
        Ok(Filter {
            experiment: self.experiment.clone(),
            status: self
                .status
                .as_deref()
                .map(select::parse_status)
                .transpose()?,
            wheres: self
                .wheres
                .iter()
                .map(|w| select::parse_where(w))
                .collect::<Result<_, _>>()?,
            since: self.since.as_deref().map(select::parse_since).transpose()?,
        })
    }
}

/// Runs the `rystematic` command line `args` (program name first),
/// printing to `out` and `err`; returns the exit code: 0 on success, 1 on
/// failure (or, for `diff`, when the runs differ), 2 on a usage error.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            let text = e.render().to_string();
            let _ = if code == 0 {
                write!(out, "{text}")
            } else {
                write!(err, "{text}")
            };
            return code;
        }
    };
    match execute(cli.command, out) {
        Ok(code) => code,
        Err(e) => {
            let mut message = format!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            let _ = writeln!(err, "{message}");
            e.exit_code()
        }
    }
}

fn execute(command: Command, out: &mut dyn Write) -> Result<i32, RunsError> {
    match command {
        Command::Ls {
            dir,
            filter,
            sort,
            reverse,
            json,
        } => {
            let options = LsOptions {
                filter: filter.parse()?,
                sort,
                descending: reverse,
                json,
            };
            ls::ls(&dir, &options, out)?;
            Ok(0)
        }
        Command::Show { run, dir } => {
            let run = scan::read_run(&scan::find_run(&dir, &run)?)?;
            show::show(&run, out)?;
            Ok(0)
        }
        Command::Diff { a, b, dir } => {
            let a = scan::read_run(&scan::find_run(&dir, &a)?)?;
            let b = scan::read_run(&scan::find_run(&dir, &b)?)?;
            Ok(i32::from(show::diff(&a, &b, out)?))
        }
        Command::Rerun {
            run,
            dir,
            force,
            overrides,
        } => {
            let run = rerun::find(&dir, &run)?;
            let done = rerun::rerun(&run, &overrides, force)?;
            if let Some(new) = &done.dir {
                writeln!(out, "rerun of {} in {}", run.id, new.display())
                    .map_err(RunsError::output)?;
            }
            // A signal-killed program has no exit code; 1 says it failed.
            Ok(done.code.unwrap_or(1))
        }
        Command::Verify { run, dir, force } => {
            let run = rerun::find(&dir, &run)?;
            Ok(if rerun::verify(&run, force, out)? {
                0
            } else {
                1
            })
        }
        Command::Report {
            dir,
            filter,
            output,
            points,
        } => {
            let options = ReportOptions {
                ls: LsOptions {
                    filter: filter.parse()?,
                    ..LsOptions::default()
                },
                points: points as usize,
            };
            let done = report::report(&dir, &options, &output)?;
            writeln!(
                out,
                "wrote {} ({} runs, {} KiB)",
                output.display(),
                done.runs,
                done.bytes.div_ceil(1024)
            )
            .map_err(RunsError::output)?;
            Ok(0)
        }
        Command::Ui { dir, port, bind } => {
            let dashboard = Dashboard::bind(&dir, bind, port)?;
            // The first line, flushed: scripts and tests read the URL from it.
            writeln!(out, "{}", dashboard.url())
                .and_then(|()| out.flush())
                .map_err(RunsError::output)?;
            dashboard.run();
            Ok(0)
        }
        Command::Gc {
            dir,
            filter,
            damaged,
            yes,
        } => {
            let options = GcOptions {
                filter: filter.parse()?,
                damaged,
                yes,
            };
            gc::gc(&dir, &options, out)?;
            Ok(0)
        }
    }
}
