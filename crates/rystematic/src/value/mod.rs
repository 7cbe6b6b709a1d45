//! The dynamic value model: [`Value`] for one parameter, [`Params`] for the
//! resolved map handed to a running experiment.
//!
//! Values are deliberately small (null, bool, int, float, string, path and
//! lists of these): it is what a command line, an environment variable and a
//! YAML params file can all express, so every source converts into the same
//! model and `parameters.yaml` can hold any of it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::error::ParamAccessError;

mod convert;
mod path;
mod values;

pub use convert::{ConversionError, FromValue};

pub use path::ExperimentPath;
pub use values::Values;
pub(crate) use values::collect_values;

/// One parameter value.
///
/// ```
/// use rystematic::Value;
///
/// assert_eq!(Value::from(3), Value::Int(3));
/// assert_eq!(Value::from(vec!["a", "b"]).to_string(), "a b");
/// assert!(Value::from(None::<i64>).is_null());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value (an optional parameter that was not given).
    Null,
    /// A boolean, as taken by flags.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A string.
    Str(String),
    /// A filesystem path (written to `parameters.yaml` as a string).
    Path(PathBuf),
    /// A list of values, as taken by `multiple` parameters.
    List(Vec<Value>),
}

impl Value {
    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The name of this value's type, as used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Path(_) => "path",
            Value::List(_) => "list",
        }
    }

    /// Converts this value into `T` (see [`FromValue`]).
    pub fn get<T: FromValue>(&self) -> Result<T, ConversionError> {
        T::from_value(self)
    }
}

/// Text form of a value: what a user would type on the command line.
/// Lists are space separated, null is `null`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => f.write_str(s),
            Value::Path(p) => write!(f, "{}", p.display()),
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
        }
    }
}

macro_rules! value_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Int(i64::from(v))
            }
        }
    )*};
}
value_from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(f64::from(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Str(v.clone())
    }
}
impl From<PathBuf> for Value {
    fn from(v: PathBuf) -> Self {
        Value::Path(v)
    }
}
impl From<&Path> for Value {
    fn from(v: &Path) -> Self {
        Value::Path(v.to_owned())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}
impl<T: Into<Value> + Clone> From<&[T]> for Value {
    fn from(v: &[T]) -> Self {
        Value::List(v.iter().cloned().map(Into::into).collect())
    }
}
impl<T: Into<Value>, const N: usize> From<[T; N]> for Value {
    fn from(v: [T; N]) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

/// Paths are written as strings and null as YAML/JSON null, which is what
/// makes `parameters.yaml` readable by PyYAML and pystematic.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(x) => serializer.serialize_f64(*x),
            Value::Str(s) => serializer.serialize_str(s),
            Value::Path(p) => serializer.serialize_str(&p.to_string_lossy()),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

/// Reads plain data only: scalars and lists. A nested mapping is an error,
/// because no parameter can hold one.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar or a list of scalars")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| E::custom(format!("integer {v} does not fit in 64 signed bits")))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, _map: A) -> Result<Value, A::Error> {
        Err(de::Error::custom(
            "a nested mapping is not a parameter value",
        ))
    }
}

/// The resolved parameters of a run: one [`Value`] per parameter, keys sorted.
///
/// ```
/// use rystematic::{Params, Value};
///
/// let params: Params = [("lr", Value::from(0.1)), ("name", Value::from("adam"))]
///     .into_iter()
///     .collect();
/// assert_eq!(params.get::<f64>("lr").unwrap(), 0.1);
///
/// #[derive(serde::Deserialize)]
/// struct Config { lr: f64, name: String }
/// let config: Config = params.deserialize().unwrap();
/// assert_eq!(config.name, "adam");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<String, Value>,
}

impl Params {
    /// The value of parameter `name`, converted to `T`.
    pub fn get<T: FromValue>(&self, name: &str) -> Result<T, ParamAccessError> {
        let value = self.value(name).ok_or_else(|| ParamAccessError::Unknown {
            name: name.to_owned(),
        })?;
        T::from_value(value).map_err(|e| ParamAccessError::WrongType {
            name: name.to_owned(),
            reason: e.to_string(),
        })
    }

