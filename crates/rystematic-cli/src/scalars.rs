//! Reading `scalars.csv` (`step,tag,value`, written by the recorder).
//!
//! `ls` wants only the last value of each tag, and a long run's file can be
//! hundreds of megabytes, so [`last_values`] reads the head (to learn the
//! tags, which a training loop records from its first steps) and then the
//! file backwards from the end until every tag has been seen. Blank lines
//! (the recorder's page padding) are skipped, as is a cut last line.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// File name of the recorder's scalars inside a run directory.
pub const SCALARS_FILE: &str = "scalars.csv";

/// How much is read at once, from the head and from the tail.
const CHUNK: u64 = 64 * 1024;

/// One recorded value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// The step it was recorded at.
    pub step: u64,
    /// The value.
    pub value: f64,
}

/// Splits one CSV row into step, tag and value (`None` for blank lines,
/// the header, and anything malformed). Tags may be quoted.
pub fn parse_row(line: &[u8]) -> Option<(u64, String, f64)> {
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let (step, rest) = line.split_once(',')?;
    let step = step.parse().ok()?;
    let (tag, value) = rest.rsplit_once(',')?;
    let tag = match tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => tag.to_owned(),
    };
    Some((step, tag, value.parse().ok()?))
}

/// The last value of each tag in `path` (empty if the file does not exist).
///
/// A tag first recorded beyond the first 64 KiB and absent from the part
/// of the tail that had to be read anyway can be missed; that is the price
/// of not reading the whole file.
pub fn last_values(path: &Path) -> io::Result<BTreeMap<String, Point>> {
    last_values_of(path, true)
}

/// [`last_values`], refusing a symlinked file unless `follow`.
pub(crate) fn last_values_of(path: &Path, follow: bool) -> io::Result<BTreeMap<String, Point>> {
    let mut file = match crate::read::open(path, follow) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    // Most files are smaller than a chunk: read to the end without a
    // `stat` for the size (the whole file has been read when at most a
    // chunk came).
    crate::read::with_buffer(|buf| {
        let got = crate::read::read_into(&mut file, buf, CHUNK as usize + 1)?;
        let small = got as u64 <= CHUNK;
        last_values_from(&mut file, &buf[..got.min(CHUNK as usize)], small)
    })
}

/// [`last_values`] of a file whose `head` (its first [`CHUNK`] bytes, the
/// whole file when `small`) has been read.
fn last_values_from(
    file: &mut File,
    head: &[u8],
    small: bool,
) -> io::Result<BTreeMap<String, Point>> {
    // The head's complete lines. A last line without its newline may still
    // be being written: it is skipped.
    let head_complete = match head.iter().rposition(|&b| b == b'\n') {
        Some(end) => &head[..=end],
        None => &[][..],
    };
    let mut last = Last::default();
    if small {
        if let Some(values) = last_rows(head_complete) {
            return Ok(values);
        }
        // Newest rows first, each tag's first sighting wins; only those
        // rows are parsed in full.
        for line in lines_rev(head_complete) {
            last.take_if_new(line);
        }
        return Ok(last.values);
    }
    let len = file.metadata()?.len();
    let wanted: BTreeSet<&[u8]> = head_complete
        .split(|&b| b == b'\n')
        .filter_map(split_row)
        // Rows only: the header's step is not a number.
        .filter(|(step, _, _)| !step.is_empty() && step.iter().all(u8::is_ascii_digit))
        .map(|(_, tag, _)| tag)
        .collect();

    // Backwards from the end, a chunk at a time, down to the head.
    let mut end = len;
    let mut carry: Vec<u8> = Vec::new();
    let floor = head_complete.len() as u64;
    while end > floor && last.seen.len() < wanted.len() {
        let start = end.saturating_sub(CHUNK).max(floor);
        let mut chunk = vec![0; (end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&carry);
        // The first (partial) line waits for the next chunk, unless this
        // chunk starts at a line start.
        let first_full = if start == floor {
            0
        } else {
            match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => {
                    carry = chunk;
                    end = start;
                    continue;
                }
            }
        };
        let mut lines = chunk[first_full..].rsplit(|&b| b == b'\n');
        if end == len {
            // What follows the last newline is empty, or a cut row.
            lines.next();
        }
        for line in lines {
            last.take_if_new(line);
        }
        carry = chunk[..first_full].to_vec();
        end = start;
    }
    // Tags not seen in the tail: their last value is in the head.
    if last.seen.len() < wanted.len() {
        for line in lines_rev(head_complete) {
            last.take_if_new(line);
        }
    }
    Ok(last.values)
}

