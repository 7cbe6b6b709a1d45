//! An experiment's parameters as a `clap::Command`, and clap's matches
//! back as a resolution [`Request`].
//!
//! clap only tokenises and renders help here: defaults, environment
//! variables, `required` and type conversion are resolved by
//! [`resolve`](crate::resolve) for every source alike, so the command line
//! cannot disagree with a params file or a programmatic `run`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use clap_complete::Shell;

use crate::error::Source;
use crate::experiment::{Experiment, HasParams};
use crate::param::Param;
use crate::param::names;
use crate::param::set::{Origin, ParamEntry, ParamSet};
use crate::resolve::{Given, Layer, Request, Stage};

const COMPLETIONS: &str = "completions";
/// Allowed values are shown as the placeholder (`<sgd|adam>`) up to this length.
const MAX_CHOICE_PLACEHOLDER: usize = 40;

/// The command for one experiment (no binary name: callers pass the
/// arguments after the experiment's path), with the run-level `options`
/// (the sweep options) after its parameters.
pub(crate) fn experiment(exp: &Experiment, options: impl IntoIterator<Item = Arg>) -> Command {
    let mut cmd = Command::new(exp.name().to_owned())
        .no_binary_name(true)
        .args_override_self(true)
        .disable_version_flag(true);
    if let Some(about) = exp.about_text() {
        cmd = cmd.about(about.to_owned());
    }
    // The experiment's own parameters first, then those every experiment has.
    let set = exp.param_set();
    let ordered = set
        .entries()
        .filter(|e| e.origin == Origin::Declared)
        .chain(set.entries().filter(|e| e.origin == Origin::BuiltIn));
    for entry in ordered {
        cmd = add_param(cmd, set, entry);
    }
    cmd.args(options).arg(experiment_completions_arg())
}

fn add_param(cmd: Command, set: &ParamSet, entry: &ParamEntry) -> Command {
    let param = &entry.param;
    let help = help_text(param, set);
    let in_section = |arg: Arg| match &entry.section {
        Some(section) => arg.help_heading(section.title.clone()),
        None => arg,
    };
    if param.flag {
        let on = Arg::new(param.name.clone())
            .long(param.flag_name())
            .action(ArgAction::SetTrue)
            .overrides_with(negated_id(param))
            .help(format!("{help} (--no-{} to unset)", param.flag_name()))
            .hide(param.hidden);
        let on = in_section(on);
        let off = Arg::new(negated_id(param))
            .long(format!("no-{}", param.flag_name()))
            .action(ArgAction::SetTrue)
            .overrides_with(param.name.clone())
            .hide(true);
        return cmd.arg(on).arg(off);
    }
    // Every `--params-file` counts (they layer in order); any other option
    // given twice means the last one.
    let action = if param.name == names::PARAMS_FILE {
        ArgAction::Append
    } else {
        ArgAction::Set
    };
    let mut arg = Arg::new(param.name.clone())
        .long(param.flag_name())
        .value_name(placeholder(param))
        .action(action)
        .help(help)
        .hide(param.hidden);
    // Negative numbers are values for every kind (`--name -1`, `--xs -1 -2`),
    // never options: clap recognises the simple ones (`-3`, `-1.5e3`), and
    // `escape_negative_values` marks the rest (`-1e-3`, `-.5`). Only a
    // single numeric value takes the next token whatever it looks like
    // (`--lr --x` reads "invalid value"); for text and lists that would
    // swallow the next option.
    arg = arg.allow_negative_numbers(true);
    arg = match (param.multiple, param.kind.is_numeric()) {
        (false, true) => arg.num_args(1).allow_hyphen_values(true),
        (false, false) => arg.num_args(1),
        (true, _) => arg.num_args(0..),
    };
    cmd.arg(in_section(arg))
}

/// Prefix that marks a token as a value for clap. No command-line argument
/// can contain NUL (argv entries are C strings), so the mark cannot clash
/// with anything a user typed; [`given`] removes it.
const VALUE_MARK: char = '\0';