    /// The raw value of parameter `name`, if there is such a parameter.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// Whether there is a parameter called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// All parameters, sorted by name.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Deserialises every parameter into a user struct (fields by name; paths
    /// arrive as strings, so `PathBuf` fields work).
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ParamAccessError> {
        // serde_json's Value is a ready-made self-describing deserializer; the
        // detour costs one copy of a small map and keeps this crate free of a
        // hand-written `Deserializer`.
        let json = serde_json::to_value(self).map_err(|e| ParamAccessError::Deserialize {
            reason: e.to_string(),
        })?;
        serde_json::from_value(json).map_err(|e| ParamAccessError::Deserialize {
            reason: e.to_string(),
        })
    }

    /// Sets `name` to `value`, returning the previous value.
    pub(crate) fn insert(&mut self, name: impl Into<String>, value: Value) -> Option<Value> {
        self.values.insert(name.into(), value)
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Params {
            values: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl<'a> IntoIterator for &'a Params {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::collections::btree_map::Iter<'a, String, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.values.iter()
    }
}

impl Serialize for Params {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.values.len()))?;
        for (k, v) in &self.values {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        [
            ("n", Value::Int(3)),
            ("x", Value::Float(0.5)),
            ("s", Value::from("hi")),
            ("p", Value::from(PathBuf::from("/tmp/a"))),
            ("none", Value::Null),
            ("tags", Value::from(vec!["a", "b"])),
            ("flag", Value::Bool(true)),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn typed_get_converts_and_names_the_parameter_on_error() {
        let p = params();
        assert_eq!(p.get::<i64>("n").unwrap(), 3);
        assert_eq!(p.get::<u8>("n").unwrap(), 3);
        assert_eq!(p.get::<f64>("n").unwrap(), 3.0);
        assert_eq!(p.get::<f32>("x").unwrap(), 0.5);
        assert_eq!(p.get::<String>("s").unwrap(), "hi");
        assert_eq!(p.get::<String>("p").unwrap(), "/tmp/a");
        assert_eq!(p.get::<PathBuf>("s").unwrap(), PathBuf::from("hi"));
        assert_eq!(p.get::<Option<i64>>("none").unwrap(), None);
        assert_eq!(p.get::<Option<i64>>("n").unwrap(), Some(3));
        assert_eq!(p.get::<Vec<String>>("tags").unwrap(), ["a", "b"]);
        assert!(p.get::<bool>("flag").unwrap());

        let err = p.get::<i64>("s").unwrap_err().to_string();
        assert!(
            err.contains("`s`") && err.contains("expected an int"),
            "{err}"
        );
        let err = p.get::<i64>("missing").unwrap_err().to_string();
        assert!(err.contains("no parameter named `missing`"), "{err}");
        let err = Value::Int(300).get::<u8>().unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
    }

    #[test]
    fn deserializes_into_a_user_struct() {
        #[derive(Deserialize, Debug)]
        struct Config {
            n: u32,
            x: f64,
            p: PathBuf,
            none: Option<String>,
            tags: Vec<String>,
            flag: bool,
        }
        let c: Config = params().deserialize().unwrap();
        assert_eq!(c.n, 3);
        assert_eq!(c.x, 0.5);
        assert_eq!(c.p, PathBuf::from("/tmp/a"));
        assert_eq!(c.none, None);
        assert_eq!(c.tags, ["a", "b"]);
        assert!(c.flag);

        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Wrong {
            n: String,
        }
        let err = params().deserialize::<Wrong>().unwrap_err().to_string();
        assert!(err.contains("invalid type"), "{err}");
    }

    #[test]
    fn display_is_command_line_text() {
        assert_eq!(Value::Float(1.0).to_string(), "1.0");
        assert_eq!(Value::Float(0.1).to_string(), "0.1");
        assert_eq!(Value::from(vec![1, 2]).to_string(), "1 2");
        assert_eq!(Value::Null.to_string(), "null");
    }

    #[test]
    fn json_round_trip_keeps_types() {
        let p = params();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"flag":true,"n":3,"none":null,"p":"/tmp/a","s":"hi","tags":["a","b"],"x":0.5}"#
        );
        let back: BTreeMap<String, Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(back["x"], Value::Float(0.5));
        assert_eq!(back["p"], Value::from("/tmp/a"));
        let nested: Result<Value, _> = serde_json::from_str(r#"{"a": 1}"#);
        assert!(nested.is_err());
    }
}