/// The last value of each tag in `rows` (whole lines), in one forward pass
/// that only notes where each tag's last row is and parses just those: the
/// loop `ls` spends most of its own time in over 10,000 small files.
/// `None` when such a row does not parse (the caller then takes the
/// newest row that does).
fn last_rows(rows: &[u8]) -> Option<BTreeMap<String, Point>> {
    // (raw tag, its last row); runs record few tags, and they come round
    // in the same order every step, so the next one is tried first.
    let mut tags: Vec<(&[u8], &[u8])> = Vec::new();
    let mut next = 0;
    let (mut start, mut first, mut last) = (0, usize::MAX, 0);
    for (i, &b) in rows.iter().enumerate() {
        if b == b',' {
            first = first.min(i);
            last = i;
        } else if b == b'\n' {
            let numbered = first != usize::MAX
                && first > start
                && rows[start..first].iter().all(u8::is_ascii_digit);
            if numbered && last > first {
                let (tag, row) = (&rows[first + 1..last], &rows[start..i]);
                let hit = match tags.get(next) {
                    Some(t) if t.0 == tag => Some(next),
                    _ => tags.iter().position(|t| t.0 == tag),
                };
                match hit {
                    Some(k) => {
                        tags[k].1 = row;
                        next = (k + 1) % tags.len();
                    }
                    None => {
                        tags.push((tag, row));
                        next = 0;
                    }
                }
            }
            (start, first) = (i + 1, usize::MAX);
        }
    }
    let mut values = BTreeMap::new();
    for (_, row) in tags {
        let (step, tag, value) = parse_row(row)?;
        values.insert(tag, Point { step, value });
    }
    Some(values)
}

/// The lines of `buf`, last first (as `rsplit` on newlines, but with a
/// vectorised search: this loop is most of what `ls` computes).
fn lines_rev(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut end = Some(buf.len());
    let mut newlines = memchr::memrchr_iter(b'\n', buf);
    std::iter::from_fn(move || {
        let stop = end?;
        match newlines.next() {
            Some(i) => {
                end = Some(i);
                Some(&buf[i + 1..stop])
            }
            None => {
                end = None;
                Some(&buf[..stop])
            }
        }
    })
}

/// Step, raw tag and value of a row, without parsing (`None` when the row
/// has fewer than three fields).
fn split_row(line: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let first = memchr::memchr(b',', line)?;
    let last = memchr::memrchr(b',', line)?;
    (last > first).then(|| (&line[..first], &line[first + 1..last], &line[last + 1..]))
}

/// The last values found so far, newest rows first.
#[derive(Default)]
struct Last {
    /// Raw tags seen, in a list: runs record few tags, and comparing short
    /// byte strings beats hashing them.
    seen: Vec<Vec<u8>>,
    values: BTreeMap<String, Point>,
}

impl Last {
    /// Records `line`'s value if its tag has none yet. The common case — a
    /// tag already seen — costs a split and a few comparisons.
    fn take_if_new(&mut self, line: &[u8]) {
        let Some((_, raw_tag, _)) = split_row(line) else {
            return;
        };
        if self.seen.iter().any(|t| t == raw_tag) {
            return;
        }
        if let Some((step, tag, value)) = parse_row(line) {
            self.seen.push(raw_tag.to_vec());
            self.values.entry(tag).or_insert(Point { step, value });
        }
    }
}

