//! Parameter types and the one typed conversion every source goes through.
//!
//! Text (command line, environment) and already-typed values (programmatic
//! `run`, YAML params files) meet here, so `--lr 0.1`, `LR=0.1`, `lr: 0.1` and
//! `run([("lr", 0.1)])` can never disagree about what a value means.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::value::Value;

/// A user conversion from command-line text to a [`Value`].
pub(crate) type Parser = Arc<dyn Fn(&str) -> Result<Value, String> + Send + Sync>;

/// The type of a parameter.
#[derive(Clone)]
pub(crate) enum Kind {
    Str,
    Int,
    Float,
    Bool,
    Path,
    /// A user conversion; values that arrive typed (from a file or `run`) are
    /// converted through their text form, so the parser must accept the text
    /// of its own output.
    Custom(Parser),
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Kind {
    /// Human name, used in messages.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Kind::Str => "string",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Bool => "bool",
            Kind::Path => "path",
            Kind::Custom(_) => "custom",
        }
    }

    /// Value placeholder shown in help and usage (`--lr <FLOAT>`).
    pub(crate) fn placeholder(&self) -> &'static str {
        match self {
            Kind::Str => "TEXT",
            Kind::Int => "INT",
            Kind::Float => "FLOAT",
            Kind::Bool => "BOOL",
            Kind::Path => "PATH",
            Kind::Custom(_) => "VALUE",
        }
    }

    /// Whether values are integers (`A..B` ranges make sense).
    pub(crate) fn is_integer(&self) -> bool {
        matches!(self, Kind::Int)
    }

    /// Whether a leading `-` starts a value (`--offset -3`) rather than an option.
    pub(crate) fn is_numeric(&self) -> bool {
        matches!(self, Kind::Int | Kind::Float)
    }

    /// Parses command-line or environment text. The error says what was
    /// expected; the caller names the parameter and the source.
    pub(crate) fn parse_text(&self, text: &str) -> Result<Value, String> {
        self.parse_text_unchecked(text).and_then(finite)
    }

    fn parse_text_unchecked(&self, text: &str) -> Result<Value, String> {
        match self {
            Kind::Str => Ok(Value::Str(text.to_owned())),
            Kind::Path => Ok(Value::Path(PathBuf::from(text))),
            Kind::Int => text
                .trim()
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| "expected an integer".to_owned()),
            Kind::Float => text
                .trim()
                .parse::<f64>()
                .map(Value::Float)
                .map_err(|_| "expected a number".to_owned()),
            Kind::Bool => parse_bool(text)
                .map(Value::Bool)
                .ok_or_else(|| "expected true or false".to_owned()),
            Kind::Custom(parse) => parse(text),
        }
    }

    /// Converts a typed scalar (from a params file or a programmatic `run`).
    /// Null stays null; lists are the caller's business.
    pub(crate) fn coerce(&self, value: Value) -> Result<Value, String> {
        self.coerce_unchecked(value).and_then(finite)
    }

    fn coerce_unchecked(&self, value: Value) -> Result<Value, String> {
        match (self, value) {
            (_, Value::Null) => Ok(Value::Null),
            (_, Value::List(_)) => Err("expected a single value, found a list".to_owned()),
            (Kind::Str, Value::Str(s)) => Ok(Value::Str(s)),
            (Kind::Str, Value::Path(p)) => Ok(Value::Str(p.to_string_lossy().into_owned())),
            // A YAML file may leave a string unquoted (`name: 1.5`): take its text.
            (Kind::Str, other @ (Value::Bool(_) | Value::Int(_) | Value::Float(_))) => {
                Ok(Value::Str(other.to_string()))
            }
            (Kind::Int, Value::Int(i)) => Ok(Value::Int(i)),
            (Kind::Int, Value::Float(x)) if x.fract() == 0.0 && x.abs() < 9.0e15 => {
                Ok(Value::Int(x as i64))
            }
            (Kind::Float, Value::Float(x)) => Ok(Value::Float(x)),
            (Kind::Float, Value::Int(i)) => Ok(Value::Float(i as f64)),
            (Kind::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
            (Kind::Bool, Value::Int(i @ (0 | 1))) => Ok(Value::Bool(i == 1)),
            (Kind::Path, Value::Path(p)) => Ok(Value::Path(p)),
            (Kind::Path, Value::Str(s)) => Ok(Value::Path(PathBuf::from(s))),
            (Kind::Custom(parse), Value::Str(s)) => parse(&s),
            (Kind::Custom(parse), other) => parse(&other.to_string()),
            (kind, Value::Str(s)) => kind.parse_text(&s),
            (kind, other) => Err(format!(
                "expected {} {}, found {} `{other}`",
                article(kind.name()),
                kind.name(),
                other.type_name()
            )),
        }
    }
}

