//! The options every experiment's command line has besides its
//! parameters: the sweep options and `--resume-run`.

use std::path::PathBuf;

use clap::{Arg, ArgMatches};

use super::sweep;

const RESUME_RUN: &str = "resume-run";

/// Every run-level option, in help order.
pub(crate) fn all() -> impl Iterator<Item = Arg> {
    sweep::args().into_iter().chain([Arg::new(RESUME_RUN)
        .long(RESUME_RUN)
        .value_name("RUN_DIR")
        .value_parser(clap::value_parser!(PathBuf))
        .conflicts_with_all(sweep::FLAGS)
        .help(
            "Go on with a stopped run (failed, interrupted or dead) in its own directory, with \
             its recorded parameters and the next attempt number",
        )])
}

/// The run directory `--resume-run` names, if given.
pub(crate) fn resume_run(matches: &ArgMatches) -> Option<PathBuf> {
    matches.get_one::<PathBuf>(RESUME_RUN).cloned()
}
