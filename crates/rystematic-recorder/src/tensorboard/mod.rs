//! TensorBoard event files: `events.out.tfevents.*`, a stream of framed
//! `Event` records, laid out so that none is ever cut (see [`crate::append`]).

pub(crate) mod proto;
pub(crate) mod record;
mod scan;

pub(crate) use scan::scan_dir;

use std::io;
use std::path::Path;
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

use crate::append::{Appender, PAGE};
use crate::hparam::HParam;
use crate::image::Png;

/// Appends events to one event file.
pub(crate) struct EventWriter {
    out: Appender,
    /// Scratch space for encoding one event.
    scratch: Vec<u8>,
    /// Scratch space for framing one record.
    framed: Vec<u8>,
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
        EventWriter::over(Appender::create_new(&path)?)
    }

    /// Writes an event file through `out`, starting with the file-version
    /// event.
    pub(crate) fn over(out: Appender) -> io::Result<EventWriter> {
        let mut writer = EventWriter {
            out,
            scratch: Vec::with_capacity(256),
            framed: Vec::with_capacity(256),
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
        self.out.path()
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
        self.append_scratch();
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
        self.append_scratch();
    }

    /// Frames the encoded event in `scratch` and places it so that it does
    /// not straddle a page boundary: when it would, an empty event fills
    /// the rest of the page first. An event larger than a page starts on a
    /// boundary and is padded so that what follows can be placed again.
    ///
    /// Invariant: the space left in the current page can always be filled
    /// ([`fillable`]).
    fn append_scratch(&mut self) {
        let record = RECORD_OVERHEAD + self.scratch.len();
        let left = self.out.remaining_in_page();
        if record <= left && fillable(left - record) {
            return self.append_framed();
        }
        if left > 0 {
            self.framed.clear();
            append_record(&mut self.framed, &padding(left - RECORD_OVERHEAD));
            self.out.push(&self.framed);
        }
        if record <= PAGE && fillable(PAGE - record) {
            return self.append_framed();
        }
        let pad = (0..)
            .find(|&d| encodable(d) && fillable((PAGE - (record + d) % PAGE) % PAGE))
            .expect("some padding always fits");
        let padding = padding(pad);
        self.scratch.extend_from_slice(&padding);
        self.append_framed();
    }

    fn append_framed(&mut self) {
        self.framed.clear();
        append_record(&mut self.framed, &self.scratch);
        self.out.push(&self.framed);
    }

    /// Writes every buffered record.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The last flush; an error if any record was lost (see
    /// [`Appender::close`]).
    pub(crate) fn close(&mut self) -> io::Result<()> {
        self.out.close()
    }
}

/// Length, its checksum and the data's checksum around a record's data.
const RECORD_OVERHEAD: usize = 16;

/// Whether `n` bytes can be filled with one filler record: an event whose
/// payload is nothing but [`padding`].
fn fillable(n: usize) -> bool {
    n == 0 || (n >= RECORD_OVERHEAD && encodable(n - RECORD_OVERHEAD))
}

/// Whether [`padding`] can make exactly `n` bytes.
fn encodable(n: usize) -> bool {
    n == 0 || n >= 3
}

