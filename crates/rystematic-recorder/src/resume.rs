//! What a resumed run's earlier attempts recorded, so the recorder goes on
//! after it without recording a step twice.
//!
//! An experiment resumed in place (`--resume-run`) typically goes back to
//! its last checkpoint and replays the steps it did after it. Those steps
//! are already in `scalars.csv` and the event files (up to the last flush
//! before the stop), so the recorder drops every record of a tag at a step
//! that tag already has. The rule is per tag, not one step for all: tags
//! are not all counted alike (Burn's `valid/*` go by validation iteration,
//! `epoch/*` by epoch), and a tag the earlier attempts never recorded (the
//! final metrics of a run that stopped just before them) is always kept.
//!
//! Reading also repairs: a file whose last record was cut short (a crash
//! outside the page layout's guarantee, see [`crate::append`]) is cut back
//! to its last whole record, so appending goes on after whole records only.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use crate::error::RecorderError;
use crate::files::{SCALARS_FILE, file_stem};

/// Per tag, the last step a run's earlier attempts recorded.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    /// Scalars (from `scalars.csv` and the event files), images, figures
    /// and text (from the event files), by tag.
    tags: HashMap<String, u64>,
    /// Images, figures and text of the files backend, by `{kind}/{file
    /// stem}` (its file names keep only the stem of a tag).
    files: HashMap<String, u64>,
}

impl Recorded {
    /// Reads what is recorded in `dir`, cutting torn tails.
    ///
    /// # Errors
    /// If a file there cannot be read or cut back.
    pub(crate) fn read(dir: &Path) -> Result<Recorded, RecorderError> {
        let mut recorded = Recorded::default();
        let csv = dir.join(SCALARS_FILE);
        scan_csv(&csv, &mut recorded.tags).map_err(|source| RecorderError::Io {
            path: csv.clone(),
            source,
        })?;
        crate::tensorboard::scan_dir(dir, &mut recorded.tags)?;
        for kind in ["images", "figures", "text"] {
            let sub = dir.join(kind);
            scan_files(&sub, kind, &mut recorded.files)
                .map_err(|source| RecorderError::Io { path: sub, source })?;
        }
        Ok(recorded)
    }

    /// Whether `tag` already has a record at `step` or later.
    pub(crate) fn covers(&self, tag: &str, step: u64) -> bool {
        self.tags.get(tag).is_some_and(|&last| step <= last)
    }

    /// Whether an image, figure or text (`kind`) of `tag` already has a
    /// record at `step` or later, in either backend.
    pub(crate) fn covers_file(&self, kind: &str, tag: &str, step: u64) -> bool {
        self.covers(tag, step)
            || self
                .files
                .get(&format!("{kind}/{}", file_stem(tag)))
                .is_some_and(|&last| step <= last)
    }

    /// The last step recorded, of any tag.
    pub(crate) fn last_step(&self) -> Option<u64> {
        self.tags.values().chain(self.files.values()).copied().max()
    }
}

/// Raises `last[tag]` to `step`.
pub(crate) fn note(last: &mut HashMap<String, u64>, tag: &str, step: u64) {
    match last.get_mut(tag) {
        Some(seen) => *seen = (*seen).max(step),
        None => {
            last.insert(tag.to_owned(), step);
        }
    }
}

/// Cuts `path` back to its first `len` bytes, saying so.
pub(crate) fn cut_back(path: &Path, len: u64, what: &str) -> io::Result<()> {
    tracing::warn!(
        target: "recorder",
        "{} ended with a torn {what}: cut back to its last whole one ({len} bytes)",
        path.display()
    );
    OpenOptions::new().write(true).open(path)?.set_len(len)
}

