//! The plain-file backend: `scalars.csv` (`step,tag,value`), PNGs under
//! `images/` and `figures/` named `{tag with / → .}-{step}.png`, text under
//! `text/`, and `hparams.json`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::append::Appender;
use crate::error::RecorderError;
use crate::hparam::HParam;
use crate::image::Png;

pub(crate) const SCALARS_FILE: &str = "scalars.csv";

/// Filler for the rest of a page.
const BLANK_LINES: [u8; crate::append::PAGE] = [b'\n'; crate::append::PAGE];

pub(crate) struct FilesWriter {
    dir: PathBuf,
    csv: Appender,
    /// Scratch space for one row.
    row: Vec<u8>,
}

impl FilesWriter {
    pub(crate) fn create(dir: &Path) -> Result<FilesWriter, RecorderError> {
        let path = dir.join(SCALARS_FILE);
        let csv = Appender::create_new(&path).map_err(|source| RecorderError::Io {
            path: path.clone(),
            source,
        })?;
        FilesWriter::over(dir, csv)
    }

    /// Goes on with the `scalars.csv` of a run's earlier attempts, after
    /// its last row (no second header), or starts it if there is none.
    /// Its torn tail, if any, must already be cut ([`crate::resume`]).
    pub(crate) fn append(dir: &Path) -> Result<FilesWriter, RecorderError> {
        let path = dir.join(SCALARS_FILE);
        let csv = Appender::open_append(&path).map_err(|source| RecorderError::Io {
            path: path.clone(),
            source,
        })?;
        if csv.end() == 0 {
            return FilesWriter::over(dir, csv);
        }
        Ok(FilesWriter {
            dir: dir.to_owned(),
            csv,
            row: Vec::with_capacity(128),
        })
    }

    /// Writes `scalars.csv` through `csv`, starting with its header.
    pub(crate) fn over(dir: &Path, mut csv: Appender) -> Result<FilesWriter, RecorderError> {
        csv.push(b"step,tag,value\n");
        csv.flush().map_err(|source| RecorderError::Io {
            path: csv.path().to_owned(),
            source,
        })?;
        Ok(FilesWriter {
            dir: dir.to_owned(),
            csv,
            row: Vec::with_capacity(128),
        })
    }