/// Rejects NaN and the infinities, whatever source or parser produced them.
///
/// One rule both ways: a value is accepted only if it survives the trip
/// through every format a run writes it to. `parameters.yaml` could say
/// `.nan`, but child specs, sweep manifests and `run.json` are JSON, which
/// has no such numbers (serde_json writes `null`), and NaN is not equal to
/// itself, so allowed values and sweeps could not match it. Refusing them
/// up front beats a run that cannot be reproduced.
fn finite(value: Value) -> Result<Value, String> {
    match value {
        Value::Float(x) if !x.is_finite() => Err(format!(
            "not a finite number (`{x}`); NaN and infinities cannot be recorded and read back"
        )),
        value => Ok(value),
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// The spellings YAML 1.1 (and so PyYAML) and most CLIs accept for booleans.
fn parse_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 5] = ["true", "yes", "on", "y", "1"];
    const FALSE: [&str; 5] = ["false", "no", "off", "n", "0"];
    let text = text.trim();
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(text)) {
        Some(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(text)) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_parsing_per_kind() {
        assert_eq!(Kind::Int.parse_text("-3").unwrap(), Value::Int(-3));
        assert_eq!(
            Kind::Int.parse_text("x").unwrap_err(),
            "expected an integer"
        );
        assert_eq!(
            Kind::Int.parse_text("1.5").unwrap_err(),
            "expected an integer"
        );
        assert_eq!(Kind::Float.parse_text("1e-3").unwrap(), Value::Float(0.001));
        assert_eq!(Kind::Float.parse_text("-0.5").unwrap(), Value::Float(-0.5));
        assert!(Kind::Float.parse_text("abc").is_err());
        assert_eq!(Kind::Bool.parse_text("Yes").unwrap(), Value::Bool(true));
        assert_eq!(Kind::Bool.parse_text("off").unwrap(), Value::Bool(false));
        assert!(Kind::Bool.parse_text("maybe").is_err());
        assert_eq!(
            Kind::Path.parse_text("a/b").unwrap(),
            Value::from(PathBuf::from("a/b"))
        );
        assert_eq!(Kind::Str.parse_text(" x ").unwrap(), Value::from(" x "));
    }

    #[test]
    fn typed_values_coerce_like_pyyaml_scalars() {
        assert_eq!(
            Kind::Str.coerce(Value::Float(1.5)).unwrap(),
            Value::from("1.5")
        );
        assert_eq!(Kind::Str.coerce(Value::Int(7)).unwrap(), Value::from("7"));
        assert_eq!(Kind::Int.coerce(Value::Float(3.0)).unwrap(), Value::Int(3));
        assert!(Kind::Int.coerce(Value::Float(3.5)).is_err());
        assert!(Kind::Int.coerce(Value::Bool(true)).is_err());
        assert_eq!(Kind::Int.coerce(Value::from("12")).unwrap(), Value::Int(12));
        assert_eq!(
            Kind::Float.coerce(Value::Int(2)).unwrap(),
            Value::Float(2.0)
        );
        assert_eq!(Kind::Bool.coerce(Value::Int(1)).unwrap(), Value::Bool(true));
        assert_eq!(
            Kind::Path.coerce(Value::from("p")).unwrap(),
            Value::from(PathBuf::from("p"))
        );
        assert_eq!(Kind::Int.coerce(Value::Null).unwrap(), Value::Null);
        let err = Kind::Float.coerce(Value::Bool(true)).unwrap_err();
        assert_eq!(err, "expected a float, found bool `true`");
        assert!(Kind::Str.coerce(Value::from(vec!["a"])).is_err());
    }

    #[test]
    fn non_finite_floats_are_refused_from_every_source() {
        for text in ["nan", "NaN", "inf", "-inf", "+infinity", "1e999", "-1e400"] {
            let err = Kind::Float.parse_text(text).unwrap_err();
            assert!(err.contains("not a finite number"), "{text}: {err}");
        }
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(Kind::Float.coerce(Value::Float(x)).is_err(), "{x}");
            // A file's `.nan` read as text is refused too.
            assert!(Kind::Float.coerce(Value::from(x.to_string())).is_err());
        }
        // A user conversion cannot smuggle one in either.
        let custom = Kind::Custom(Arc::new(|s: &str| Ok(Value::Float(s.len() as f64 / 0.0))));
        assert!(custom.parse_text("x").is_err());
        assert!(custom.coerce(Value::from("x")).is_err());
        // The largest and smallest finite floats are fine.
        assert_eq!(
            Kind::Float.parse_text("1.7976931348623157e308").unwrap(),
            Value::Float(f64::MAX)
        );
        assert_eq!(
            Kind::Float.parse_text("5e-324").unwrap(),
            Value::Float(5e-324)
        );
    }

    #[test]
    fn custom_parsers_see_the_text_form() {
        let kind = Kind::Custom(Arc::new(|s: &str| {
            s.split_once('x')
                .map(|(a, b)| Value::from(format!("{a}x{b}")))
                .ok_or_else(|| "expected WxH".to_owned())
        }));
        assert_eq!(kind.parse_text("3x4").unwrap(), Value::from("3x4"));
        assert_eq!(kind.coerce(Value::from("3x4")).unwrap(), Value::from("3x4"));
        assert_eq!(kind.coerce(Value::Int(3)).unwrap_err(), "expected WxH");
    }
}
