//! The command-line options of sweeps that run elsewhere than on local
//! processes, on every experiment:
//!
//! ```text
//! prog work --sweep lr=0.1,0.01 --jobs 8 --launcher slurm --slurm-partition gpu --slurm-time 1:00:00
//! prog work --sweep lr=0.1,0.01 --launcher slurm --detach
//! prog work --sweep-status output/sweeps/work/2026-12-01_10-00-00_abc123
//! prog work --sweep-wait output/sweeps/work/2026-12-01_10-00-00_abc123
//! ```
//!
//! The SLURM resources are named `--slurm-*` so that no experiment loses a
//! parameter called `time`, `mem` or `account` to them.

use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, ArgMatches};

use crate::sweep::SlurmLauncher;

pub(crate) const LAUNCHER: &str = "launcher";
pub(crate) const DETACH: &str = "detach";
pub(crate) const STATUS: &str = "sweep-status";
pub(crate) const WAIT: &str = "sweep-wait";
const PARTITION: &str = "slurm-partition";
const TIME: &str = "slurm-time";
const CPUS: &str = "slurm-cpus-per-task";
const MEM: &str = "slurm-mem";
const GPUS: &str = "slurm-gpus-per-task";
const ACCOUNT: &str = "slurm-account";
const QOS: &str = "slurm-qos";
const SBATCH_ARG: &str = "sbatch-arg";

/// Options that configure a sweep's launcher (they need `--sweep`).
pub(crate) const LAUNCH_FLAGS: [&str; 10] = [
    LAUNCHER, DETACH, PARTITION, TIME, CPUS, MEM, GPUS, ACCOUNT, QOS, SBATCH_ARG,
];

/// Options that follow an existing sweep (no `--sweep`).
pub(crate) const FOLLOW_FLAGS: [&str; 2] = [STATUS, WAIT];

/// The options, in the sweeps' help section.
pub(crate) fn args() -> Vec<Arg> {
    let text = |id: &'static str, value: &'static str, help: &'static str| {
        Arg::new(id).long(id).value_name(value).help(help)
    };
    vec![
        Arg::new(LAUNCHER)
            .long(LAUNCHER)
            .value_name("NAME")
            .value_parser(PossibleValuesParser::new(["local", "slurm"]))
            .ignore_case(true)
            .help("With --sweep: where runs execute: local processes, or one SLURM job array. Default: local"),
        Arg::new(DETACH)
            .long(DETACH)
            .action(ArgAction::SetTrue)
            .help("With --launcher slurm: submit, print the job id and sweep directory, and exit"),
        text(PARTITION, "NAME", "With --launcher slurm: the partition (sbatch --partition)"),
        text(TIME, "TIME", "With --launcher slurm: each run's time limit (sbatch --time)"),
        Arg::new(CPUS)
            .long(CPUS)
            .value_name("N")
            .value_parser(clap::value_parser!(u32).range(1..))
            .help("With --launcher slurm: CPUs per run (sbatch --cpus-per-task)"),
        text(MEM, "SIZE", "With --launcher slurm: memory per run (sbatch --mem)"),
        text(GPUS, "N", "With --launcher slurm: GPUs per run (sbatch --gpus-per-task)"),
        text(ACCOUNT, "NAME", "With --launcher slurm: the account (sbatch --account)"),
        text(QOS, "NAME", "With --launcher slurm: the quality of service (sbatch --qos)"),
        Arg::new(SBATCH_ARG)
            .long(SBATCH_ARG)
            .value_name("FLAG")
            .action(ArgAction::Append)
            .allow_hyphen_values(true)
            .help("With --launcher slurm: any other sbatch flag, e.g. --sbatch-arg=--constraint=a100 (repeatable)"),
        text(STATUS, "DIR", "Show the sweep in DIR as it stands (a SLURM sweep: what is queued or running)"),
        text(WAIT, "DIR", "Wait for the SLURM sweep in DIR to end, then print its report"),
    ]
}

/// The SLURM launcher the options ask for, if they ask for one.
pub(crate) fn launcher(matches: &ArgMatches) -> Option<SlurmLauncher> {
    let slurm = matches
        .get_one::<String>(LAUNCHER)
        .is_some_and(|l| l.eq_ignore_ascii_case("slurm"));
    if !slurm {
        return None;
    }
    let mut launcher = SlurmLauncher::new();
    let text = |id: &str| matches.get_one::<String>(id).cloned();
    if let Some(v) = text(PARTITION) {
        launcher = launcher.partition(v);
    }
    if let Some(v) = text(TIME) {
        launcher = launcher.time(v);
    }
    if let Some(&n) = matches.get_one::<u32>(CPUS) {
        launcher = launcher.cpus_per_task(n);
    }
    if let Some(v) = text(MEM) {
        launcher = launcher.mem(v);
    }
    if let Some(v) = text(GPUS) {
        launcher = launcher.gpus_per_task(v);
    }
    if let Some(v) = text(ACCOUNT) {
        launcher = launcher.account(v);
    }
    if let Some(v) = text(QOS) {
        launcher = launcher.qos(v);
    }
    for arg in matches.get_many::<String>(SBATCH_ARG).into_iter().flatten() {
        launcher = launcher.sbatch_arg(arg.clone());
    }
    Some(launcher)
}

/// Whether a SLURM-only option was given without `--launcher slurm`.
pub(crate) fn slurm_option_without_slurm(matches: &ArgMatches) -> Option<&'static str> {
    if launcher(matches).is_some() {
        return None;
    }
    LAUNCH_FLAGS[1..]
        .iter()
        .copied()
        .find(|id| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
}

/// `--sweep-status DIR` or `--sweep-wait DIR`: the directory and whether
/// to wait.
pub(crate) fn follow(matches: &ArgMatches) -> Option<(PathBuf, bool)> {
    if let Some(dir) = matches.get_one::<String>(WAIT) {
        return Some((PathBuf::from(dir), true));
    }
    matches
        .get_one::<String>(STATUS)
        .map(|dir| (PathBuf::from(dir), false))
}
