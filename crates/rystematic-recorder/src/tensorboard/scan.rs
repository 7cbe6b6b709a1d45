//! Reading back the event files of a run's earlier attempts: each tag's
//! last step (see [`crate::resume`]), and a torn last record cut off.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::Path;

use prost::Message;

use super::proto::{Event, EventWhat};
use super::record::masked_crc32c;
use crate::error::RecorderError;
use crate::resume::{cut_back, note};

/// The names TensorBoard reads as event files.
const PREFIX: &str = "events.out.tfevents.";

/// The tag under which the text plugin stores a text record.
const TEXT_SUFFIX: &str = "/text_summary";

/// Notes each tag's last step from every event file in `dir`.
///
/// # Errors
/// If a file cannot be read, or a torn one cut back.
pub(crate) fn scan_dir(dir: &Path, last: &mut HashMap<String, u64>) -> Result<(), RecorderError> {
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| RecorderError::Io { path, source }
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(dir)(e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        if entry.file_name().to_string_lossy().starts_with(PREFIX)
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            paths.push(entry.path());
        }
    }
    paths.sort();
    for path in paths {
        scan_file(&path, last).map_err(io_error(&path))?;
    }
    Ok(())
}

/// Notes each tag's last step in one event file. A record cut short at
/// the end is cut off; a damaged one elsewhere ends the reading of that
/// file with a warning (TensorBoard stops there too).
fn scan_file(path: &Path, last: &mut HashMap<String, u64>) -> io::Result<()> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut reader = BufReader::new(file);
    let mut offset = 0u64;
    let mut payload = Vec::new();
    let damaged = |offset: u64| {
        tracing::warn!(
            target: "recorder",
            "{}: a damaged record at byte {offset}; what follows it is not read",
            path.display()
        );
    };
    while offset < len {
        let mut header = [0u8; 12];
        if len - offset < header.len() as u64 {
            return cut_back(path, offset, "record");
        }
        reader.read_exact(&mut header)?;
        let (length, crc) = header.split_at(8);
        if masked_crc32c(length) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
            damaged(offset);
            return Ok(());
        }
        let length = u64::from_le_bytes(length.try_into().expect("8 bytes"));
        let end = (offset + 12).saturating_add(length).saturating_add(4);
        if end > len {
            return cut_back(path, offset, "record");
        }
        // The length is checked against the file's, so this fits memory.
        payload.resize(length as usize + 4, 0);
        reader.read_exact(&mut payload)?;
        let (data, crc) = payload.split_at(length as usize);
        if masked_crc32c(data) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
            damaged(offset);
            return Ok(());
        }
        if let Ok(event) = Event::decode(data) {
            note_event(&event, last);
        }
        offset = end;
    }
    Ok(())
}

/// Notes the tags of a summary event at its step (not the HParams
/// plugin's session records, which are not per step).
fn note_event(event: &Event, last: &mut HashMap<String, u64>) {
    let Some(EventWhat::Summary(summary)) = &event.what else {
        return;
    };
    let step = u64::try_from(event.step).unwrap_or(0);
    for value in &summary.value {
        if value.tag.starts_with("_hparams_/") {
            continue;
        }
        let is_text = value
            .metadata
            .as_ref()
            .and_then(|m| m.plugin_data.as_ref())
            .is_some_and(|p| p.plugin_name == "text");
        let tag = match value.tag.strip_suffix(TEXT_SUFFIX) {
            Some(tag) if is_text => tag,
            _ => &value.tag,
        };
        note(last, tag, step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Png;
    use crate::tensorboard::EventWriter;

    #[test]
    fn every_kind_of_record_is_noted_at_its_step_and_a_torn_tail_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = EventWriter::create(dir.path()).unwrap();
        writer.scalar(3, "loss", 1.0);
        writer.scalar(7, "loss", 1.0);
        writer.scalar(2, "valid", 1.0);
        writer.text(4, "notes", "hi");
        writer.hparams_start(&[], &["final"]);
        let png = Png {
            width: 1,
            height: 1,
            channels: 1,
            bytes: vec![1; 3 * crate::append::PAGE],
        };
        writer.image(9, "img", &png);
        writer.close().unwrap();
        let path = writer.path().to_owned();
        let whole = fs::metadata(&path).unwrap().len();
        // A crash in the middle of the large image: cut at a page.
        let torn = whole - 2 * crate::append::PAGE as u64;
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(torn)
            .unwrap();
        let mut last = HashMap::new();
        scan_dir(dir.path(), &mut last).unwrap();
        let expected: HashMap<String, u64> = [("loss", 7), ("valid", 2), ("notes", 4)]
            .map(|(t, s)| (t.to_owned(), s))
            .into();
        assert_eq!(last, expected);
        let cut = fs::metadata(&path).unwrap().len();
        assert!(
            cut < torn && cut.is_multiple_of(crate::append::PAGE as u64),
            "{cut}"
        );
        // Whole records only now: read again, the same, and nothing cut.
        let mut again = HashMap::new();
        scan_dir(dir.path(), &mut again).unwrap();
        assert_eq!(again, expected);
        assert_eq!(fs::metadata(&path).unwrap().len(), cut);
    }
}