/// Every row of `path`, in file order (for `show` and `verify`).
pub fn all_rows(path: &Path) -> io::Result<Vec<(u64, String, f64)>> {
    let mut bytes = std::fs::read(path)?;
    // A last line without its newline may still be being written.
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    bytes.truncate(complete);
    Ok(bytes.split(|&b| b == b'\n').filter_map(parse_row).collect())
}

/// One tag's recorded values, in file order.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Series {
    /// The steps.
    pub steps: Vec<u64>,
    /// The values, one per step.
    pub values: Vec<f64>,
}

/// Every tag's values in `path` (empty if the file does not exist), each
/// cut down to at most `max_points` points by keeping evenly spaced ones,
/// the first and last included. Non-finite values are left out: JSON
/// cannot carry them.
pub fn series(path: &Path, max_points: usize) -> io::Result<BTreeMap<String, Series>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    // A last line without its newline may still be being written.
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut all: BTreeMap<String, Series> = BTreeMap::new();
    // Tags repeat on every row: look the raw bytes up before allocating.
    let mut last_tag: Vec<u8> = Vec::new();
    let mut last_key = String::new();
    for line in bytes[..complete].split(|&b| b == b'\n') {
        let Some((_, raw_tag, _)) = split_row(line) else {
            continue;
        };
        let Some((step, tag, value)) = parse_row(line) else {
            continue;
        };
        if !value.is_finite() {
            continue;
        }
        if raw_tag != last_tag.as_slice() {
            last_tag = raw_tag.to_vec();
            last_key = tag;
        }
        let entry = match all.get_mut(&last_key) {
            Some(entry) => entry,
            None => all.entry(last_key.clone()).or_default(),
        };
        entry.steps.push(step);
        entry.values.push(value);
    }
    for s in all.values_mut() {
        thin(s, max_points.max(2));
    }
    Ok(all)
}

