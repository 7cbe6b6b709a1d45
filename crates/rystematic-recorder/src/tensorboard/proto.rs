//! The protocol buffer messages of TensorBoard event files, written by hand
//! from TensorFlow's and TensorBoard's `.proto` files (event.proto,
//! summary.proto, tensor.proto, tensor_shape.proto, plugins/hparams), only
//! the fields this crate writes. No `protoc` needed.

use std::collections::BTreeMap;

/// `tensorflow.Event`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Event {
    #[prost(double, tag = "1")]
    pub(crate) wall_time: f64,
    #[prost(int64, tag = "2")]
    pub(crate) step: i64,
    #[prost(oneof = "EventWhat", tags = "3, 5")]
    pub(crate) what: Option<EventWhat>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum EventWhat {
    #[prost(string, tag = "3")]
    FileVersion(String),
    #[prost(message, tag = "5")]
    Summary(Summary),
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub(crate) value: Vec<SummaryValue>,
}

/// `tensorflow.Summary.Value`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SummaryValue {
    #[prost(string, tag = "1")]
    pub(crate) tag: String,
    #[prost(message, optional, tag = "9")]
    pub(crate) metadata: Option<SummaryMetadata>,
    #[prost(oneof = "SummaryKind", tags = "2, 4, 8")]
    pub(crate) value: Option<SummaryKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum SummaryKind {
    #[prost(float, tag = "2")]
    SimpleValue(f32),
    #[prost(message, tag = "4")]
    Image(Image),
    #[prost(message, tag = "8")]
    Tensor(TensorProto),
}

/// `tensorflow.Summary.Image`: an encoded (PNG) image.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Image {
    #[prost(int32, tag = "1")]
    pub(crate) height: i32,
    #[prost(int32, tag = "2")]
    pub(crate) width: i32,
    /// 1 gray, 3 RGB, 4 RGBA.
    #[prost(int32, tag = "3")]
    pub(crate) colorspace: i32,
    #[prost(bytes = "vec", tag = "4")]
    pub(crate) encoded_image_string: Vec<u8>,
}

/// `tensorflow.SummaryMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    pub(crate) plugin_data: Option<PluginData>,
}

/// `tensorflow.SummaryMetadata.PluginData`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PluginData {
    #[prost(string, tag = "1")]
    pub(crate) plugin_name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub(crate) content: Vec<u8>,
}

/// `tensorflow.TensorProto`, for string tensors (text summaries).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct TensorProto {
    /// `DT_STRING` = 7.
    #[prost(int32, tag = "1")]
    pub(crate) dtype: i32,
    #[prost(message, optional, tag = "2")]
    pub(crate) tensor_shape: Option<TensorShapeProto>,
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub(crate) string_val: Vec<Vec<u8>>,
}

pub(crate) const DT_STRING: i32 = 7;

/// `tensorflow.TensorShapeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct TensorShapeProto {
    #[prost(message, repeated, tag = "2")]
    pub(crate) dim: Vec<Dim>,
}

/// `tensorflow.TensorShapeProto.Dim`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Dim {
    #[prost(int64, tag = "1")]
    pub(crate) size: i64,
}

/// `tensorboard.hparams.HParamsPluginData`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HParamsPluginData {
    #[prost(int32, tag = "1")]
    pub(crate) version: i32,
    #[prost(oneof = "HParamsData", tags = "2, 3, 4")]
    pub(crate) data: Option<HParamsData>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum HParamsData {
    #[prost(message, tag = "2")]
    Experiment(HParamsExperiment),
    #[prost(message, tag = "3")]
    SessionStartInfo(SessionStartInfo),
    #[prost(message, tag = "4")]
    SessionEndInfo(SessionEndInfo),
}

/// `tensorboard.hparams.Experiment`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HParamsExperiment {
    #[prost(message, repeated, tag = "4")]
    pub(crate) hparam_infos: Vec<HParamInfo>,
    #[prost(message, repeated, tag = "5")]
    pub(crate) metric_infos: Vec<MetricInfo>,
}

/// `tensorboard.hparams.HParamInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HParamInfo {
    #[prost(string, tag = "1")]
    pub(crate) name: String,
    /// `DataType`: 1 string, 2 bool, 3 float64.
    #[prost(int32, tag = "4")]
    pub(crate) r#type: i32,
}

/// `tensorboard.hparams.MetricInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct MetricInfo {
    #[prost(message, optional, tag = "1")]
    pub(crate) name: Option<MetricName>,
}

/// `tensorboard.hparams.MetricName`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct MetricName {
    #[prost(string, tag = "1")]
    pub(crate) group: String,
    #[prost(string, tag = "2")]
    pub(crate) tag: String,
}

/// `tensorboard.hparams.SessionStartInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SessionStartInfo {
    #[prost(btree_map = "string, message", tag = "1")]
    pub(crate) hparams: BTreeMap<String, ProtoValue>,
    #[prost(double, tag = "5")]
    pub(crate) start_time_secs: f64,
}

/// `tensorboard.hparams.SessionEndInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SessionEndInfo {
    /// `Status`: 1 success, 2 failure.
    #[prost(int32, tag = "1")]
    pub(crate) status: i32,
    #[prost(double, tag = "2")]
    pub(crate) end_time_secs: f64,
}

/// `google.protobuf.Value`, the scalar kinds.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ProtoValue {
    #[prost(oneof = "ProtoKind", tags = "2, 3, 4")]
    pub(crate) kind: Option<ProtoKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum ProtoKind {
    #[prost(double, tag = "2")]
    Number(f64),
    #[prost(string, tag = "3")]
    String(String),
    #[prost(bool, tag = "4")]
    Bool(bool),
}
