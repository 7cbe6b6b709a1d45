//! Parameter declarations: the [`Param`] builder and [`ParamGroup`].
//!
//! A `Param` is pure definition. Whether it is well formed is checked once,
//! when it is added to an experiment or group ([`Param::validate`]), so a
//! programmer mistake surfaces where the experiment is defined, never in the
//! middle of somebody's run.

pub(crate) mod builtin;
mod kind;
pub(crate) mod set;
pub(crate) mod typed;

use std::fmt;
use std::sync::Arc;

pub(crate) use builtin::names;
pub(crate) use kind::Kind;

use crate::error::DefinitionError;
use crate::value::Value;

/// A default: a fixed value, or a function evaluated once per run (the
/// random seed is one).
#[derive(Clone)]
pub(crate) enum DefaultValue {
    Fixed(Value),
    Computed(Arc<dyn Fn() -> Value + Send + Sync>),
}

impl DefaultValue {
    pub(crate) fn evaluate(&self) -> Value {
        match self {
            DefaultValue::Fixed(v) => v.clone(),
            DefaultValue::Computed(f) => f(),
        }
    }
}

impl fmt::Debug for DefaultValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefaultValue::Fixed(v) => write!(f, "{v:?}"),
            DefaultValue::Computed(_) => f.write_str("<computed>"),
        }
    }
}

/// A parameter of an experiment: name, type, default and how it may be set.
///
/// Start from the constructor for its type, then chain what applies:
///
/// ```
/// use rystematic::Param;
///
/// let lr = Param::float("learning_rate")
///     .default(0.01)
///     .env("LEARNING_RATE")
///     .help("Step size of the optimiser.");
/// let optimiser = Param::string("optimiser").allowed_values(["sgd", "adam"]).default("sgd");
/// let layers = Param::int("layers").multiple().default(vec![64, 64]);
/// let verbose = Param::flag("verbose").help("Print every step.");
/// # let _ = (lr, optimiser, layers, verbose);
/// ```
///
/// Names are snake_case identifiers; the command-line flag is the kebab-case
/// form (`learning_rate` → `--learning-rate`).
#[derive(Clone, Debug)]
pub struct Param {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) default: Option<DefaultValue>,
    pub(crate) required: bool,
    pub(crate) allowed: Option<Vec<Value>>,
    pub(crate) flag: bool,
    pub(crate) multiple: bool,
    pub(crate) allow_from_file: bool,
    pub(crate) env: Option<String>,
    pub(crate) help: Option<String>,
    pub(crate) default_help: Option<String>,
    pub(crate) hidden: bool,
}

impl Param {
    fn with_kind(name: &str, kind: Kind) -> Param {
        Param {
            name: name.to_owned(),
            kind,
            default: None,
            required: false,
            allowed: None,
            flag: false,
            multiple: false,
            allow_from_file: true,
            env: None,
            help: None,
            default_help: None,
            hidden: false,
        }
    }

    /// A string parameter (the default type).
    pub fn new(name: &str) -> Param {
        Param::string(name)
    }

    /// A string parameter.
    pub fn string(name: &str) -> Param {
        Param::with_kind(name, Kind::Str)
    }

    /// A 64-bit integer parameter. Negative numbers are values, not flags.
    pub fn int(name: &str) -> Param {
        Param::with_kind(name, Kind::Int)
    }

    /// A 64-bit float parameter. Negative numbers are values, not flags.
    pub fn float(name: &str) -> Param {
        Param::with_kind(name, Kind::Float)
    }

    /// A boolean that takes a value: `--x true`, `--x no`. For an on/off
    /// switch use [`Param::flag`].
    pub fn bool(name: &str) -> Param {
        Param::with_kind(name, Kind::Bool)
    }

    /// A path parameter (stored as a path, written to files as a string).
    pub fn path(name: &str) -> Param {
        Param::with_kind(name, Kind::Path)
    }

    /// A boolean flag: `--x` sets it, `--no-x` clears it, the last one given
    /// wins, and it is `false` unless set — or `true` with `.default(true)`,
    /// for a switch that is on until `--no-x` (pystematic-torch's `cuda`).
    pub fn flag(name: &str) -> Param {
        Param {
            flag: true,
            ..Param::with_kind(name, Kind::Bool)
        }
    }