/// Keeps at most `max` evenly spaced points of `s`, the first and last
/// included.
fn thin(s: &mut Series, max: usize) {
    let n = s.steps.len();
    if n <= max {
        return;
    }
    let keep: Vec<usize> = (0..max).map(|i| i * (n - 1) / (max - 1)).collect();
    s.steps = keep.iter().map(|&i| s.steps[i]).collect();
    s.values = keep.iter().map(|&i| s.values[i]).collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn parses_rows_and_skips_the_rest() {
        assert_eq!(
            parse_row(b"3,train/loss,0.5"),
            Some((3, "train/loss".into(), 0.5))
        );
        assert_eq!(
            parse_row(b"1,\"a,\"\"b\",2"),
            Some((1, "a,\"b".into(), 2.0))
        );
        assert_eq!(parse_row(b"step,tag,value"), None);
        assert_eq!(parse_row(b""), None);
        assert_eq!(parse_row(b"4,loss,0."), Some((4, "loss".into(), 0.0)));
        assert_eq!(parse_row(b"4,loss,"), None, "a cut row is skipped");
    }

    #[test]
    fn last_values_of_a_big_file_match_a_full_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SCALARS_FILE);
        let mut csv = String::from("step,tag,value\n");
        for step in 0..40_000u64 {
            writeln!(csv, "{step},loss,{}", 1.0 / (step + 1) as f64).unwrap();
            if step % 1000 == 0 {
                writeln!(csv, "{step},\"rare,tag\",{step}").unwrap();
            }
            if step % 500 == 0 {
                csv.push_str("\n\n\n"); // page padding
            }
        }
        csv.push_str("40000,loss,0.1"); // a row still being written
        std::fs::write(&path, &csv).unwrap();
        assert!(csv.len() as u64 > 4 * CHUNK);
        let last = last_values(&path).unwrap();
        let mut full = BTreeMap::new();
        for (step, tag, value) in all_rows(&path).unwrap() {
            full.insert(tag, Point { step, value });
        }
        assert_eq!(last, full);
        assert_eq!(last["loss"].step, 39_999);
        assert_eq!(last["rare,tag"].step, 39_000);
    }

    #[test]
    fn series_per_tag_thinned_with_first_and_last() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SCALARS_FILE);
        let mut csv = String::from("step,tag,value\n");
        for step in 0..10u64 {
            writeln!(csv, "{step},a,{step}\n{step},\"b,c\",{}", step * 2).unwrap();
        }
        csv.push_str("10,a,5"); // still being written
        std::fs::write(&path, &csv).unwrap();
        let all = series(&path, 1000).unwrap();
        assert_eq!(all["a"].steps, (0..10).collect::<Vec<_>>());
        assert_eq!(all["b,c"].values[9], 18.0);
        let thinned = series(&path, 4).unwrap();
        assert_eq!(thinned["a"].steps, vec![0, 3, 6, 9]);
        assert_eq!(thinned["a"].values, vec![0.0, 3.0, 6.0, 9.0]);
        assert!(series(&dir.path().join("nope.csv"), 10).unwrap().is_empty());
    }

    #[test]
    fn files_around_one_chunk_long() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SCALARS_FILE);
        for extra in [-1i64, 0, 1, 2] {
            let mut csv = String::from("step,tag,value\n");
            let mut step = 0;
            while (csv.len() as i64) < CHUNK as i64 - 40 {
                writeln!(csv, "{step},a,{step}\n{step},b,{}", step * 2).unwrap();
                step += 1;
            }
            let want = (CHUNK as i64 + extra) as usize;
            let row = format!("{step},c,1");
            let pad = want - csv.len() - row.len() - 1;
            csv.push_str(&"\n".repeat(pad));
            csv.push_str(&row);
            csv.push('\n');
            assert_eq!(csv.len(), want);
            std::fs::write(&path, &csv).unwrap();
            let mut full = BTreeMap::new();
            for (step, tag, value) in all_rows(&path).unwrap() {
                full.insert(tag, Point { step, value });
            }
            assert_eq!(last_values(&path).unwrap(), full, "{want} bytes");
        }
    }

    #[test]
    fn the_forward_pass_agrees_with_the_backward_one() {
        let samples = [
            "step,tag,value\n0,a,1\n0,b,2\n1,a,3\n1,b,4\n",
            "step,tag,value\n0,a,1\n\n\n0,\"x,y\",2\n5,a,3\n",
            "step,tag,value\n0,tag,1\n1,a,2\n",
            "0,a,1\n1,a,oops\n",
            "step,tag,value\n0,a,1\n,b,2\nx,c,3\n0,d\n",
            "",
        ];
        for text in samples {
            let mut backward = Last::default();
            for line in lines_rev(text.as_bytes()) {
                backward.take_if_new(line);
            }
            match last_rows(text.as_bytes()) {
                Some(forward) => assert_eq!(forward, backward.values, "{text:?}"),
                None => assert!(text.contains("oops"), "{text:?}"),
            }
        }
    }

    #[test]
    fn lines_backwards_as_rsplit() {
        for text in ["", "a", "a\n", "a\nb", "\n\na\nbc\n", "\n"] {
            let ours: Vec<_> = lines_rev(text.as_bytes()).collect();
            let std: Vec<_> = text.as_bytes().rsplit(|&b| b == b'\n').collect();
            assert_eq!(ours, std, "{text:?}");
        }
    }

    #[test]
    fn small_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SCALARS_FILE);
        assert!(last_values(&path).unwrap().is_empty());
        std::fs::write(&path, "step,tag,value\n0,a,1\n1,a,2\n0,b,3\n").unwrap();
        let last = last_values(&path).unwrap();
        assert_eq!(
            last["a"],
            Point {
                step: 1,
                value: 2.0
            }
        );
        assert_eq!(
            last["b"],
            Point {
                step: 0,
                value: 3.0
            }
        );
    }
}
