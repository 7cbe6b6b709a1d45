//! Turning the sources of parameter values into one [`Params`].
//!
//! Precedence, highest first: command-line options after `--params-file`,
//! the params file, command-line options before it, environment variables,
//! the experiment's default override, the declared default. Values given
//! programmatically (`run`, a child's spec) sit above all of these.
//!
//! With several `--params-file` options the command line is read left to
//! right and a later source wins per key: options before the first file,
//! the first file, options between the files, the second file, and so on.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

pub(crate) mod yaml;

use crate::error::{Source, UsageError};
use crate::param::names;
use crate::param::set::ParamSet;
use crate::param::{DefaultValue, Param};
use crate::value::{Params, Value};

/// A value as one source gives it.
#[derive(Debug, Clone)]
pub(crate) enum Given {
    /// Command-line tokens: one for a scalar, any number for `multiple`.
    Text(Vec<String>),
    /// `--x` (true) or `--no-x` (false).
    Flag(bool),
    /// An already typed value (programmatic `run`).
    Typed(Value),
}

/// Values from one source, by parameter name.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub(crate) origin: Source,
    pub(crate) values: BTreeMap<String, Given>,
}

impl Layer {
    pub(crate) fn new(origin: Source) -> Layer {
        Layer {
            origin,
            values: BTreeMap::new(),
        }
    }
}

/// One step of the command line, in the order given.
#[derive(Debug, Clone)]
pub(crate) enum Stage {
    /// Options given between two params files (or before the first, or
    /// after the last).
    Options(Layer),
    /// A params file.
    File(PathBuf),
}

/// What a caller asks for: the command line as a sequence of stages, later
/// ones winning (`--a 1 --params-file f --b 2`: options `a`, file `f`,
/// options `b`), and programmatic values above everything.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) command_line: Vec<Stage>,
    pub(crate) overrides: Layer,
}

impl Request {
    /// Values only, as `run` gives them (`params_file` among them is the file).
    pub(crate) fn programmatic(params_file: Option<PathBuf>, overrides: Layer) -> Request {
        Request {
            command_line: params_file.into_iter().map(Stage::File).collect(),
            overrides,
        }
    }

    /// The params files named, in order.
    pub(crate) fn params_files(&self) -> impl DoubleEndedIterator<Item = &PathBuf> {
        self.command_line.iter().filter_map(|stage| match stage {
            Stage::File(path) => Some(path),
            Stage::Options(_) => None,
        })
    }
}

/// A [`Stage`] ready for look-ups: a params file already read.
enum Ready {
    Options(Layer),
    File(BTreeMap<String, Value>),
}

/// The resolved parameters, and anything worth telling the user once the
/// run's log is open.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) params: Params,
    pub(crate) warnings: Vec<String>,
}