/// Exactly `n` bytes of Event fields no reader uses: unknown field 1000,
/// which protobuf parsers skip. `n` must be [`encodable`].
fn padding(n: usize) -> Vec<u8> {
    const BYTES_KEY: [u8; 2] = [0xC2, 0x3E]; // field 1000, length-delimited
    const VARINT_FIELD: [u8; 3] = [0xC0, 0x3E, 0x00]; // field 1000, varint 0
    assert!(encodable(n), "{n} bytes of padding cannot be encoded");
    let mut out = Vec::with_capacity(n);
    let mut left = n;
    while left > 0 {
        // key + length + that many zeros, if some length width fits exactly
        let fits = (1..=3).find_map(|width| {
            let len = left.checked_sub(BYTES_KEY.len() + width)?;
            (encoded_len_varint(len as u64) == width).then_some(len)
        });
        match fits {
            Some(len) => {
                out.extend_from_slice(&BYTES_KEY);
                encode_varint(len as u64, &mut out);
                out.resize(out.len() + len, 0);
                left = 0;
            }
            // Between two length widths (e.g. 131 bytes): a 3-byte field first.
            None => {
                out.extend_from_slice(&VARINT_FIELD);
                left -= VARINT_FIELD.len();
            }
        }
    }
    out
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
        let read = summaries(writer.path());
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

    /// Summary events only (fillers are empty events).
    fn summaries(path: &Path) -> Vec<Event> {
        events(path)
            .into_iter()
            .filter(|e| e != &Event::default())
            .collect()
    }

    #[test]
    fn padding_has_the_exact_size_and_decodes_as_nothing() {
        for n in (0..=PAGE).filter(|&n| encodable(n)) {
            let pad = padding(n);
            assert_eq!(pad.len(), n);
            assert_eq!(Event::decode(pad.as_slice()).unwrap(), Event::default());
        }
        assert!(!encodable(1) && !encodable(2));
    }

    #[test]
    fn no_record_below_a_page_straddles_a_page_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = EventWriter::create(dir.path()).unwrap();
        let png = Png {
            width: 1,
            height: 1,
            channels: 1,
            bytes: vec![7; 3 * PAGE + 5],
        };
        for step in 0..3000u64 {
            let tag = "t".repeat((step % 97) as usize + 1);
            writer.scalar(step, &tag, step as f64);
            if step % 500 == 0 {
                writer.image(step, "img", &png);
            }
            if step % 300 == 0 {
                let text = "x".repeat(PAGE - 40 - (step as usize % 30));
                writer.text(step, "notes", &text);
            }
        }
        writer.flush().unwrap();
        let bytes = std::fs::read(writer.path()).unwrap();
        let mut offset = 0;
        for record in record::read_records(&bytes).unwrap() {
            let (start, end) = (offset, offset + record.len() + RECORD_OVERHEAD);
            if end - start <= PAGE {
                assert_eq!(
                    start / PAGE,
                    (end - 1) / PAGE,
                    "record at {start}..{end} straddles"
                );
            } else {
                assert_eq!(start % PAGE, 0, "a large record starts on a page");
            }
            offset = end;
        }
        assert_eq!(
            summaries(writer.path()).len(),
            1 + 3000 + 6 + 10,
            "every event"
        );
    }

    #[test]
    fn a_full_disk_tears_no_record_and_lost_records_fail_the_close() {
        use crate::append::fault::Disk;
        let png = Png {
            width: 1,
            height: 1,
            channels: 1,
            bytes: vec![7; 3 * PAGE + 5],
        };
        // Space comes back in time (nothing lost), or too late (records
        // lost, reported).
        for (full_until, loses) in [(300u64, false), (3000, true)] {
            let disk = Disk::with_free(20_000);
            let out = Appender::with_sink(Path::new("events"), disk.sink());
            let mut writer = EventWriter::over(out).unwrap();
            for step in 0..full_until + 300 {
                writer.scalar(step, &"t".repeat((step % 97) as usize + 1), step as f64);
                if step % 5 == 0 {
                    writer.image(step, "img", &png);
                }
                let _ = writer.flush();
                if step == full_until {
                    disk.state().free = None;
                }
            }
            let closed = writer.close();
            assert_eq!(closed.is_err(), loses, "{closed:?}");
            assert!(disk.state().failed_writes > 0);
            let bytes = disk.state().data.clone();
            let mut offset = 0;
            let mut steps = Vec::new();
            for record in record::read_records(&bytes).unwrap() {
                let end = offset + record.len() + RECORD_OVERHEAD;
                if end - offset <= PAGE {
                    assert_eq!(offset / PAGE, (end - 1) / PAGE, "straddles at {offset}");
                } else {
                    assert_eq!(offset % PAGE, 0, "a large record starts on a page");
                }
                offset = end;
                let event = Event::decode(record).unwrap();
                if let Some(EventWhat::Summary(s)) = &event.what
                    && matches!(s.value[0].value, Some(SummaryKind::SimpleValue(_)))
                {
                    steps.push(event.step as u64);
                }
            }
            assert!(steps.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(steps.last(), Some(&(full_until + 299)));
            if !loses {
                assert_eq!(steps, (0..full_until + 300).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn buffers_until_flushed() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = EventWriter::create(dir.path()).unwrap();
        let header = std::fs::metadata(writer.path()).unwrap().len();
        writer.scalar(1, "x", 1.0);
        let len = std::fs::metadata(writer.path()).unwrap().len();
        assert_eq!(len, header, "buffered");
        for step in 0..20_000 {
            writer.scalar(step, "x", 1.0);
        }
        writer.flush().unwrap();
        assert_eq!(summaries(writer.path()).len(), 1 + 1 + 20_000);
    }
}
