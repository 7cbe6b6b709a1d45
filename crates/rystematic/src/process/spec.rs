//! The child protocol: how a parent tells a re-executed copy of itself
//! which experiment to run with which values.
//!
//! The parent writes a [`ChildSpec`] to a JSON file and starts the current
//! executable with [`CHILD_SPEC_ENV`] naming it. The program's entry point
//! (`cli()`) checks for the variable before looking at argv. The spec names
//! the executable it is meant for, so another rystematic program started by
//! the experiment (which inherits the environment) ignores it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::fs::write_atomic;
use crate::value::Value;

/// The environment variable naming a child's spec file.
pub const CHILD_SPEC_ENV: &str = "RYSTEMATIC_CHILD_SPEC";

/// What a child process is asked to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChildSpec {
    /// The executable the spec is for.
    pub(crate) exe: PathBuf,
    /// Group names from the root, then the experiment's name.
    pub(crate) experiment: Vec<String>,
    /// Command-line options, parsed as if typed after the experiment's path.
    #[serde(default)]
    pub(crate) args: Vec<String>,
    /// Values on top of the options (they win).
    #[serde(default)]
    pub(crate) values: BTreeMap<String, Value>,
    /// Where to write the run directory once created (sweeps read it).
    #[serde(default)]
    pub(crate) report: Option<PathBuf>,
}

/// What a child writes to its spec's `report` path once its run directory exists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChildReport {
    pub(crate) run_dir: PathBuf,
    pub(crate) pid: u32,
}

impl ChildSpec {
    /// Writes the spec next to `dir` (or the temp dir) and returns its path.
    pub(crate) fn write(&self, dir: Option<&Path>) -> io::Result<PathBuf> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            ".rystematic-child-{}-{}.json",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir
            .map_or_else(std::env::temp_dir, Path::to_owned)
            .join(name);
        let json = serde_json::to_vec(self).map_err(io::Error::other)?;
        write_atomic(&path, &json)?;
        Ok(path)
    }
}

/// The spec this process was started with, if it is a child of this same
/// executable. Read (and its file removed) once.
pub(crate) fn take() -> Option<Result<ChildSpec, String>> {
    static TAKEN: OnceLock<()> = OnceLock::new();
    let path = PathBuf::from(std::env::var_os(CHILD_SPEC_ENV)?);
    TAKEN.set(()).ok()?;
    let read = || -> Result<ChildSpec, String> {
        let text = std::fs::read(&path)
            .map_err(|e| format!("cannot read child spec '{}': {e}", path.display()))?;
        let _ = std::fs::remove_file(&path);
        serde_json::from_slice(&text)
            .map_err(|e| format!("invalid child spec '{}': {e}", path.display()))
    };
    match read() {
        Ok(spec) if is_current_exe(&spec.exe) => Some(Ok(spec)),
        Ok(_) => None,
        Err(e) => Some(Err(e)),
    }
}

/// If this process is a child that has not served its spec yet, the
/// experiment it was started for. Guards against a `main` that calls
/// `run()` instead of `cli()` (it would start the parent's work again).
pub(crate) fn pending() -> Option<String> {
    let path = PathBuf::from(std::env::var_os(CHILD_SPEC_ENV)?);
    let spec: ChildSpec = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    is_current_exe(&spec.exe).then(|| spec.experiment.join(" "))
}

fn is_current_exe(exe: &Path) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    match (std::env::current_exe().ok(), canonical(exe)) {
        (Some(current), Some(exe)) => canonical(&current).as_ref() == Some(&exe),
        _ => false,
    }
}

/// Where this child should report its run directory (set when serving a spec).
static REPORT: OnceLock<PathBuf> = OnceLock::new();

pub(crate) fn set_report_path(path: PathBuf) {
    let _ = REPORT.set(path);
}

/// Tells the parent where this child's run lives, if it asked.
pub(crate) fn report_run_dir(run_dir: &Path) -> io::Result<()> {
    let Some(path) = REPORT.get() else {
        return Ok(());
    };
    let report = ChildReport {
        run_dir: run_dir.to_owned(),
        pid: std::process::id(),
    };
    write_atomic(
        path,
        &serde_json::to_vec(&report).map_err(io::Error::other)?,
    )
}

/// Reads a child's report, if it wrote one.
pub(crate) fn read_report(path: &Path) -> Option<ChildReport> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}
