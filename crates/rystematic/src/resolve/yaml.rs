//! Params files: reading with limits, writing `parameters.yaml`.
//!
//! A params file is untrusted input (it may come from a colleague, a sweep
//! manifest or the internet), so it is read as plain data only: scalars and
//! lists under one top-level mapping, at most [`MAX_FILE_BYTES`], nested at
//! most [`MAX_DEPTH`] deep, with alias expansion bounded. Nothing in it can
//! construct objects or run code (unlike pystematic, which loads with PyYAML's
//! full `Loader`).

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::de::{MapAccess, SeqAccess, Visitor};

use crate::error::{ParamsFileError, ParamsFileProblem};
use crate::value::{Params, Value};

/// Largest params file accepted.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Deepest nesting accepted (mappings and lists).
pub const MAX_DEPTH: usize = 64;
/// Most events aliases may replay in total: enough for any honest file,
/// far too few for a "billion laughs".
const MAX_ALIAS_REPLAY: usize = 10_000;

/// Reads a params file into a map of parameter name → value.
pub(crate) fn read_params_file(path: &Path) -> Result<BTreeMap<String, Value>, ParamsFileError> {
    let fail = |reason: ParamsFileProblem| ParamsFileError {
        path: path.to_owned(),
        reason,
    };
    let file = File::open(path).map_err(|e| fail(e.into()))?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| fail(e.into()))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(fail(ParamsFileProblem::TooLarge {
            limit: MAX_FILE_BYTES,
        }));
    }
    parse_params(&text).map_err(fail)
}

/// Parses params-file text (see [`read_params_file`]).
pub(crate) fn parse_params(text: &str) -> Result<BTreeMap<String, Value>, ParamsFileProblem> {
    let mut options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_reader_input_bytes: Some(MAX_FILE_BYTES as usize),
        },
    };
    options.alias_limits.max_total_replayed_events = MAX_ALIAS_REPLAY;
    // `y`, `on`, `yes` stay text: a string parameter gets exactly what was
    // written, and a bool parameter still accepts them (see `Kind::coerce`).
    options.strict_booleans = true;
    // `!!python/object:...` and friends are an error, not silently a string.
    options.reject_unsupported_tags = true;
    // `.nan` and `.inf` reach the parameter's type, which refuses them with
    // the parameter named (see `Kind::coerce`), instead of failing here
    // with only a line and column.
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
    let document: TopLevel = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| ParamsFileProblem::Invalid(one_line(&e.without_snippet().to_string())))?;
    match document {
        TopLevel::Map(map) => Ok(map),
        TopLevel::Other => Err(ParamsFileProblem::NotAMapping),
    }
}

/// The document: a mapping of names to values (an empty document counts as
/// an empty mapping, as in PyYAML), or something else.
enum TopLevel {
    Map(BTreeMap<String, Value>),
    Other,
}

impl<'de> serde::Deserialize<'de> for TopLevel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopLevelVisitor)
    }
}

struct TopLevelVisitor;

