//! What a run directory holds, and how it comes to exist: the layout and
//! file formats every other layer (and the `rystematic` tool) reads.
//!
//! * [`dir`] — creating a run directory atomically under a unique name;
//! * [`info`] — `run.json`: status, timing, identity, provenance;
//! * [`git`] and [`provenance`] — what `run.json` says about the code;
//! * the file names below.

pub(crate) mod dir;
pub(crate) mod git;
mod git_cache;
mod git_index;
mod git_scan;
pub(crate) mod info;
pub(crate) mod provenance;
pub(crate) mod slurm_ids;

pub use info::RUN_INFO_FILE;

/// File name of the resolved parameters inside a run directory.
pub const PARAMETERS_FILE: &str = "parameters.yaml";

/// `log.txt` for the main process, `log.rank-N.txt` for subprocess N.
pub(crate) fn log_file_name(local_rank: u32) -> String {
    if local_rank == 0 {
        "log.txt".to_owned()
    } else {
        format!("log.rank-{local_rank}.txt")
    }
}

/// Where rystematic keeps what it may recompute: `$XDG_CACHE_HOME/rystematic`,
/// else `~/.cache/rystematic` (`None` with neither set).
pub(crate) fn cache_root() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| std::path::PathBuf::from(home).join(".cache"))
        })?;
    Some(base.join("rystematic"))
}

/// This machine's name, as `run.json` and the sweep lock record it (empty
/// if the OS will not say).
pub(crate) fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
}