    /// A parameter with a user conversion from text.
    ///
    /// Values that arrive already typed (from a params file or a programmatic
    /// `run`) go through their text form, so `parse` must accept the text of
    /// its own results.
    ///
    /// ```
    /// use rystematic::{Param, Value};
    ///
    /// // "640x480" → [640, 480]
    /// let size = Param::custom("size", |text: &str| {
    ///     let (w, h) = text.split_once('x').ok_or("expected WIDTHxHEIGHT")?;
    ///     let w: i64 = w.parse().map_err(|_| "bad width")?;
    ///     let h: i64 = h.parse().map_err(|_| "bad height")?;
    ///     Ok::<_, &str>(format!("{w}x{h}"))
    /// });
    /// # let _ = size;
    /// ```
    pub fn custom<T, E, F>(name: &str, parse: F) -> Param
    where
        F: Fn(&str) -> Result<T, E> + Send + Sync + 'static,
        T: Into<Value>,
        E: fmt::Display,
    {
        let parser: kind::Parser =
            Arc::new(move |text| parse(text).map(Into::into).map_err(|e| e.to_string()));
        Param::with_kind(name, Kind::Custom(parser))
    }

    /// The default value, used when no source gives one. For a `multiple`
    /// parameter give a list.
    pub fn default(mut self, value: impl Into<Value>) -> Param {
        self.default = Some(DefaultValue::Fixed(value.into()));
        self
    }

    /// A default computed by `f`, evaluated once per run (only when no
    /// source gives a value).
    pub fn default_with<V, F>(mut self, f: F) -> Param
    where
        F: Fn() -> V + Send + Sync + 'static,
        V: Into<Value>,
    {
        self.default = Some(DefaultValue::Computed(Arc::new(move || f().into())));
        self
    }

    /// A run without a value from any source (default included) is an error.
    pub fn required(mut self) -> Param {
        self.required = true;
        self
    }