/// Marks the tokens that are negative numbers in a value position of an
/// option taking negative numbers (`--xs 1 -1e-3`, `--name -.5`), so clap
/// takes them as values rather than unknown short options. clap itself only
/// recognises digits with one dot and an exponent without sign. Token
/// positions are unchanged, so the result lines up with `args` for
/// [`request`].
pub(crate) fn escape_negative_values(cmd: &Command, args: &[OsString]) -> Vec<OsString> {
    let mut out = args.to_vec();
    let mut expecting = Takes::Nothing;
    for token in &mut out {
        let Some(text) = token.to_str() else {
            expecting = expecting.after_value();
            continue;
        };
        if expecting == Takes::Anything {
            expecting = Takes::Nothing;
            continue;
        }
        if text == "--" {
            break;
        }
        if expecting != Takes::Nothing && is_negative_number(text) {
            *token = format!("{VALUE_MARK}{text}").into();
            expecting = expecting.after_value();
        } else if let Some(long) = text.strip_prefix("--") {
            expecting = match long.split_once('=') {
                // `--xs=-1 -2`: clap takes the attached value and no more.
                Some(_) => Takes::Nothing,
                None => Takes::of(cmd, long),
            };
        } else if text.starts_with('-') && text.len() > 1 {
            // A short option (`-h`) ends the values, as it does for clap.
            expecting = Takes::Nothing;
        } else {
            expecting = expecting.after_value();
        }
    }
    out
}

/// What the tokens after an option can be, as far as negative numbers go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    /// Not a value position (a flag, an unknown option, values done).
    Nothing,
    /// The next token, whatever it is (`allow_hyphen_values`).
    Anything,
    /// One value.
    One,
    /// Any number of values.
    Many,
}

impl Takes {
    fn of(cmd: &Command, long: &str) -> Takes {
        let Some(arg) = cmd.get_arguments().find(|a| a.get_long() == Some(long)) else {
            return Takes::Nothing;
        };
        if !arg.get_action().takes_values() {
            return Takes::Nothing;
        }
        if arg.is_allow_hyphen_values_set() {
            return Takes::Anything;
        }
        if !arg.is_allow_negative_numbers_set() {
            return Takes::Nothing;
        }
        match arg.get_num_args() {
            Some(range) if range.max_values() > 1 => Takes::Many,
            _ => Takes::One,
        }
    }

    fn after_value(self) -> Takes {
        match self {
            Takes::Many => Takes::Many,
            _ => Takes::Nothing,
        }
    }
}

/// `-1`, `-1e-3`, `-.5`, `-inf`: a minus sign and what Rust reads as a
/// number. There are no short options but `-h`, so none of these can be one.
fn is_negative_number(text: &str) -> bool {
    text.strip_prefix('-')
        .is_some_and(|rest| !rest.starts_with(['-', '+']) && rest.parse::<f64>().is_ok())
}

fn negated_id(param: &Param) -> String {
    format!("no-{}", param.name)
}

fn placeholder(param: &Param) -> String {
    if param.allowed.is_some() {
        let choices = param.allowed_list().replace(", ", "|");
        if choices.len() <= MAX_CHOICE_PLACEHOLDER {
            return choices;
        }
    }
    param.kind.placeholder().to_owned()
}

/// `help [env: VAR] Allowed: a, b. Default: x` or `... Required.`
fn help_text(param: &Param, set: &ParamSet) -> String {
    // Help is a sentence or more; what follows it starts a new one.
    let mut parts: Vec<String> = param.help.iter().map(|h| as_sentence(h)).collect();
    if param.allowed.is_some() && placeholder(param) == param.kind.placeholder() {
        parts.push(format!("Allowed: {}.", param.allowed_list()));
    }
    if let Some(var) = &param.env {
        parts.push(format!("[env: {var}]"));
    }
    let default = set.default_of(param);
    // An experiment's fixed override replaces what `default_help` described
    // (`defaults(random_seed = 7)` is 7, not "<randomly generated>").
    let default_text = if set.overrides_default(&param.name) {
        param.default_value_text(default.as_ref())
    } else {
        param.default_text(default.as_ref())
    };
    match default_text {
        Some(default) => parts.push(format!("Default: {default}")),
        None if param.required => parts.push("Required.".to_owned()),
        None => {}
    }
    parts.join(" ")
}

/// `text`, ending with a full stop unless it already ends a sentence.
fn as_sentence(text: &str) -> String {
    let text = text.trim_end();
    match text.chars().last() {
        None => String::new(),
        Some('.' | '!' | '?' | ':' | ')') => text.to_owned(),
        Some(_) => format!("{text}."),
    }
}