    /// One `step,tag,value` row; the value in its shortest exact form.
    /// (The hot path of a busy recorder: itoa and zmij instead of
    /// `format!`, which spent a third of the time formatting floats.)
    ///
    /// A row that would straddle a page boundary goes to the next page and
    /// the rest of this one is blank lines, which CSV readers skip, so a
    /// killed write never leaves half a row (see [`crate::append`]).
    pub(crate) fn scalar(&mut self, step: u64, tag: &str, value: f64) {
        let row = &mut self.row;
        row.clear();
        row.extend_from_slice(itoa::Buffer::new().format(step).as_bytes());
        row.push(b',');
        if tag.contains([',', '"', '\n', '\r']) {
            row.push(b'"');
            row.extend_from_slice(tag.replace('"', "\"\"").as_bytes());
            row.push(b'"');
        } else {
            row.extend_from_slice(tag.as_bytes());
        }
        row.push(b',');
        row.extend_from_slice(zmij::Buffer::new().format(value).as_bytes());
        row.push(b'\n');
        let left = self.csv.remaining_in_page();
        if row.len() > left && left > 0 {
            self.csv.push(&BLANK_LINES[..left]);
        }
        self.csv.push(&self.row);
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
            path: self.csv.path().to_owned(),
            source,
        })
    }

    /// The last flush; an error if any row was lost (see
    /// [`Appender::close`]).
    pub(crate) fn close(&mut self) -> Result<(), RecorderError> {
        self.csv.close().map_err(|source| RecorderError::Io {
            path: self.csv.path().to_owned(),
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
    use crate::append::PAGE;
    use crate::append::fault::Disk;

    #[test]
    fn rows_never_straddle_a_page_and_blank_lines_fill_the_gap() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = FilesWriter::create(dir.path()).unwrap();
        for step in 0..5000 {
            files.scalar(
                step,
                &"t".repeat((step % 41) as usize + 1),
                1.0 / (1.0 + step as f64),
            );
        }
        files.flush().unwrap();
        let text = fs::read_to_string(dir.path().join(SCALARS_FILE)).unwrap();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let end = offset + line.len();
            assert_eq!(offset / PAGE, (end - 1) / PAGE, "{line:?} straddles");
            offset = end;
        }
        let rows: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), 5001);
        assert!(text.lines().any(str::is_empty), "some page needed filling");
    }

    /// The lines of a CSV, checked: none straddles a page, each is blank
    /// or a whole `step,tag,value` row. Returns the rows' steps.
    fn whole_rows(text: &str) -> Vec<u64> {
        let mut offset = 0;
        let mut steps = Vec::new();
        for line in text.split_inclusive('\n') {
            let end = offset + line.len();
            assert_eq!(offset / PAGE, (end - 1) / PAGE, "{line:?} straddles");
            assert!(line.ends_with('\n'), "a torn last line: {line:?}");
            offset = end;
            let line = line.trim_end();
            if line.is_empty() || line == "step,tag,value" {
                continue;
            }
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 3, "{line:?}");
            assert!(fields[1].chars().all(|c| c == 't'), "{line:?}");
            fields[2].parse::<f64>().unwrap();
            steps.push(fields[0].parse().unwrap());
        }
        steps
    }

    fn row(files: &mut FilesWriter, step: u64) {
        files.scalar(
            step,
            &"t".repeat((step % 41) as usize + 1),
            1.0 / (1.0 + step as f64),
        );
    }

    #[test]
    fn a_full_disk_tears_no_row_and_loses_none_when_space_comes_back() {
        let disk = Disk::with_free(10_000);
        let csv = Appender::with_sink(Path::new(SCALARS_FILE), disk.sink());
        let mut files = FilesWriter::over(Path::new("."), csv).unwrap();
        let mut failed = 0;
        for step in 0..3000 {
            row(&mut files, step);
            if step % 10 == 9 && files.flush().is_err() {
                failed += 1;
            }
            if step == 1500 {
                disk.state().free = None;
            }
        }
        files.close().unwrap();
        assert!(
            failed > 10 && disk.state().failed_writes > 0,
            "the disk was full"
        );
        let text = String::from_utf8(disk.state().data.clone()).unwrap();
        assert_eq!(whole_rows(&text), (0..3000).collect::<Vec<_>>());
    }

    #[test]
    fn rows_lost_to_a_full_disk_fail_the_close_and_none_is_torn() {
        let disk = Disk::with_free(10_000);
        let csv = Appender::with_sink(Path::new(SCALARS_FILE), disk.sink());
        let mut files = FilesWriter::over(Path::new("."), csv).unwrap();
        let full_until = 200_000;
        for step in 0..full_until + 1000 {
            row(&mut files, step);
            if step % 10 == 9 {
                let _ = files.flush();
            }
            if step == full_until {
                disk.state().free = None;
            }
        }
        let err = files.close().unwrap_err().to_string();
        assert!(err.contains("scalars.csv") && err.contains("lost"), "{err}");
        let text = String::from_utf8(disk.state().data.clone()).unwrap();
        let steps = whole_rows(&text);
        assert!(
            steps.windows(2).all(|w| w[0] < w[1]),
            "in order, none merged"
        );
        assert!(steps.len() < 100_000, "some were lost: {}", steps.len());
        assert_eq!(steps.last(), Some(&(full_until + 999)), "recording went on");
    }

    #[test]
    fn tags_become_file_names() {
        assert_eq!(file_stem("train/loss"), "train.loss");
        assert_eq!(file_stem("a\\b\nc"), "a.b_c");
    }

    #[test]
    fn csv_rows_quote_awkward_tags() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = FilesWriter::create(dir.path()).unwrap();
        files.scalar(0, "plain", 0.5);
        files.scalar(1, "a,\"b\"", -2.0);
        files.flush().unwrap();
        let text = fs::read_to_string(dir.path().join(SCALARS_FILE)).unwrap();
        assert_eq!(
            text,
            "step,tag,value\n0,plain,0.5\n1,\"a,\"\"b\"\"\",-2.0\n"
        );
    }
}
