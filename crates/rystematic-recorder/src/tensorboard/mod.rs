//! TensorBoard event files: `events.out.tfevents.*`, a stream of framed
//! `Event` records, written through a buffer of whole records.

pub(crate) mod proto;
pub(crate) mod record;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use proto::{
    Dim, Event, EventWhat, HParamInfo, HParamsData, HParamsExperiment, HParamsPluginData, Image,
    MetricInfo, MetricName, PluginData, ProtoKind, ProtoValue, SessionEndInfo, SessionStartInfo,
    Summary, SummaryKind, SummaryMetadata, SummaryValue, TensorProto, TensorShapeProto,
};
use record::append_record;

use crate::image::Png;
use crate::recorder::HParam;

/// Buffered bytes that trigger a write even between steps, so memory stays
/// bounded however many values a step records.
const FLUSH_AT: usize = 256 * 1024;

/// Appends events to one event file.
pub(crate) struct EventWriter {
    file: File,
    path: PathBuf,
    /// Whole records not yet written.
    buffer: Vec<u8>,
    /// Scratch space for encoding one event.
    scratch: Vec<u8>,
    /// An error from a write between flushes, reported by the next flush.
    deferred: Option<io::Error>,
}

impl EventWriter {
    /// Creates a new event file in `dir`, starting with the file-version event.
    pub(crate) fn create(dir: &Path) -> io::Result<EventWriter> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let path = dir.join(format!(
            "events.out.tfevents.{}.rystematic.{}.{}",
            wall_time() as u64,
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        let mut writer = EventWriter {
            file,
            path,
            buffer: Vec::with_capacity(FLUSH_AT + 4096),
            scratch: Vec::with_capacity(256),
            deferred: None,
        };
        writer.push(&Event {
            wall_time: wall_time(),
            step: 0,
            what: Some(EventWhat::FileVersion("brain.Event:2".to_owned())),
        });
        writer.flush()?;
        Ok(writer)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A scalar, as `simple_value` (float32, like every TensorBoard writer).
    /// Encoded by hand: this is the hot path, and it allocates nothing.
    pub(crate) fn scalar(&mut self, step: u64, tag: &str, value: f64) {
        let scratch = &mut self.scratch;
        scratch.clear();
        let value_len = 1 + encoded_len_varint(tag.len() as u64) + tag.len() + 1 + 4;
        let summary_len = 1 + encoded_len_varint(value_len as u64) + value_len;
        // Event.wall_time = 1
        encode_key(1, WireType::SixtyFourBit, scratch);
        scratch.extend_from_slice(&wall_time().to_le_bytes());
        // Event.step = 2 (proto3: zero is left out)
        if step != 0 {
            encode_key(2, WireType::Varint, scratch);
            encode_varint(step, scratch);
        }
        // Event.summary = 5 { Summary.value = 1 { tag = 1, simple_value = 2 } }
        encode_key(5, WireType::LengthDelimited, scratch);
        encode_varint(summary_len as u64, scratch);
        encode_key(1, WireType::LengthDelimited, scratch);
        encode_varint(value_len as u64, scratch);
        encode_key(1, WireType::LengthDelimited, scratch);
        encode_varint(tag.len() as u64, scratch);
        scratch.extend_from_slice(tag.as_bytes());
        encode_key(2, WireType::ThirtyTwoBit, scratch);
        scratch.extend_from_slice(&(value as f32).to_le_bytes());
        append_record(&mut self.buffer, scratch);
        self.flush_if_full();
    }

    /// An image summary (PNG).
    pub(crate) fn image(&mut self, step: u64, tag: &str, png: &Png) {
        self.summary(
            step,
            SummaryValue {
                tag: tag.to_owned(),
                metadata: None,
                value: Some(SummaryKind::Image(Image {
                    height: png.height as i32,
                    width: png.width as i32,
                    colorspace: i32::from(png.channels),
                    encoded_image_string: png.bytes.clone(),
                })),
            },
        );
    }

    /// A text summary, as TensorBoard's text plugin reads it.
    pub(crate) fn text(&mut self, step: u64, tag: &str, text: &str) {
        self.summary(
            step,
            SummaryValue {
                tag: format!("{tag}/text_summary"),
                metadata: Some(plugin("text", Vec::new())),
                value: Some(SummaryKind::Tensor(TensorProto {
                    dtype: proto::DT_STRING,
                    tensor_shape: Some(TensorShapeProto {
                        dim: vec![Dim { size: 1 }],
                    }),
                    string_val: vec![text.as_bytes().to_vec()],
                })),
            },
        );
    }

    /// The HParams plugin's experiment and session-start records.
    pub(crate) fn hparams_start(&mut self, hparams: &[(String, HParam)], metrics: &[&str]) {
        let experiment = HParamsExperiment {
            hparam_infos: hparams
                .iter()
                .map(|(name, value)| HParamInfo {
                    name: name.clone(),
                    r#type: match value {
                        HParam::Text(_) => 1,
                        HParam::Bool(_) => 2,
                        HParam::Number(_) => 3,
                    },
                })
                .collect(),
            metric_infos: metrics
                .iter()
                .map(|tag| MetricInfo {
                    name: Some(MetricName {
                        group: String::new(),
                        tag: (*tag).to_owned(),
                    }),
                })
                .collect(),
        };
        let start = SessionStartInfo {
            hparams: hparams
                .iter()
                .map(|(name, value)| {
                    let kind = match value {
                        HParam::Text(s) => ProtoKind::String(s.clone()),
                        HParam::Bool(b) => ProtoKind::Bool(*b),
                        HParam::Number(x) => ProtoKind::Number(*x),
                    };
                    (name.clone(), ProtoValue { kind: Some(kind) })
                })
                .collect(),
            start_time_secs: wall_time(),
        };
        self.hparams_record("_hparams_/experiment", HParamsData::Experiment(experiment));
        self.hparams_record(
            "_hparams_/session_start_info",
            HParamsData::SessionStartInfo(start),
        );
    }

    /// The HParams plugin's session-end record.
    pub(crate) fn hparams_end(&mut self, success: bool) {
        let end = SessionEndInfo {
            status: if success { 1 } else { 2 },
            end_time_secs: wall_time(),
        };
        self.hparams_record(
            "_hparams_/session_end_info",
            HParamsData::SessionEndInfo(end),
        );
    }

    fn hparams_record(&mut self, tag: &str, data: HParamsData) {
        let content = HParamsPluginData {
            version: 0,
            data: Some(data),
        }
        .encode_to_vec();
        self.summary(
            0,
            SummaryValue {
                tag: tag.to_owned(),
                metadata: Some(plugin("hparams", content)),
                value: None,
            },
        );
    }

    fn summary(&mut self, step: u64, value: SummaryValue) {
        self.push(&Event {
            wall_time: wall_time(),
            step: step as i64,
            what: Some(EventWhat::Summary(Summary { value: vec![value] })),
        });
    }

    fn push(&mut self, event: &Event) {
        self.scratch.clear();
        event
            .encode(&mut self.scratch)
            .expect("a Vec grows as needed");
        append_record(&mut self.buffer, &self.scratch);
        self.flush_if_full();
    }

    fn flush_if_full(&mut self) {
        if self.buffer.len() >= FLUSH_AT
            && let Err(e) = self.write_buffer()
        {
            self.deferred.get_or_insert(e);
        }
    }

    /// Writes every buffered record. The buffer holds whole records only,
    /// written with one call, so a reader never sees half a record from a
    /// flush that completed.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        let written = self.write_buffer();
        match self.deferred.take() {
            Some(e) => Err(e),
            None => written,
        }
    }