pub(crate) fn experiment_completions_arg() -> Arg {
    Arg::new(COMPLETIONS)
        .long(COMPLETIONS)
        .value_name("SHELL")
        .value_parser(clap::builder::EnumValueParser::<Shell>::new())
        .help("Print a shell completion script and exit")
}

/// The shell whose completion script was asked for, if any.
pub(crate) fn completions_requested(matches: &ArgMatches) -> Option<Shell> {
    matches.get_one::<Shell>(COMPLETIONS).copied()
}

/// Renders a completion script for `cmd` under the program name `bin`.
pub(crate) fn completion_script(shell: Shell, mut cmd: Command, bin: &str) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, bin, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits the command-line values around each `--params-file` into the
/// stages of a [`Request`], in the order given. `args` are the tokens
/// `matches` came from.
pub(crate) fn request(set: &ParamSet, matches: &ArgMatches, args: &[OsString]) -> Request {
    let positions = OptionPositions::scan(args);
    let file_option = names::PARAMS_FILE.replace('_', "-");
    let files: Vec<PathBuf> = if given_on_command_line(matches, names::PARAMS_FILE) {
        matches
            .get_many::<String>(names::PARAMS_FILE)
            .map(|files| files.map(PathBuf::from).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    // clap keeps every `--params-file` value in order; the scan finds
    // where each one was given.
    let file_positions = positions.all(&file_option);
    let mut options: Vec<Layer> = (0..=files.len())
        .map(|_| Layer::new(Source::CommandLine))
        .collect();
    for entry in set.entries() {
        let param = &entry.param;
        if param.name == names::PARAMS_FILE {
            continue;
        }
        let Some(given) = given(param, matches) else {
            continue;
        };
        let at = positions.last(&param.flag_name());
        let at = if param.flag {
            at.max(positions.last(&format!("no-{}", param.flag_name())))
        } else {
            at
        };
        // The options after the n-th file form stage n.
        let stage = at.map_or(0, |at| file_positions.iter().filter(|&&f| f < at).count());
        options[stage.min(files.len())]
            .values
            .insert(param.name.clone(), given);
    }
    let mut options = options.into_iter();
    let mut command_line = vec![Stage::Options(
        options
            .next()
            .unwrap_or_else(|| Layer::new(Source::CommandLine)),
    )];
    for (file, after) in files.into_iter().zip(options) {
        command_line.push(Stage::File(file));
        command_line.push(Stage::Options(after));
    }
    Request {
        command_line,
        overrides: Layer::new(Source::Programmatic),
    }
}

/// The value the command line gave `param`.
fn given(param: &Param, matches: &ArgMatches) -> Option<Given> {
    if param.flag {
        // `overrides_with` leaves only the last of --x / --no-x.
        if given_on_command_line(matches, &param.name) {
            return Some(Given::Flag(true));
        }
        return given_on_command_line(matches, &negated_id(param)).then_some(Given::Flag(false));
    }
    if !given_on_command_line(matches, &param.name) {
        return None;
    }
    let tokens = matches
        .get_many::<String>(&param.name)
        .map(|values| {
            values
                .map(|v| v.strip_prefix(VALUE_MARK).unwrap_or(v).to_owned())
                .collect()
        })
        .unwrap_or_default();
    Some(Given::Text(tokens))
}

fn given_on_command_line(matches: &ArgMatches, id: &str) -> bool {
    matches.value_source(id) == Some(ValueSource::CommandLine)
}

/// Where each long option appears among the tokens. clap has `index_of`,
/// but not for an option given with zero values (`--tags`), so the order of
/// options relative to `--params-file` is read off the tokens clap has
/// already validated.
struct OptionPositions(HashMap<String, Vec<usize>>);

impl OptionPositions {
    fn scan(args: &[OsString]) -> OptionPositions {
        let mut at: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, arg) in args.iter().enumerate() {
            let Some(arg) = arg.to_str() else { continue };
            if arg == "--" {
                break;
            }
            if let Some(option) = arg.strip_prefix("--") {
                let name = option.split_once('=').map_or(option, |(name, _)| name);
                at.entry(name.to_owned()).or_default().push(i);
            }
        }
        OptionPositions(at)
    }

    /// Where `long` was last given.
    fn last(&self, long: &str) -> Option<usize> {
        self.0.get(long).and_then(|at| at.last().copied())
    }

    /// Everywhere `long` was given, in order.
    fn all(&self, long: &str) -> &[usize] {
        self.0.get(long).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::param::ParamGroup;
    use crate::runtime::Run;
    use crate::value::{Params, Value};

    fn exp() -> Experiment {
        Experiment::new("e", |_: &Params, _: &Run| Ok::<_, anyhow::Error>(()))
            .param(Param::int("n").default(1).help("A number."))
            .param(Param::flag("f"))
            .param(Param::string("xs").multiple())
            .param(
                Param::string("opt")
                    .allowed_values(["sgd", "adam"])
                    .default("sgd"),
            )
            .param(Param::string("req").required().env("REQ"))
            .param_group(ParamGroup::new("Section").param(Param::float("lr").default(0.1)))
    }

    fn parse(args: &[&str]) -> Request {
        try_parse(args).unwrap()
    }

    fn try_parse(args: &[&str]) -> Result<Request, clap::Error> {
        let e = exp();
        let cmd = experiment(&e, []);
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let m = cmd
            .clone()
            .try_get_matches_from(escape_negative_values(&cmd, &args))?;
        Ok(request(e.param_set(), &m, &args))
    }

    #[test]
    fn negative_numbers_are_values_for_every_kind() {
        for value in ["-1", "-2.5", "-1e3", "-1e-3", "-.5", "-1E+4", "-0"] {
            let r = parse(&["--req", value, "--lr", value, "--n", value]);
            assert_eq!(text(options(&r, 0), "req").unwrap(), [value]);
            assert_eq!(text(options(&r, 0), "lr").unwrap(), [value]);
            assert_eq!(text(options(&r, 0), "n").unwrap(), [value]);
            let r = parse(&["--xs", value, "b", value, "--f", "--n", "1"]);
            assert_eq!(text(options(&r, 0), "xs").unwrap(), [value, "b", value]);
            assert!(matches!(options(&r, 0).values["f"], Given::Flag(true)));
            let r = parse(&["--xs", "a", value, "--params-file", "p", "--xs", value]);
            assert_eq!(text(options(&r, 1), "xs").unwrap(), [value]);
        }
        // An option after a text or list option is still an option, not
        // swallowed as its value.
        let err = try_parse(&["--req", "--f"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        assert!(
            err.to_string().contains("a value is required for '--req"),
            "{err}"
        );
        let r = parse(&["--xs", "-1", "--f"]);
        assert_eq!(text(options(&r, 0), "xs").unwrap(), ["-1"]);
        assert!(matches!(options(&r, 0).values["f"], Given::Flag(true)));
        // A single value takes one token; what is not a number is not a value.
        assert!(try_parse(&["--req", "-1", "-2"]).is_err());
        assert!(try_parse(&["--req", "-x"]).is_err());
        assert!(try_parse(&["--xs", "-x"]).is_err());
        // After `--` nothing is marked (and nothing is an option).
        let cmd = experiment(&exp(), []);
        let args: Vec<OsString> = ["--xs", "--", "-1e-3"].iter().map(OsString::from).collect();
        assert_eq!(escape_negative_values(&cmd, &args), args);
    }

    /// The n-th run of options: before the first file, after it, ...
    fn options(r: &Request, n: usize) -> &Layer {
        r.command_line
            .iter()
            .filter_map(|stage| match stage {
                Stage::Options(layer) => Some(layer),
                Stage::File(_) => None,
            })
            .nth(n)
            .unwrap_or_else(|| panic!("no options stage {n} in {r:?}"))
    }

    fn files(r: &Request) -> Vec<PathBuf> {
        r.params_files().cloned().collect()
    }

    fn text(layer: &Layer, name: &str) -> Option<Vec<String>> {
        match layer.values.get(name)? {
            Given::Text(t) => Some(t.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_split_around_the_params_file() {
        let r = parse(&[
            "--n",
            "1",
            "--params-file",
            "p.yaml",
            "--lr",
            "-5e-1",
            "--f",
        ]);
        assert_eq!(files(&r), [PathBuf::from("p.yaml")]);
        assert_eq!(text(options(&r, 0), "n").unwrap(), ["1"]);
        assert_eq!(text(options(&r, 1), "lr").unwrap(), ["-5e-1"]);
        assert!(matches!(options(&r, 1).values["f"], Given::Flag(true)));
        let r = parse(&["--n", "2"]);
        assert!(files(&r).is_empty());
        assert_eq!(text(options(&r, 0), "n").unwrap(), ["2"]);
        assert_eq!(r.command_line.len(), 1);
    }

    #[test]
    fn every_params_file_is_a_stage_in_order() {
        let r = parse(&[
            "--n",
            "1",
            "--params-file",
            "a.yaml",
            "--lr",
            "2",
            "--params-file=b.yaml",
            "--f",
        ]);
        assert_eq!(
            files(&r),
            [PathBuf::from("a.yaml"), PathBuf::from("b.yaml")]
        );
        assert_eq!(text(options(&r, 0), "n").unwrap(), ["1"]);
        assert_eq!(text(options(&r, 1), "lr").unwrap(), ["2"]);
        assert!(matches!(options(&r, 2).values["f"], Given::Flag(true)));
        let kinds: Vec<bool> = r
            .command_line
            .iter()
            .map(|s| matches!(s, Stage::File(_)))
            .collect();
        assert_eq!(kinds, [false, true, false, true, false]);
    }

    #[test]
    fn last_flag_and_last_option_win() {
        let r = parse(&["--f", "--no-f", "--n", "1", "--n", "-3"]);
        assert!(matches!(options(&r, 0).values["f"], Given::Flag(false)));
        assert_eq!(text(options(&r, 0), "n").unwrap(), ["-3"]);
        let r = parse(&["--no-f", "--f"]);
        assert!(matches!(options(&r, 0).values["f"], Given::Flag(true)));
    }

    #[test]
    fn multiple_takes_many_or_none() {
        let r = parse(&["--xs", "a", "b", "c", "--n", "1"]);
        assert_eq!(text(options(&r, 0), "xs").unwrap(), ["a", "b", "c"]);
        let r = parse(&["--xs"]);
        assert_eq!(text(options(&r, 0), "xs").unwrap(), Vec::<String>::new());
        let r = parse(&["--params-file", "p", "--xs"]);
        assert_eq!(text(options(&r, 1), "xs").unwrap(), Vec::<String>::new());
        let r = parse(&["--xs", "a", "--xs", "b"]);
        assert_eq!(text(options(&r, 0), "xs").unwrap(), ["b"]);
    }

    #[test]
    fn double_dash_ends_options() {
        let e = exp();
        let err = experiment(&e, [])
            .try_get_matches_from(["--", "--n"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }

    #[test]
    fn help_shows_sections_defaults_and_requirements() {
        let e = exp();
        let help = experiment(&e, [])
            .bin_name("prog")
            .render_help()
            .to_string();
        let n = help.find("--n <INT>").expect(&help);
        let section = help.find("Section:").expect(&help);
        let lr = help.find("--lr <FLOAT>").expect(&help);
        assert!(n < section && section < lr, "{help}");
        assert!(help.contains("A number. Default: 1"), "{help}");
        assert!(help.contains("--opt <sgd|adam>"), "{help}");
        assert!(help.contains("[env: REQ] Required."), "{help}");
        assert!(help.contains("--random-seed <INT>"), "{help}");
        assert!(help.contains("Default: <randomly generated>"), "{help}");
        // Help without a final full stop gets one before what follows.
        let e = exp().param(Param::float("wd").default(0.5).help("Weight decay"));
        let help = experiment(&e, []).render_help().to_string();
        assert!(help.contains("Weight decay. Default: 0.5"), "{help}");
        // A fixed override replaces `default_help`.
        let e = exp().default("random_seed", 7);
        let help = experiment(&e, []).render_help().to_string();
        assert!(help.contains("Default: 7"), "{help}");
        assert!(!help.contains("<randomly generated>"), "{help}");
        assert!(!help.contains("local-rank"), "{help}");
        assert!(!help.contains("--subprocess"), "{help}");
        // The experiment's own parameters come before the built-ins.
        assert!(n < help.find("--output-dir").unwrap(), "{help}");
        let _ = Value::Null;
    }
}
