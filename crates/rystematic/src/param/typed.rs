//! Typed parameters: a struct whose fields are the parameters.
//!
//! `#[derive(Params)]` implements [`TypedParams`] with builder calls — the
//! same [`Param`] builder a user can call by hand — and reads the resolved
//! values back into the struct by the same names, so the declaration is the
//! only source of truth. [`Experiment::typed`](crate::Experiment::typed)
//! turns a function taking such a struct into an experiment.

use std::path::PathBuf;

use crate::error::ParamAccessError;
use crate::param::Param;
use crate::value::{ConversionError, FromValue, Params, Value};

/// A struct of parameters. Derive it with `#[derive(rystematic::Params)]`:
///
/// ```
/// use rystematic::{Experiment, Params, Run};
///
/// #[derive(Params)]
/// struct Train {
///     /// Step size of the optimiser.
///     #[param(default = 0.1)]
///     lr: f64,
///     /// Passes over the data.
///     epochs: u32,
///     /// Where to start from.
///     checkpoint: Option<std::path::PathBuf>,
/// }
///
/// let exp = Experiment::typed("train", |p: Train, _run: &Run| {
///     println!("{} epochs at {}", p.epochs, p.lr);
///     Ok::<_, anyhow::Error>(())
/// });
/// # let _ = exp;
/// ```
pub trait TypedParams: Sized {
    /// Declares the parameters, in field order.
    fn declare(declarations: &mut Declarations);

    /// Reads the resolved values into the struct.
    ///
    /// # Errors
    /// A value of the wrong type for its field (names the parameter).
    fn from_params(params: &Params) -> Result<Self, ParamAccessError>;
}

/// The parameters a [`TypedParams`] struct declares, each possibly in a
/// titled help section.
#[derive(Debug, Default)]
pub struct Declarations {
    pub(crate) items: Vec<(Option<String>, Param)>,
}

impl Declarations {
    /// Declares an ungrouped parameter.
    pub fn param(&mut self, param: Param) {
        self.items.push((None, param));
    }

    /// Declares a parameter in the help section `title`.
    pub fn param_in(&mut self, title: &str, param: Param) {
        self.items.push((Some(title.to_owned()), param));
    }
}

/// A type a parameter field can have. Implemented for `String`, `bool`
/// (a flag), the integer types, `f32`/`f64`, `PathBuf`, and enums deriving
/// [`ParamEnum`](derive@crate::ParamEnum). `Option<T>` and `Vec<T>` of these
/// are handled by the derive (not required; `multiple`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the type of a parameter",
    label = "unsupported parameter type",
    note = "parameter fields are String, bool, integers, f32/f64, PathBuf, enums deriving \
            rystematic::ParamEnum, or Option/Vec of these; embed another Params struct with \
            #[param(flatten)]"
)]
pub trait ParamType: FromValue {
    /// A parameter of this type called `name`.
    fn param(name: &str) -> Param;
}

macro_rules! param_type {
    ($constructor:ident: $($t:ty),*) => {$(
        impl ParamType for $t {
            fn param(name: &str) -> Param {
                Param::$constructor(name)
            }
        }
    )*};
}
param_type!(string: String);
param_type!(flag: bool);
param_type!(int: i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);
param_type!(float: f32, f64);
param_type!(path: PathBuf);

/// An enum whose variants are a parameter's allowed values. Derive it with
/// `#[derive(rystematic::ParamEnum)]`; variants are spelled in kebab-case
/// (`AdamW` → `adam-w`) unless renamed with `#[param(rename = "...")]`, and
/// matched case-insensitively.
///
/// ```
/// use rystematic::{ParamEnum, Params};
///
/// #[derive(ParamEnum, Debug, PartialEq)]
/// enum Optimiser {
///     Sgd,
///     AdamW,
/// }
///
/// #[derive(Params)]
/// struct Train {
///     #[param(default = Optimiser::Sgd)]
///     optimiser: Optimiser,
/// }
/// assert_eq!(Optimiser::AdamW.as_str(), "adam-w");
/// assert_eq!(Optimiser::from_name("sgd"), Some(Optimiser::Sgd));
/// ```
pub trait ParamEnum: Sized {
    /// Every variant's spelling, in declaration order.
    const NAMES: &'static [&'static str];

    /// The variant at `index` in [`ParamEnum::NAMES`].
    ///
    /// # Panics
    /// If `index` is out of range.
    fn from_index(index: usize) -> Self;

    /// This variant's index in [`ParamEnum::NAMES`].
    fn index(&self) -> usize;

    /// The spelling of this variant.
    fn as_str(&self) -> &'static str {
        Self::NAMES[self.index()]
    }

    /// The variant spelled `text` (exactly).
    fn from_name(text: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|name| *name == text)
            .map(Self::from_index)
    }

    /// A string parameter whose allowed values are the variants.
    fn enum_param(name: &str) -> Param {
        Param::string(name).allowed_values(Self::NAMES.iter().copied())
    }

    /// Reads a (canonical) string value as a variant.
    ///
    /// # Errors
    /// If the value is not a variant's spelling.
    fn from_enum_value(value: &Value) -> Result<Self, ConversionError> {
        match value {
            Value::Str(s) => Self::from_name(s).ok_or_else(|| {
                ConversionError::new(format!("`{s}` is not one of {}", Self::NAMES.join(", ")))
            }),
            other => Err(ConversionError::new(format!(
                "expected one of {}, found `{other}`",
                Self::NAMES.join(", ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Opt {
        Sgd,
        AdamW,
    }

    impl ParamEnum for Opt {
        const NAMES: &'static [&'static str] = &["sgd", "adam-w"];
        fn from_index(index: usize) -> Self {
            [Opt::Sgd, Opt::AdamW].into_iter().nth(index).unwrap()
        }
        fn index(&self) -> usize {
            match self {
                Opt::Sgd => 0,
                Opt::AdamW => 1,
            }
        }
    }

    #[test]
    fn enums_are_allowed_values() {
        let p = Opt::enum_param("opt").validate().unwrap();
        assert_eq!(p.parse_text("ADAM-W").unwrap(), Value::from("adam-w"));
        assert_eq!(
            Opt::from_enum_value(&Value::from("adam-w")).unwrap(),
            Opt::AdamW
        );
        assert!(
            Opt::from_enum_value(&Value::from("x"))
                .unwrap_err()
                .to_string()
                .contains("sgd, adam-w")
        );
        assert_eq!(Opt::Sgd.as_str(), "sgd");
    }

    #[test]
    fn field_types_map_to_param_kinds() {
        assert!(bool::param("f").flag);
        assert_eq!(u32::param("n").kind.name(), "int");
        assert_eq!(f32::param("x").kind.name(), "float");
        assert_eq!(PathBuf::param("p").kind.name(), "path");
        assert_eq!(String::param("s").kind.name(), "string");
    }
}