    /// The value must be one of these. Command-line and file text is matched
    /// case-insensitively and replaced by the canonical spelling given here.
    pub fn allowed_values<I, V>(mut self, values: I) -> Param
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        self.allowed = Some(values.into_iter().map(Into::into).collect());
        self
    }

    /// The parameter takes zero or more values: `--xs a b c`. It is an empty
    /// list unless given or defaulted.
    pub fn multiple(mut self) -> Param {
        self.multiple = true;
        self
    }

    /// Whether a params file may set this parameter (default: yes).
    pub fn allow_from_file(mut self, allow: bool) -> Param {
        self.allow_from_file = allow;
        self
    }

    /// Read this environment variable when neither the command line nor a
    /// params file gives a value. List values split on `:` and `,`.
    ///
    /// Unlike pystematic, no parameter reads the environment unless asked:
    /// a parameter called `path` must not pick up `$PATH`.
    pub fn env(mut self, var: &str) -> Param {
        self.env = Some(var.to_owned());
        self
    }

    /// Help text shown by `--help`.
    pub fn help(mut self, text: &str) -> Param {
        self.help = Some(text.to_owned());
        self
    }

    /// Replaces the printed default in `--help` (e.g. `<randomly generated>`).
    pub fn default_help(mut self, text: &str) -> Param {
        self.default_help = Some(text.to_owned());
        self
    }

    /// Leave this parameter out of `--help`; it is still accepted.
    pub fn hidden(mut self) -> Param {
        self.hidden = true;
        self
    }

    /// The parameter's name (snake_case).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The command-line flag without dashes (`learning-rate`).
    pub(crate) fn flag_name(&self) -> String {
        self.name.replace('_', "-")
    }

    /// Checks the declaration and normalises its default and allowed values
    /// to the parameter's type. Called when the parameter is added.
    pub(crate) fn validate(mut self) -> Result<Param, DefinitionError> {
        let err = |reason: String| DefinitionError::InvalidParam {
            name: self.name.clone(),
            reason,
        };
        if !is_snake_case(&self.name) {
            return Err(DefinitionError::InvalidParamName {
                name: self.name.clone(),
            });
        }
        if self.flag && self.multiple {
            return Err(err("a flag cannot take multiple values".into()));
        }
        if self.flag && self.allowed.is_some() {
            return Err(err("a flag cannot have allowed values".into()));
        }
        if let Some(var) = &self.env
            && (var.is_empty() || var.contains(['=', '\0']))
        {
            return Err(err(format!(
                "`{var}` is not a valid environment variable name"
            )));
        }
        if let Some(allowed) = self.allowed.take() {
            if allowed.is_empty() {
                return Err(err("the list of allowed values is empty".into()));
            }
            let allowed = allowed
                .into_iter()
                .map(|v| match self.kind.coerce(v.clone()) {
                    Ok(Value::Null) | Err(_) => Err(err(format!(
                        "allowed value `{v}` is not a valid {}",
                        self.kind.name()
                    ))),
                    Ok(v) => Ok(v),
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.allowed = Some(allowed);
        }
        if let Some(DefaultValue::Fixed(value)) = &self.default {
            let value = value.clone();
            let value = self
                .normalise(value.clone())
                .map_err(|reason| err(format!("default `{value}` is invalid: {reason}")))?;
            self.default = Some(DefaultValue::Fixed(value));
        }
        Ok(self)
    }

    /// Converts a typed value from any source to this parameter's type and
    /// checks it against the allowed values. Null passes through.
    pub(crate) fn normalise(&self, value: Value) -> Result<Value, String> {
        match value {
            Value::Null => Ok(Value::Null),
            Value::List(items) if self.multiple => items
                .into_iter()
                .map(|item| self.normalise_scalar(item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            Value::List(_) => Err(format!(
                "expected a single {}, found a list",
                self.kind.name()
            )),
            // One value for a list parameter is a list of one.
            scalar if self.multiple => Ok(Value::List(vec![self.normalise_scalar(scalar)?])),
            scalar => self.normalise_scalar(scalar),
        }
    }

    fn normalise_scalar(&self, value: Value) -> Result<Value, String> {
        let value = self.kind.coerce(value)?;
        self.check_allowed(value)
    }

    /// Parses one command-line or environment token.
    pub(crate) fn parse_text(&self, text: &str) -> Result<Value, String> {
        let value = self.kind.parse_text(text)?;
        self.check_allowed(value)
    }

    fn check_allowed(&self, value: Value) -> Result<Value, String> {
        let Some(allowed) = &self.allowed else {
            return Ok(value);
        };
        let found = allowed.iter().find(|a| match (a, &value) {
            (Value::Str(a), Value::Str(v)) => a.to_lowercase() == v.to_lowercase(),
            (a, v) => *a == v,
        });
        match found {
            Some(canonical) => Ok(canonical.clone()),
            None => Err(format!("not one of {}", self.allowed_list())),
        }
    }

    /// `sgd, adam` — for messages and help.
    pub(crate) fn allowed_list(&self) -> String {
        self.allowed
            .iter()
            .flatten()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The text `--help` shows as the default, if any.
    pub(crate) fn default_text(&self, default: Option<&DefaultValue>) -> Option<String> {
        if let Some(text) = &self.default_help {
            return Some(text.clone());
        }
        self.default_value_text(default)
    }

    /// Whether `other` declares the same parameter: every attribute equal,
    /// and the very same function where one is involved (a computed default,
    /// a custom conversion). Inheriting such a twin through a second path
    /// (a diamond) keeps one copy instead of clashing.
    pub(crate) fn same_definition(&self, other: &Param) -> bool {
        let same_default = match (&self.default, &other.default) {
            (None, None) => true,
            (Some(DefaultValue::Fixed(a)), Some(DefaultValue::Fixed(b))) => a == b,
            (Some(DefaultValue::Computed(a)), Some(DefaultValue::Computed(b))) => Arc::ptr_eq(a, b),
            _ => false,
        };
        let same_kind = match (&self.kind, &other.kind) {
            (Kind::Custom(a), Kind::Custom(b)) => Arc::ptr_eq(a, b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        };
        same_default
            && same_kind
            && self.name == other.name
            && self.required == other.required
            && self.allowed == other.allowed
            && self.flag == other.flag
            && self.multiple == other.multiple
            && self.allow_from_file == other.allow_from_file
            && self.env == other.env
            && self.help == other.help
            && self.default_help == other.default_help
            && self.hidden == other.hidden
    }

    /// The default as help shows it, ignoring `default_help` (e.g. for a
    /// default an experiment overrides with a fixed value).
    pub(crate) fn default_value_text(&self, default: Option<&DefaultValue>) -> Option<String> {
        match default? {
            DefaultValue::Fixed(Value::Null) => None,
            DefaultValue::Fixed(Value::List(items)) if items.is_empty() => None,
            DefaultValue::Fixed(Value::Bool(false)) if self.flag => None,
            DefaultValue::Fixed(v) => Some(v.to_string()),
            DefaultValue::Computed(_) => Some("<computed>".to_owned()),
        }
    }
}

/// `learning_rate`, `x`, `layer2_size`: lowercase ASCII letters, digits and
/// single underscores, starting with a letter.
pub(crate) fn is_snake_case(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__")
}

/// A titled section of parameters in `--help`. Grouping only structures the
/// help output: values are still one flat map.
///
/// ```
/// use rystematic::{Param, ParamGroup};
///
/// let optim = ParamGroup::new("Optimiser")
///     .param(Param::float("lr").default(0.1))
///     .param(Param::float("momentum").default(0.9));
/// # let _ = optim;
/// ```
#[derive(Clone, Debug)]
pub struct ParamGroup {
    pub(crate) title: String,
    pub(crate) params: Vec<Param>,
}

impl ParamGroup {
    /// A group with this section title.
    pub fn new(title: &str) -> ParamGroup {
        ParamGroup {
            title: title.to_owned(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter to the group.
    ///
    /// # Panics
    /// If the group already holds a parameter of that name (a definition
    /// mistake, reported where it is made).
    pub fn param(mut self, param: Param) -> ParamGroup {
        if self.params.iter().any(|p| p.name == param.name) {
            panic!(
                "{}",
                DefinitionError::Clash {
                    owner: format!("parameter group \"{}\"", self.title),
                    name: param.name,
                    other: "another parameter of the same name in the group".to_owned(),
                }
            );
        }
        self.params.push(param);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_names() {
        for ok in ["x", "learning_rate", "layer2_size", "a1"] {
            assert!(is_snake_case(ok), "{ok}");
        }
        for bad in [
            "",
            "X",
            "Lr",
            "learning-rate",
            "_x",
            "x_",
            "a__b",
            "1a",
            "ä",
        ] {
            assert!(!is_snake_case(bad), "{bad}");
        }
    }

    #[test]
    fn definition_mistakes_are_reported_with_the_name() {
        let msg = |p: Param| p.validate().unwrap_err().to_string();
        assert!(msg(Param::int("Bad-Name")).contains("`Bad-Name`"));
        assert!(msg(Param::flag("f").multiple()).contains("`f`: a flag cannot take multiple"));
        assert!(msg(Param::flag("f").allowed_values(["a"])).contains("allowed values"));
        assert!(msg(Param::int("n").default("abc")).contains("default `abc` is invalid"));
        assert!(msg(Param::int("n").allowed_values(["x"])).contains("allowed value `x`"));
        assert!(
            msg(Param::string("s").allowed_values(["a"]).default("b")).contains("not one of a")
        );
        assert!(msg(Param::string("s").env("A=B")).contains("environment variable"));
        assert!(msg(Param::string("s").allowed_values(Vec::<String>::new())).contains("empty"));
        let nan = msg(Param::float("x").default(f64::NAN));
        assert!(
            nan.contains("`x`") && nan.contains("not a finite number"),
            "{nan}"
        );
        assert!(
            msg(Param::float("xs")
                .multiple()
                .default(vec![1.0, f64::INFINITY]))
            .contains("not a finite number")
        );
        assert!(
            msg(Param::float("x").allowed_values([f64::NEG_INFINITY])).contains("allowed value")
        );
    }

    #[test]
    fn defaults_are_normalised_to_the_type() {
        let p = Param::float("x").default(1).validate().unwrap();
        assert!(matches!(
            p.default,
            Some(DefaultValue::Fixed(Value::Float(1.0)))
        ));
        let p = Param::int("xs").multiple().default(3).validate().unwrap();
        assert!(
            matches!(p.default, Some(DefaultValue::Fixed(Value::List(ref v))) if v == &[Value::Int(3)])
        );
        let p = Param::string("c")
            .allowed_values(["SGD", "adam"])
            .default("sgd")
            .validate()
            .unwrap();
        assert!(matches!(p.default, Some(DefaultValue::Fixed(Value::Str(ref s))) if s == "SGD"));
    }

    #[test]
    fn allowed_values_match_case_insensitively_and_canonicalise() {
        let p = Param::string("opt")
            .allowed_values(["sgd", "adam"])
            .validate()
            .unwrap();
        assert_eq!(p.parse_text("ADAM").unwrap(), Value::from("adam"));
        assert_eq!(p.parse_text("rmsprop").unwrap_err(), "not one of sgd, adam");
        let p = Param::int("n").allowed_values([1, 2]).validate().unwrap();
        assert_eq!(p.normalise(Value::from("2")).unwrap(), Value::Int(2));
        assert!(p.normalise(Value::Int(3)).is_err());
    }

    #[test]
    fn help_defaults() {
        let p = Param::int("n").default(3);
        assert_eq!(p.default_text(p.default.as_ref()).as_deref(), Some("3"));
        let p = Param::int("n").default_with(|| 4).default_help("<four>");
        assert_eq!(
            p.default_text(p.default.as_ref()).as_deref(),
            Some("<four>")
        );
        let p = Param::flag("f");
        assert_eq!(p.default_text(p.default.as_ref()), None);
    }
}