    fn write_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.buffer);
        self.buffer.clear();
        result
    }
}

fn plugin(name: &str, content: Vec<u8>) -> SummaryMetadata {
    SummaryMetadata {
        plugin_data: Some(PluginData {
            plugin_name: name.to_owned(),
            content,
        }),
    }
}

fn wall_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(path: &Path) -> Vec<Event> {
        let bytes = std::fs::read(path).unwrap();
        record::read_records(&bytes)
            .unwrap()
            .into_iter()
            .map(|r| Event::decode(r).unwrap())
            .collect()
    }

    #[test]
    fn the_hand_encoded_scalar_is_the_protobuf_encoding() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = EventWriter::create(dir.path()).unwrap();
        writer.scalar(0, "loss", 0.25);
        writer.scalar(300, "a/much/longer/tag/name", -1e10);
        writer.flush().unwrap();
        let read = events(writer.path());
        assert_eq!(
            read[0].what,
            Some(EventWhat::FileVersion("brain.Event:2".into()))
        );
        let expect = |event: &Event, step: i64, tag: &str, value: f32| {
            let again = Event {
                wall_time: event.wall_time,
                step,
                what: Some(EventWhat::Summary(Summary {
                    value: vec![SummaryValue {
                        tag: tag.into(),
                        metadata: None,
                        value: Some(SummaryKind::SimpleValue(value)),
                    }],
                })),
            };
            assert_eq!(event, &again);
        };
        expect(&read[1], 0, "loss", 0.25);
        expect(&read[2], 300, "a/much/longer/tag/name", -1e10);
    }

    #[test]
    fn buffers_until_flushed_and_bounds_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = EventWriter::create(dir.path()).unwrap();
        let header = std::fs::metadata(writer.path()).unwrap().len();
        writer.scalar(1, "x", 1.0);
        assert_eq!(
            std::fs::metadata(writer.path()).unwrap().len(),
            header,
            "buffered"
        );
        for step in 0..20_000 {
            writer.scalar(step, "x", 1.0);
        }
        assert!(writer.buffer.len() < FLUSH_AT, "flushed on the way");
        writer.flush().unwrap();
        assert_eq!(events(writer.path()).len(), 1 + 1 + 20_000);
    }
}