/// Each tag's last step in `scalars.csv` (if there is one), after cutting
/// a torn last row. Read row by row: a long run's file can be large.
fn scan_csv(path: &Path, last: &mut HashMap<String, u64>) -> io::Result<()> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut row = Vec::new();
    // Bytes of whole rows so far.
    let mut whole = 0u64;
    loop {
        row.clear();
        // One line, or more while a quoted tag holds a line break.
        while reader.read_until(b'\n', &mut row)? > 0
            && row.ends_with(b"\n")
            && row.iter().filter(|&&b| b == b'"').count() % 2 == 1
        {}
        if row.is_empty() {
            return Ok(());
        }
        if !row.ends_with(b"\n") {
            return cut_back(path, whole, "row");
        }
        whole += row.len() as u64;
        if let Some((step, tag)) = parse_row(&row) {
            note(last, &tag, step);
        }
    }
}

/// The `(step, tag)` of a `step,tag,value` row, unquoting the tag; `None`
/// for the header, a blank line (page filler) or anything else.
fn parse_row(row: &[u8]) -> Option<(u64, Cow<'_, str>)> {
    let comma = row.iter().position(|&b| b == b',')?;
    let step = std::str::from_utf8(&row[..comma]).ok()?.parse().ok()?;
    let rest = &row[comma + 1..];
    let tag = match rest.strip_prefix(b"\"") {
        Some(quoted) => {
            let mut tag = Vec::new();
            let mut i = 0;
            loop {
                match (quoted.get(i)?, quoted.get(i + 1)) {
                    (b'"', Some(b'"')) => {
                        tag.push(b'"');
                        i += 2;
                    }
                    (b'"', _) => break,
                    (&b, _) => {
                        tag.push(b);
                        i += 1;
                    }
                }
            }
            Cow::Owned(String::from_utf8(tag).ok()?)
        }
        None => {
            let end = rest.iter().position(|&b| b == b',')?;
            Cow::Borrowed(std::str::from_utf8(&rest[..end]).ok()?)
        }
    };
    Some((step, tag))
}

