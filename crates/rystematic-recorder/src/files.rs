//! The plain-file backend: `scalars.csv` (`step,tag,value`), PNGs under
//! `images/` and `figures/` named `{tag with / → .}-{step}.png`, text under
//! `text/`, and `hparams.json`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::RecorderError;
use crate::image::Png;
use crate::recorder::HParam;

pub(crate) const SCALARS_FILE: &str = "scalars.csv";

pub(crate) struct FilesWriter {
    dir: PathBuf,
    /// Rows are far shorter than the buffer, so a row is never split
    /// between two writes.
    csv: BufWriter<File>,
}

impl FilesWriter {
    pub(crate) fn create(dir: &Path) -> Result<FilesWriter, RecorderError> {
        let path = dir.join(SCALARS_FILE);
        let io = |source| RecorderError::Io {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        let mut csv = BufWriter::with_capacity(64 * 1024, file);
        csv.write_all(b"step,tag,value\n").map_err(io)?;
        csv.flush().map_err(io)?;
        Ok(FilesWriter {
            dir: dir.to_owned(),
            csv,
        })
    }

    /// One `step,tag,value` row; the value in its shortest exact form.
    /// (The hot path of a busy recorder: itoa and zmij instead of
    /// `format!`, which spent a third of the time formatting floats.)
    pub(crate) fn scalar(&mut self, step: u64, tag: &str, value: f64) -> io::Result<()> {
        let csv = &mut self.csv;
        csv.write_all(itoa::Buffer::new().format(step).as_bytes())?;
        if tag.contains([',', '"', '\n', '\r']) {
            write!(csv, ",\"{}\",", tag.replace('"', "\"\""))?;
        } else {
            csv.write_all(b",")?;
            csv.write_all(tag.as_bytes())?;
            csv.write_all(b",")?;
        }
        csv.write_all(zmij::Buffer::new().format(value).as_bytes())?;
        csv.write_all(b"\n")
    }

    /// Writes `png` to `{kind}/{tag}-{step}.png` (`kind`: images, figures).
    pub(crate) fn png(
        &self,
        kind: &str,
        step: u64,
        tag: &str,
        png: &Png,
    ) -> Result<(), RecorderError> {
        self.write(kind, &format!("{}-{step}.png", file_stem(tag)), &png.bytes)
    }

    pub(crate) fn text(&self, step: u64, tag: &str, text: &str) -> Result<(), RecorderError> {
        self.write(
            "text",
            &format!("{}-{step}.txt", file_stem(tag)),
            text.as_bytes(),
        )
    }

    pub(crate) fn hparams(
        &self,
        hparams: &[(String, HParam)],
        metrics: &[(&str, f64)],
    ) -> Result<(), RecorderError> {
        let json = hparams_json(hparams, metrics);
        let path = self.dir.join("hparams.json");
        rystematic::write_atomic(&path, json.as_bytes())
            .map_err(|source| RecorderError::Io { path, source })
    }

    fn write(&self, kind: &str, name: &str, bytes: &[u8]) -> Result<(), RecorderError> {
        let dir = self.dir.join(kind);
        let path = dir.join(name);
        fs::create_dir_all(&dir)
            .and_then(|()| rystematic::write_atomic(&path, bytes))
            .map_err(|source| RecorderError::Io { path, source })
    }

    pub(crate) fn flush(&mut self) -> Result<(), RecorderError> {
        self.csv.flush().map_err(|source| RecorderError::Io {
            path: self.dir.join(SCALARS_FILE),
            source,
        })
    }
}

/// `train/loss` → `train.loss`: a tag as a file name.
pub(crate) fn file_stem(tag: &str) -> String {
    tag.chars()
        .map(|c| match c {
            '/' | '\\' => '.',
            c if c.is_control() => '_',
            c => c,
        })
        .collect()
}

/// `{"hparams": {...}, "metrics": {...}}`.
fn hparams_json(hparams: &[(String, HParam)], metrics: &[(&str, f64)]) -> String {
    let hparams: serde_json::Map<String, serde_json::Value> = hparams
        .iter()
        .map(|(name, value)| {
            let value = match value {
                HParam::Text(s) => serde_json::Value::from(s.as_str()),
                HParam::Bool(b) => serde_json::Value::from(*b),
                HParam::Number(x) => serde_json::Value::from(*x),
            };
            (name.clone(), value)
        })
        .collect();
    let metrics: serde_json::Map<String, serde_json::Value> = metrics
        .iter()
        .map(|(tag, value)| ((*tag).to_owned(), serde_json::Value::from(*value)))
        .collect();
    let mut json = serde_json::to_string_pretty(&serde_json::json!({
        "hparams": hparams,
        "metrics": metrics,
    }))
    .expect("JSON values always serialise");
    json.push('\n');
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_become_file_names() {
        assert_eq!(file_stem("train/loss"), "train.loss");
        assert_eq!(file_stem("a\\b\nc"), "a.b_c");
    }

    #[test]
    fn csv_rows_quote_awkward_tags() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = FilesWriter::create(dir.path()).unwrap();
        files.scalar(0, "plain", 0.5).unwrap();
        files.scalar(1, "a,\"b\"", -2.0).unwrap();
        files.flush().unwrap();
        let text = fs::read_to_string(dir.path().join(SCALARS_FILE)).unwrap();
        assert_eq!(
            text,
            "step,tag,value\n0,plain,0.5\n1,\"a,\"\"b\"\"\",-2.0\n"
        );
    }
}
