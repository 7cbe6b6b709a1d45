//! The Python peers for cross-checks (PyYAML, pystematic), in a venv that
//! `scripts/pyenv` creates on first use and reuses afterwards.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("examples/ is inside the workspace")
        .to_owned()
}

/// The venv's python, creating or updating the venv if needed. Several
/// test binaries may ask at once, so creation holds a file lock.
pub fn python() -> PathBuf {
    let root = workspace();
    let venv = std::env::var_os("RYSTEMATIC_PYENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/pyenv"));
    std::fs::create_dir_all(venv.parent().unwrap()).expect("create target/");
    let lock = File::create(venv.with_extension("lock")).expect("create the venv lock");
    lock.lock().expect("lock the venv");
    let status = Command::new("bash")
        .arg(root.join("scripts/pyenv"))
        .arg(&venv)
        .status()
        .expect("run scripts/pyenv");
    assert!(
        status.success(),
        "scripts/pyenv failed; see its output above"
    );
    venv.join("bin/python")
}

/// The directory holding the Python twins of the examples.
pub fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py")
}

/// TensorBoard's own loader on a run directory (`tests/py/tb_scalars.py`,
/// which first checks every record's framing and checksums): the exit code,
/// and the scalars as `{"<run>": {"<tag>": [[step, value], ...]}}` — or
/// stderr as a string when it failed.
pub fn tb_scalars(dir: &Path) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(python())
        .arg(scripts().join("tb_scalars.py"))
        .arg(dir)
        .output()
        .expect("run tb_scalars.py");
    let code = out.status.code();
    let json = if code == Some(0) {
        serde_json::from_slice(&out.stdout).expect("tb_scalars.py prints JSON")
    } else {
        serde_json::Value::String(String::from_utf8_lossy(&out.stderr).into_owned())
    };
    (code, json)
}

/// Every summary tag's steps in the run's event files, record by record
/// with TensorBoard's own file loader (`tests/py/tb_events.py`): unlike
/// [`tb_scalars`], it shows a step recorded twice twice.
pub fn tb_events(dir: &Path) -> std::collections::BTreeMap<String, Vec<u64>> {
    let out = Command::new(python())
        .arg(scripts().join("tb_events.py"))
        .arg(dir)
        .output()
        .expect("run tb_events.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("tb_events.py prints JSON")
}