/// Each `{kind}/{stem}`'s last step among the files-backend files in `dir`
/// (`{stem}-{step}.png` or `.txt`; other names, such as a temporary file
/// left by a crash, are skipped).
fn scan_files(dir: &Path, kind: &str, last: &mut HashMap<String, u64>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(base) = name
            .strip_suffix(".png")
            .or_else(|| name.strip_suffix(".txt"))
        else {
            continue;
        };
        if let Some((stem, step)) = base.rsplit_once('-')
            && let Ok(step) = step.parse::<u64>()
        {
            note(last, &format!("{kind}/{stem}"), step);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::{Backend, Recorder, RecorderState};

    #[test]
    fn csv_rows_are_read_back_with_quoted_tags_and_filler_skipped() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(SCALARS_FILE),
            "step,tag,value\n0,a,1.0\n\n\n3,\"x,\"\"y\"\"\",2.5\n4,\"two\nlines\",1\n12,a,NaN\n",
        )
        .unwrap();
        let mut last = HashMap::new();
        scan_csv(&dir.path().join(SCALARS_FILE), &mut last).unwrap();
        let expected: HashMap<String, u64> = [("a", 12), ("x,\"y\"", 3), ("two\nlines", 4)]
            .map(|(t, s)| (t.to_owned(), s))
            .into();
        assert_eq!(last, expected);
        assert_eq!(parse_row(b"step,tag,value\n"), None);
        assert_eq!(parse_row(b"\n"), None);
    }

    #[test]
    fn a_torn_last_row_is_cut_and_each_tag_keeps_its_own_last_step() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join(SCALARS_FILE);
        fs::write(&csv, "step,tag,value\n5,train,1.0\n2,valid,3.0\n6,tra").unwrap();
        let recorded = Recorded::read(dir.path()).unwrap();
        assert_eq!(
            fs::read_to_string(&csv).unwrap(),
            "step,tag,value\n5,train,1.0\n2,valid,3.0\n"
        );
        assert!(recorded.covers("train", 5) && !recorded.covers("train", 6));
        assert!(recorded.covers("valid", 1) && !recorded.covers("valid", 3));
        assert!(
            !recorded.covers("final/loss", 0),
            "a new tag is always kept"
        );
        assert_eq!(recorded.last_step(), Some(5));
    }

    #[test]
    fn files_backend_images_count_by_their_file_stem() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("images")).unwrap();
        fs::write(dir.path().join("images/samples.last-29.png"), b"png").unwrap();
        fs::write(dir.path().join("images/.samples.last-30.png.tmp"), b"").unwrap();
        let recorded = Recorded::read(dir.path()).unwrap();
        assert!(recorded.covers_file("images", "samples/last", 29));
        assert!(!recorded.covers_file("images", "samples/last", 30));
        assert!(!recorded.covers_file("figures", "samples/last", 1));
        assert_eq!(recorded.last_step(), Some(29));
        assert_eq!(
            Recorded::read(&dir.path().join("none"))
                .unwrap()
                .last_step(),
            None
        );
    }

    /// Every `(tag, step)` of the summaries in the event files of `dir`.
    #[cfg(feature = "tensorboard")]
    fn event_steps(dir: &Path) -> Vec<(String, i64)> {
        use crate::tensorboard::proto::{Event, EventWhat};
        use prost::Message;
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("tfevents"))
            .collect();
        paths.sort();
        let mut steps = Vec::new();
        for path in paths {
            let bytes = std::fs::read(path).unwrap();
            for record in crate::tensorboard::record::read_records(&bytes).unwrap() {
                if let Some(EventWhat::Summary(s)) = Event::decode(record).unwrap().what {
                    for value in s.value {
                        steps.push((value.tag, Event::decode(record).unwrap().step));
                    }
                }
            }
        }
        steps
    }

    #[test]
    fn a_resumed_recorder_appends_and_drops_the_steps_it_has() {
        let dir = tempfile::tempdir().unwrap();
        let backends = [Backend::Files, Backend::TensorBoard]
            .into_iter()
            .filter(|b| b.is_available())
            .collect::<Vec<_>>();
        let first = Recorder::create(dir.path(), &backends).unwrap();
        assert_eq!(first.resumed_after(), None);
        for step in 0..5 {
            first.scalar("a", step as f64);
            if step == 2 {
                first.scalar("b", 0.5);
                first.text("notes", "first").unwrap();
            }
            first.step().unwrap();
        }
        first.finish(false).unwrap();

        // The experiment goes back to its checkpoint at step 3.
        let second = Recorder::resume(dir.path(), &backends).unwrap();
        assert_eq!(second.resumed_after(), Some(4));
        second.restore(&RecorderState { count: 3 });
        for step in 3..7 {
            second.scalar("a", step as f64 + 0.5);
            second.scalar("b", 1.5);
            second.text("notes", "second").unwrap();
            second.step().unwrap();
        }
        second.finish(true).unwrap();
        let csv = std::fs::read_to_string(dir.path().join("scalars.csv")).unwrap();
        assert_eq!(
            csv,
            "step,tag,value\n0,a,0.0\n1,a,1.0\n2,a,2.0\n2,b,0.5\n3,a,3.0\n4,a,4.0\n\
             3,b,1.5\n4,b,1.5\n5,a,5.5\n5,b,1.5\n6,a,6.5\n6,b,1.5\n"
        );
        let texts: Vec<String> = std::fs::read_dir(dir.path().join("text"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(texts.len(), 5, "steps 2..=6 once each: {texts:?}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("text/notes-2.txt")).unwrap(),
            "first",
            "not overwritten"
        );
        #[cfg(feature = "tensorboard")]
        {
            let mut steps = event_steps(dir.path());
            let n = steps.len();
            steps.sort();
            steps.dedup();
            assert_eq!(steps.len(), n, "no (tag, step) twice in the event files");
            assert_eq!(
                steps.iter().filter(|(tag, _)| tag == "a").count(),
                7,
                "{steps:?}"
            );
        }
    }
}