/// Resolves every parameter of `set`. `env` looks up environment variables
/// (injectable for tests); raw, so a value that is not UTF-8 is reported
/// rather than taken for an unset variable.
pub(crate) fn resolve(
    experiment: &str,
    set: &ParamSet,
    request: Request,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Resolved, UsageError> {
    let mut warnings = Vec::new();
    // Highest precedence first, so the first stage that has a key wins.
    let mut stages = Vec::with_capacity(request.command_line.len());
    for stage in request.command_line.iter().rev() {
        stages.push(match stage {
            Stage::Options(layer) => Ready::Options(layer.clone()),
            Stage::File(path) => Ready::File(read_file(experiment, set, path, &mut warnings)?),
        });
    }
    let last_file = request.params_files().next_back().cloned();
    let mut params = Params::default();
    for entry in set.entries() {
        let param = &entry.param;
        let value = if param.name == names::PARAMS_FILE {
            last_file.clone().map(Value::Path)
        } else if let Some(given) = request.overrides.values.get(&param.name) {
            Some(convert(param, given, &request.overrides.origin)?)
        } else {
            match from_command_line(param, &stages)? {
                Some(value) => Some(value),
                None => from_env(param, env)?,
            }
        };
        let value = match value {
            Some(value) => value,
            None => default_value(set, param)?,
        };
        params.insert(&param.name, finish(param, value)?);
    }
    Ok(Resolved { params, warnings })
}

/// The value of the highest-precedence stage that gives `param` one.
fn from_command_line(param: &Param, stages: &[Ready]) -> Result<Option<Value>, UsageError> {
    for stage in stages {
        match stage {
            Ready::Options(layer) => {
                if let Some(given) = layer.values.get(&param.name) {
                    return convert(param, given, &layer.origin).map(Some);
                }
            }
            Ready::File(values) => {
                if let Some(value) = values.get(&param.name) {
                    return Ok(Some(value.clone()));
                }
            }
        }
    }
    Ok(None)
}

/// The default of `param`. A fixed one was checked when it was declared; a
/// computed one can only be checked now, like any other value, so that it
/// too is of the parameter's type and reads back from `parameters.yaml`
/// (a NaN would not).
fn default_value(set: &ParamSet, param: &Param) -> Result<Value, UsageError> {
    match set.default_of(param) {
        None => Ok(Value::Null),
        Some(DefaultValue::Fixed(value)) => Ok(value),
        Some(computed @ DefaultValue::Computed(_)) => {
            let value = computed.evaluate();
            param
                .normalise(value.clone())
                .map_err(|reason| UsageError::Unconvertible {
                    param: param.name.clone(),
                    value: value.to_string(),
                    reason: format!("the computed default is invalid: {reason}"),
                })
        }
    }
}

/// Fills in what "unset" means for each kind of parameter, and enforces
/// `required`.
fn finish(param: &Param, value: Value) -> Result<Value, UsageError> {
    match value {
        Value::Null if param.required => Err(UsageError::MissingRequired {
            param: format!("--{}", param.flag_name()),
        }),
        Value::Null if param.flag => Ok(Value::Bool(false)),
        Value::Null if param.multiple => Ok(Value::List(Vec::new())),
        value => Ok(value),
    }
}

fn convert(param: &Param, given: &Given, origin: &Source) -> Result<Value, UsageError> {
    let invalid = |value: String, reason: String| UsageError::InvalidValue {
        param: display_name(param, origin),
        value,
        origin: origin.clone(),
        reason,
    };
    match given {
        Given::Flag(on) => Ok(Value::Bool(*on)),
        Given::Typed(value) => param
            .normalise(value.clone())
            .map_err(|reason| invalid(value.to_string(), reason)),
        Given::Text(tokens) if param.multiple => tokens
            .iter()
            .map(|t| {
                param
                    .parse_text(t)
                    .map_err(|reason| invalid(t.clone(), reason))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List),
        Given::Text(tokens) => {
            let text = tokens.last().map_or("", String::as_str);
            param
                .parse_text(text)
                .map_err(|reason| invalid(text.to_owned(), reason))
        }
    }
}

/// `--flag-name` where the user typed flags, `snake_name` where they wrote keys.
fn display_name(param: &Param, origin: &Source) -> String {
    match origin {
        Source::CommandLine | Source::Env(_) => format!("--{}", param.flag_name()),
        Source::File(_) | Source::Programmatic => param.name.clone(),
    }
}

fn from_env(
    param: &Param,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Option<Value>, UsageError> {
    let Some(var) = &param.env else {
        return Ok(None);
    };
    let Some(raw) = env(var) else {
        return Ok(None);
    };
    // Every value is text; bytes that are not UTF-8 cannot be one, and
    // dropping them would silently run with the default instead.
    let text = raw.into_string().map_err(|raw| UsageError::InvalidValue {
        param: display_name(param, &Source::Env(var.clone())),
        value: raw.to_string_lossy().into_owned(),
        origin: Source::Env(var.clone()),
        reason: "not valid UTF-8".to_owned(),
    })?;
    // A flag's variable holds a boolean (`1`, `true`, `yes`), which the
    // flag's bool type parses like any other text.
    let tokens = if param.multiple {
        text.split([':', ','])
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    } else {
        vec![text]
    };
    convert(param, &Given::Text(tokens), &Source::Env(var.clone())).map(Some)
}

/// Reads the params file, keeping values for parameters that may come from
/// a file. Keys that name no parameter become warnings; keys of parameters
/// that may not come from a file (`params_file` itself, `local_rank`, ...)
/// are skipped quietly, because every `parameters.yaml` has them.
fn read_file(
    experiment: &str,
    set: &ParamSet,
    path: &std::path::Path,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<String, Value>, UsageError> {
    let origin = Source::File(path.to_owned());
    let mut values = BTreeMap::new();
    for (key, value) in yaml::read_params_file(path)? {
        let Some(entry) = set.get(&key) else {
            warnings.push(format!(
                "params file '{}' sets `{key}`, which is not a parameter of experiment \
                 `{experiment}`; ignored",
                path.display()
            ));
            continue;
        };
        if !entry.param.allow_from_file {
            continue;
        }
        let value = convert(&entry.param, &Given::Typed(value), &origin)?;
        values.insert(key, value);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::param::set::Origin;
    use std::collections::HashMap;

    fn set() -> ParamSet {
        let mut s = ParamSet::default();
        for p in [
            Param::path(names::PARAMS_FILE).allow_from_file(false),
            Param::int("n").default(1).env("N"),
            Param::string("s"),
            Param::flag("f").env("F"),
            Param::int("xs").multiple().env("XS"),
            Param::string("req").required(),
            Param::int("rank").default(0).allow_from_file(false),
        ] {
            s.add("e", p, None, Origin::Declared).unwrap();
        }
        s
    }

    fn layer(origin: Source, values: &[(&str, Given)]) -> Layer {
        Layer {
            origin,
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        }
    }

    fn text(t: &str) -> Given {
        Given::Text(vec![t.to_owned()])
    }

    fn request(
        before: &[(&str, Given)],
        file: Option<PathBuf>,
        after: &[(&str, Given)],
    ) -> Request {
        let mut command_line = vec![Stage::Options(layer(Source::CommandLine, before))];
        command_line.extend(file.map(Stage::File));
        command_line.push(Stage::Options(layer(Source::CommandLine, after)));
        Request {
            command_line,
            overrides: Layer::new(Source::Programmatic),
        }
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    #[test]
    fn defaults_fill_in_and_unset_has_a_meaning_per_kind() {
        let r = resolve(
            "e",
            &set(),
            request(&[("req", text("r"))], None, &[]),
            &no_env,
        )
        .unwrap();
        let p = r.params;
        assert_eq!(p.value("n"), Some(&Value::Int(1)));
        assert_eq!(p.value("s"), Some(&Value::Null));
        assert_eq!(p.value("f"), Some(&Value::Bool(false)));
        assert_eq!(p.value("xs"), Some(&Value::List(vec![])));
        assert_eq!(p.value("params_file"), Some(&Value::Null));
    }

    #[test]
    fn missing_required_names_the_flag() {
        let err = resolve("e", &set(), request(&[], None, &[]), &no_env).unwrap_err();
        assert_eq!(err.to_string(), "missing required value for '--req'");
    }

    #[test]
    fn file_sits_between_before_and_after() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.yaml");
        std::fs::write(&file, "n: 5\ns: from-file\nreq: r\nrank: 3\nbogus: 1\n").unwrap();
        let r = resolve(
            "e",
            &set(),
            request(
                &[("n", text("2")), ("s", text("before"))],
                Some(file.clone()),
                &[("s", text("after"))],
            ),
            &no_env,
        )
        .unwrap();
        assert_eq!(r.params.value("n"), Some(&Value::Int(5)));
        assert_eq!(r.params.value("s"), Some(&Value::from("after")));
        assert_eq!(
            r.params.value("rank"),
            Some(&Value::Int(0)),
            "not allowed from file"
        );
        assert_eq!(r.params.value("params_file"), Some(&Value::Path(file)));
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].contains("`bogus`, which is not a parameter of experiment `e`"));
    }

    #[test]
    fn several_files_layer_in_order_and_later_wins_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first.yaml");
        let second = dir.path().join("second.yaml");
        std::fs::write(&first, "n: 5\ns: first\nreq: r\n").unwrap();
        std::fs::write(&second, "s: second\n").unwrap();
        let stages = vec![
            Stage::Options(layer(Source::CommandLine, &[("n", text("1"))])),
            Stage::File(first),
            Stage::Options(layer(Source::CommandLine, &[("s", text("between"))])),
            Stage::File(second.clone()),
        ];
        let request = Request {
            command_line: stages,
            overrides: Layer::new(Source::Programmatic),
        };
        let r = resolve("e", &set(), request, &no_env).unwrap();
        assert_eq!(
            r.params.value("n"),
            Some(&Value::Int(5)),
            "first file over options before it"
        );
        assert_eq!(
            r.params.value("s"),
            Some(&Value::from("second")),
            "second file over options before it"
        );
        assert_eq!(
            r.params.value("req"),
            Some(&Value::from("r")),
            "kept from the first file"
        );
        assert_eq!(r.params.value("params_file"), Some(&Value::Path(second)));
    }

    #[test]
    fn bad_file_values_name_the_key_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.yaml");
        std::fs::write(&file, "n: abc\n").unwrap();
        let err = resolve("e", &set(), request(&[], Some(file.clone()), &[]), &no_env)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "invalid value 'abc' for 'n' in params file '{}': expected an integer",
                file.display()
            )
        );
    }

    #[test]
    fn env_is_below_the_command_line_and_splits_lists() {
        let env: HashMap<&str, &str> = [("N", "7"), ("XS", "1:2,3"), ("F", "yes")].into();
        let lookup = |k: &str| env.get(k).map(OsString::from);
        let r = resolve(
            "e",
            &set(),
            request(&[("req", text("r"))], None, &[]),
            &lookup,
        )
        .unwrap();
        assert_eq!(r.params.value("n"), Some(&Value::Int(7)));
        assert_eq!(r.params.value("xs"), Some(&Value::from(vec![1, 2, 3])));
        assert_eq!(r.params.value("f"), Some(&Value::Bool(true)));
        let r = resolve(
            "e",
            &set(),
            request(&[("req", text("r")), ("n", text("8"))], None, &[]),
            &lookup,
        )
        .unwrap();
        assert_eq!(r.params.value("n"), Some(&Value::Int(8)));

        let bad = |k: &str| (k == "N").then(|| OsString::from("x"));
        let err = resolve("e", &set(), request(&[("req", text("r"))], None, &[]), &bad)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid value 'x' for '--n' from environment variable N: expected an integer"
        );
    }

    #[test]
    fn env_values_that_are_not_utf8_are_errors_naming_the_variable() {
        use std::os::unix::ffi::OsStringExt;
        let env = |k: &str| (k == "N").then(|| OsString::from_vec(b"4\xff2".to_vec()));
        let err = resolve("e", &set(), request(&[("req", text("r"))], None, &[]), &env)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid value '4\u{FFFD}2' for '--n' from environment variable N: not valid UTF-8"
        );
    }

    #[test]
    fn computed_defaults_are_normalised_and_checked() {
        let mut s = ParamSet::default();
        for p in [
            Param::float("x").default_with(|| 2),
            Param::float("bad").default_with(|| f64::NAN),
        ] {
            s.add("e", p, None, Origin::Declared).unwrap();
        }
        let err = resolve("e", &s, request(&[], None, &[]), &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid value 'NaN' for 'bad': the computed default is invalid")
                && err.contains("not a finite number"),
            "{err}"
        );
        let given = [("bad", text("1.5"))];
        let r = resolve("e", &s, request(&given, None, &[]), &no_env).unwrap();
        assert_eq!(r.params.value("x"), Some(&Value::Float(2.0)));
    }

    #[test]
    fn typed_values_are_normalised() {
        let mut req = request(&[], None, &[]);
        req.overrides = layer(
            Source::Programmatic,
            &[
                ("n", Given::Typed(Value::from("12"))),
                ("req", Given::Typed(Value::from("r"))),
                ("xs", Given::Typed(Value::Int(4))),
            ],
        );
        let r = resolve("e", &set(), req, &no_env).unwrap();
        assert_eq!(r.params.value("n"), Some(&Value::Int(12)));
        assert_eq!(r.params.value("xs"), Some(&Value::from(vec![4])));
    }
}