macro_rules! not_a_mapping {
    ($($method:ident: $t:ty),*) => {$(
        fn $method<E>(self, _: $t) -> Result<TopLevel, E> {
            Ok(TopLevel::Other)
        }
    )*};
}

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of parameter names to values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<TopLevel, A::Error> {
        let mut map = BTreeMap::new();
        while let Some((key, value)) = access.next_entry::<String, Value>()? {
            map.insert(key, value);
        }
        Ok(TopLevel::Map(map))
    }
    fn visit_unit<E>(self) -> Result<TopLevel, E> {
        Ok(TopLevel::Map(BTreeMap::new()))
    }
    fn visit_none<E>(self) -> Result<TopLevel, E> {
        Ok(TopLevel::Map(BTreeMap::new()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<TopLevel, A::Error> {
        Ok(TopLevel::Other)
    }
    not_a_mapping!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Renders `parameters.yaml`: one `key: value` per parameter, keys sorted,
/// paths as strings, unset as `null`; strings that YAML 1.1 would read as
/// something else (`yes`, `1.0`, `null`, ...) are quoted, so PyYAML,
/// pystematic and rystematic all read back exactly what was written.
pub(crate) fn render_params(params: &Params) -> String {
    // One line per scalar, however long or multi-line (escaped): greppable,
    // diffable, and what pystematic's files look like.
    let options = serde_saphyr::ser_options! {
        prefer_block_scalars: false,
    };
    serde_saphyr::to_string_with_options(params, options)
        .expect("plain scalars and lists always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn reads_scalars_lists_and_nulls() {
        let map = parse_params(
            "a: 1\nb: 0.5\nc: hello\nd: null\ne: [1, 2]\nf:\n  - x\n  - y\ng: true\nh: '1.0'\n",
        )
        .unwrap();
        assert_eq!(map["a"], Value::Int(1));
        assert_eq!(map["b"], Value::Float(0.5));
        assert_eq!(map["c"], Value::from("hello"));
        assert_eq!(map["d"], Value::Null);
        assert_eq!(map["e"], Value::from(vec![1, 2]));
        assert_eq!(map["f"], Value::from(vec!["x", "y"]));
        assert_eq!(map["g"], Value::Bool(true));
        assert_eq!(map["h"], Value::from("1.0"));
        assert_eq!(parse_params("a: yes").unwrap()["a"], Value::from("yes"));
        assert!(parse_params("").unwrap().is_empty());
    }

    #[test]
    fn rejects_what_is_not_plain_data() {
        assert!(matches!(
            parse_params("- a\n- b\n"),
            Err(ParamsFileProblem::NotAMapping)
        ));
        assert!(matches!(
            parse_params("just text"),
            Err(ParamsFileProblem::NotAMapping)
        ));
        let nested = parse_params("a:\n  b: 1\n").unwrap_err().to_string();
        assert!(nested.contains("nested mapping"), "{nested}");
        let err = parse_params("a: [1, 2\n").unwrap_err();
        assert!(matches!(err, ParamsFileProblem::Invalid(_)));
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn rejects_deep_nesting() {
        let deep = format!("a: {}1{}\n", "[".repeat(100), "]".repeat(100));
        assert!(matches!(
            parse_params(&deep),
            Err(ParamsFileProblem::Invalid(_))
        ));
    }

    #[test]
    fn rejects_alias_bombs() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse_params(&doc).unwrap_err();
        assert!(matches!(err, ParamsFileProblem::Invalid(_)), "{err}");
        // A few honest aliases are fine.
        let ok = parse_params("a: &v [1, 2]\nb: *v\n").unwrap();
        assert_eq!(ok["b"], Value::from(vec![1, 2]));
    }

    #[test]
    fn tagged_values_construct_nothing() {
        // PyYAML's full loader would call os.system here.
        let err = parse_params("a: !!python/object/apply:os.system ['echo hi']\n").unwrap_err();
        assert!(matches!(err, ParamsFileProblem::Invalid(_)), "{err}");
        let err = parse_params("a: !custom 3\n").unwrap_err();
        assert!(matches!(err, ParamsFileProblem::Invalid(_)), "{err}");
    }

    /// Every float text the command line accepts reads back from
    /// `parameters.yaml` as the same number, and strings that spell a YAML
    /// special float stay strings.
    #[test]
    fn accepted_floats_and_float_like_strings_round_trip() {
        use crate::param::Kind;
        let float_texts = [
            "0",
            "-0.0",
            "0.1",
            "1",
            "-1",
            "1e-7",
            "1E5",
            "+2.5",
            "1e308",
            "-1e308",
            "1.7976931348623157e308",
            "5e-324",
            "2.2250738585072014e-308",
            "123456789012345678",
            " 3.5 ",
            "0.30000000000000004",
            ".5",
            "5.",
            "1_0",
        ];
        let str_texts = [
            "nan",
            "NaN",
            ".nan",
            ".NaN",
            ".NAN",
            "inf",
            ".inf",
            "-.inf",
            "+.inf",
            ".Inf",
            "-.INF",
            "infinity",
            "1e999",
            "1e5",
            "-0.0",
            "0x1F",
            "0o17",
            "1_000",
            "~",
            "Null",
            "NULL",
            "True",
            "off",
            "1:20",
            "2001-12-14",
        ];
        let mut params = Vec::new();
        for (i, text) in float_texts.iter().enumerate() {
            // Texts Rust does not parse are not accepted by the CLI either.
            if let Ok(value) = Kind::Float.parse_text(text) {
                params.push((format!("f{i:02}"), value));
            }
        }
        for (i, text) in str_texts.iter().enumerate() {
            params.push((format!("s{i:02}"), Kind::Str.parse_text(text).unwrap()));
        }
        let params: Params = params.into_iter().collect();
        let text = render_params(&params);
        let back = parse_params(&text).unwrap();
        for (name, value) in &params {
            let kind = if name.starts_with('f') {
                Kind::Float
            } else {
                Kind::Str
            };
            let read = kind.coerce(back[name.as_str()].clone());
            assert_eq!(read.as_ref(), Ok(value), "{name} in\n{text}");
        }
    }

    #[test]
    fn rendering_quotes_ambiguous_strings_and_round_trips() {
        let params: Params = [
            ("a_str", Value::from("yes")),
            ("b_num_str", Value::from("1.0")),
            ("c_null_str", Value::from("null")),
            ("d_empty", Value::from("")),
            ("e_path", Value::from(PathBuf::from("./output"))),
            ("f_none", Value::Null),
            ("g_list", Value::from(vec!["a", "b"])),
            ("h_empty_list", Value::List(vec![])),
            ("i_float", Value::Float(1e20)),
            ("j_int", Value::Int(-3)),
            ("k_colon", Value::from("1:20")),
            ("l_flag", Value::Bool(false)),
            ("m_float", Value::Float(0.1)),
            ("n_long", Value::from("/a/very/long/path ".repeat(10))),
            ("o_multi", Value::from("line 1\nline 2")),
        ]
        .into_iter()
        .collect();
        let text = render_params(&params);
        let back = parse_params(&text).unwrap();
        for (name, value) in &params {
            let expected = match value {
                Value::Path(p) => Value::from(p.to_str().unwrap()),
                v => v.clone(),
            };
            assert_eq!(&back[name.as_str()], &expected, "{name} in\n{text}");
        }
        assert!(text.starts_with("a_str: "), "{text}");
        assert!(text.contains("f_none: null\n"), "{text}");
        assert_eq!(
            text.lines().count(),
            params.len() + 2,
            "one line per scalar:\n{text}"
        );
    }
}
