//! Checkpoints: any serde type, saved in the run directory as CBOR (a
//! self-describing binary format: readable without this program's types,
//! exact for floats, NaN and infinities included).

use std::cmp::Ordering;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::CheckpointError;

/// The file a checkpoint called `id` is saved to.
pub fn checkpoint_file_name(id: impl Display) -> String {
    format!("checkpoint-{id}.cbor")
}

/// The most recently written checkpoint (`checkpoint-*.cbor`) in `dir`,
/// or `None` if it has none: the one with the latest modification time;
/// between equal times (the clock stamping files is coarse, a few ms), the
/// larger id — compared as numbers when both are, else as text.
///
/// # Errors
/// If `dir` cannot be listed.
pub fn latest_checkpoint(dir: &Path) -> Result<Option<PathBuf>, CheckpointError> {
    let listing = |e: std::io::Error| CheckpointError::Read {
        path: dir.to_owned(),
        reason: format!("cannot list the directory: {e}"),
    };
    let mut latest: Option<(SystemTime, String, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).map_err(listing)? {
        let entry = entry.map_err(listing)?;
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_prefix("checkpoint-")?.strip_suffix(".cbor"))
        else {
            continue;
        };
        // A file gone meanwhile, or not a file, is no checkpoint.
        let Ok(meta) = entry.metadata() else { continue };
        let Ok(modified) = meta.modified() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let newer = latest
            .as_ref()
            .is_none_or(|(time, best, _)| (modified, IdOrder(id)) > (*time, IdOrder(best)));
        if newer {
            latest = Some((modified, id.to_owned(), entry.path()));
        }
    }
    Ok(latest.map(|(_, _, path)| path))
}

/// Checkpoint ids in order: numbers by value (`10` after `9`), else text.
#[derive(PartialEq, Eq)]
struct IdOrder<'a>(&'a str);

impl PartialOrd for IdOrder<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IdOrder<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.0.parse::<u64>(), other.0.parse::<u64>()) {
            (Ok(a), Ok(b)) => a.cmp(&b).then_with(|| self.0.cmp(other.0)),
            _ => self.0.cmp(other.0),
        }
    }
}

/// Saves `state` as `checkpoint-{id}.cbor` in `dir`, atomically.
#[cfg(test)]
pub(crate) fn save<T: Serialize>(
    dir: &Path,
    state: &T,
    id: impl Display,
) -> Result<PathBuf, CheckpointError> {
    save_encoded(dir, &encode(state)?, id)
}

/// Saves a checkpoint's bytes (see [`encode`]) as `checkpoint-{id}.cbor`
/// in `dir`, atomically.
pub(crate) fn save_encoded(
    dir: &Path,
    bytes: &[u8],
    id: impl Display,
) -> Result<PathBuf, CheckpointError> {
    let path = dir.join(checkpoint_file_name(id));
    rystematic::write_atomic(&path, bytes).map_err(|source| CheckpointError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Loads a checkpoint saved by
/// [`RunRecorder::save_checkpoint`](crate::RunRecorder::save_checkpoint).
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("checkpoint-1.cbor");
/// # std::fs::write(&path, [0x82, 0x01, 0x02]).unwrap();
/// let (epoch, step): (u32, u64) = rystematic_recorder::load_checkpoint(&path)?;
/// # assert_eq!((epoch, step), (1, 2));
/// # Ok::<_, rystematic_recorder::CheckpointError>(())
/// ```
///
/// # Errors
/// If the file cannot be read or does not hold a `T`.
pub fn load_checkpoint<T: DeserializeOwned>(path: &Path) -> Result<T, CheckpointError> {
    let read = |reason: String| CheckpointError::Read {
        path: path.to_owned(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| read(e.to_string()))?;
    decode(&bytes).map_err(read)
}

/// A checkpoint's bytes as a `T`, or why not.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    ciborium::from_reader(bytes).map_err(|e| e.to_string())
}

/// A checkpoint's bytes for `state`.
pub(crate) fn encode<T: Serialize>(state: &T) -> Result<Vec<u8>, CheckpointError> {
    let mut bytes = Vec::new();
    ciborium::into_writer(state, &mut bytes).map_err(|e| CheckpointError::Encode(e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
    struct State {
        weights: Vec<f32>,
        step: u64,
        best: f64,
        by_id: HashMap<u32, String>,
    }

    #[test]
    fn saves_and_loads_any_serde_type_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let state = State {
            weights: vec![0.1, f32::NAN, f32::INFINITY, -0.0],
            step: 7,
            best: f64::MIN_POSITIVE,
            by_id: HashMap::from([(3, "x".into())]),
        };
        let path = save(dir.path(), &state, 7).unwrap();
        assert_eq!(path.file_name().unwrap(), "checkpoint-7.cbor");
        let back: State = load_checkpoint(&path).unwrap();
        assert!(back.weights[1].is_nan());
        assert_eq!(back.weights[2], f32::INFINITY);
        assert_eq!(
            (back.step, back.best, &back.by_id),
            (7, f64::MIN_POSITIVE, &state.by_id)
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp files"
        );
    }

    #[test]
    fn the_latest_checkpoint_is_the_last_written_then_the_largest_id() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(latest_checkpoint(dir.path()).unwrap(), None);
        let at = |name: &str, secs: u64| {
            let path = dir.path().join(name);
            std::fs::write(&path, b"x").unwrap();
            let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(time)
                .unwrap();
            path
        };
        at("checkpoint-100.cbor", 50);
        let best = at("checkpoint-best.cbor", 60);
        at("notes.cbor", 90);
        std::fs::create_dir(dir.path().join("checkpoint-dir.cbor")).unwrap();
        assert_eq!(latest_checkpoint(dir.path()).unwrap(), Some(best));
        // Written in the same clock tick: the larger id, as a number.
        at("checkpoint-9.cbor", 70);
        let ten = at("checkpoint-10.cbor", 70);
        assert_eq!(latest_checkpoint(dir.path()).unwrap(), Some(ten));
        let err = latest_checkpoint(&dir.path().join("gone")).unwrap_err();
        assert!(err.to_string().contains("gone"), "{err}");
    }

    #[test]
    fn loading_the_wrong_type_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = save(dir.path(), &"text", "a").unwrap();
        let err = load_checkpoint::<State>(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("cannot load checkpoint '{}'", path.display())),
            "{err}"
        );
        let missing = load_checkpoint::<State>(&dir.path().join("nope")).unwrap_err();
        assert!(missing.to_string().contains("No such file"), "{missing}");
    }
}
