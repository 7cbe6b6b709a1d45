//! The built-in parameters every experiment has: where runs go, logging,
//! params files, the seed, and the two internal ones that make a process a
//! subprocess of a run.

use super::Param;

/// Names of the built-in parameters.
pub(crate) mod names {
    pub(crate) const OUTPUT_DIR: &str = "output_dir";
    pub(crate) const DEBUG: &str = "debug";
    pub(crate) const PARAMS_FILE: &str = "params_file";
    pub(crate) const RANDOM_SEED: &str = "random_seed";
    pub(crate) const SUBPROCESS: &str = "subprocess";
    pub(crate) const LOCAL_RANK: &str = "local_rank";
}

/// The built-in parameters, in help order.
pub(crate) fn params() -> Vec<Param> {
    use names::*;
    vec![
        Param::path(OUTPUT_DIR)
            .default("./output")
            .help("Parent directory of all run directories. Created if it does not exist."),
        Param::flag(DEBUG).help("Log DEBUG messages too."),
        Param::path(PARAMS_FILE).allow_from_file(false).help(
            "Read parameter values from a YAML file, such as the parameters.yaml of an earlier \
             run. Options given after it on the command line override the file; options given \
             before it are overridden by it.",
        ),
        Param::int(RANDOM_SEED)
            .default_with(|| {
                // A 32-bit seed, like pystematic's; only fails if the OS has
                // no randomness at all.
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
