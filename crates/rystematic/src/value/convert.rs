//! [`FromValue`]: reading a [`Value`] as a Rust type, and why it can fail.

use std::fmt;
use std::path::PathBuf;

use super::Value;

/// Why a [`Value`] does not convert into a Rust type: what was expected and
/// what was found, e.g. ``expected an int, found string `ten` ``.
///
/// ```
/// use rystematic::{ConversionError, FromValue, Value};
///
/// let error = u8::from_value(&Value::Int(300)).unwrap_err();
/// assert_eq!(error.to_string(), "300 is out of range for u8");
/// assert_eq!(
///     ConversionError::expected("a bool", &Value::from("yes")).to_string(),
///     "expected a bool, found string `yes`"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionError {
    message: String,
}

impl ConversionError {
    /// An error with this message (for [`FromValue`] implementations).
    pub fn new(message: impl Into<String>) -> ConversionError {
        ConversionError {
            message: message.into(),
        }
    }

    /// "expected `what`, found `found`" (with `found`'s type).
    pub fn expected(what: &str, found: &Value) -> ConversionError {
        ConversionError::new(format!(
            "expected {what}, found {} `{found}`",
            found.type_name()
        ))
    }
}

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConversionError {}

/// Conversion from a [`Value`] into a Rust type, used by [`Params::get`](crate::Params::get).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from a parameter value",
    note = "readable types: String, bool, integers, f32/f64, PathBuf, Value, enums deriving \
            rystematic::ParamEnum, and Option/Vec of these"
)]
///
/// Implemented for the scalar types a parameter can hold, `Option<T>` (null
/// is `None`), `Vec<T>` and [`Value`] itself. The error says what was expected
/// and what was found; [`Params::get`](crate::Params::get) adds the parameter's name.
pub trait FromValue: Sized {
    /// Converts `value`, or says what was expected instead.
    fn from_value(value: &Value) -> Result<Self, ConversionError>;
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: &Value) -> Result<Self, ConversionError> {
                match value {
                    Value::Int(i) => <$t>::try_from(*i)
                        .map_err(|_| ConversionError::new(format!(
                            "{i} is out of range for {}",
                            stringify!($t)
                        ))),
                    other => Err(ConversionError::expected("an int", other)),
                }
            }
        }
    )*};
}
int_from_value!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<Self, ConversionError> {
        match value {
            Value::Float(x) => Ok(*x),
            // An int is a float too: `--lr 1` is as good as `--lr 1.0`.
            Value::Int(i) => Ok(*i as f64),
            other => Err(ConversionError::expected("a float", other)),
        }
    }
}
impl FromValue for f32 {
    fn from_value(value: &Value) -> Result<Self, ConversionError> {
        f64::from_value(value).map(|x| x as f32)
    }
}
impl FromValue for bool {
    fn from_value(value: &Value) -> Result<Self, ConversionError> {
        match value {
            Value::Bool(b) => Ok(*b),
            other => Err(ConversionError::expected("a bool", other)),
        }
    }
}
impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self, ConversionError> {
        match value {
            Value::Str(s) => Ok(s.clone()),
            Value::Path(p) => p.to_str().map(str::to_owned).ok_or_else(|| {
                ConversionError::new(format!("path `{}` is not valid UTF-8", p.display()))
            }),
            other => Err(ConversionError::expected("a string", other)),
        }
    }
}
impl FromValue for PathBuf {
    fn from_value(value: &Value) -> Result<Self, ConversionError> {
        match value {
            Value::Path(p) => Ok(p.clone()),
            Value::Str(s) => Ok(PathBuf::from(s)),
            other => Err(ConversionError::expected("a path", other)),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self, ConversionError> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}
impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(value: &Value) -> Result<Self, ConversionError> {
        match value {
            Value::List(items) => items.iter().map(T::from_value).collect(),
            other => Err(ConversionError::expected("a list", other)),
        }
    }
}
impl FromValue for Value {
    fn from_value(value: &Value) -> Result<Self, ConversionError> {
        Ok(value.clone())
    }
}
